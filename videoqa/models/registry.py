"""The model registry: name → :class:`~videoqa.models.base.VideoQAModel` subclass.

Names: ``"hga"`` (Jiang & Han, AAAI 2020), ``"vgt"`` (Xiao et al., ECCV 2022) and
``"transformer"`` (a single-stream transformer baseline). A checkpoint directory's
``config.json`` names its ``model_type``, so :func:`load_model` needs no name.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from videoqa.errors import ModelUnavailableError, UsageError
from videoqa.models.base import VideoQAConfig, VideoQAModel, read_checkpoint_config
from videoqa.registry import Registry

MODELS: Registry[type[VideoQAModel]] = Registry("model")


def register_model(cls: type[VideoQAModel]) -> type[VideoQAModel]:
    """Class decorator: register ``cls`` under ``cls.model_type``.

    Raises:
        DuplicateNameError: the name is taken.
    """
    MODELS.register(cls.model_type, cls)
    return cls


def list_models() -> list[str]:
    """Sorted names of the registered models."""
    return MODELS.names()


def build_model(name: str, config: VideoQAConfig | Mapping[str, Any]) -> VideoQAModel:
    """A new randomly initialised model ``name``.

    Args:
        name: registry name (see :func:`list_models`).
        config: the model's config, or a mapping of its fields (validated).

    Raises:
        UnknownNameError: no model of that name.
        UsageError: invalid config fields, or a config of another model class.
    """
    cls = MODELS.get(name)
    if isinstance(config, Mapping):
        try:
            config = cls.config_class(**config)
        except ValidationError as err:
            raise UsageError(f"invalid {name} config: {err}") from None
    elif not isinstance(config, cls.config_class):
        raise UsageError(f"{name} needs a {cls.config_class.__name__}, got {type(config).__name__}")
    return cls(config)


def load_model(directory: Path) -> VideoQAModel:
    """Load the checkpoint in ``directory`` with the class its ``model_type`` names.

    Raises:
        ModelUnavailableError: not a checkpoint, or its ``model_type`` is not registered.
    """
    raw = read_checkpoint_config(Path(directory))
    model_type = raw.get("model_type")
    if not isinstance(model_type, str) or model_type not in MODELS:
        raise ModelUnavailableError(
            f"{directory}: unknown model_type {model_type!r}; registered: {', '.join(list_models())}",
            model=str(directory),
        )
    return MODELS.get(model_type).from_pretrained(Path(directory))
