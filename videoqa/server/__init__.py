"""``videoqa serve``: the HTTP API and the web page (:func:`create_app`)."""

from videoqa.server.app import create_app, load_models
from videoqa.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app", "load_models"]
