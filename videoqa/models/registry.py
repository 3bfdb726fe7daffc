"""The model registry: name → :class:`~videoqa.models.base.VideoQAModel` subclass.

Names: ``"hga"`` (Jiang & Han, AAAI 2020), ``"vgt"`` (Xiao et al., ECCV 2022) and
``"transformer"`` (a single-stream transformer baseline). A checkpoint directory's
``config.json`` names its ``model_type``, so :func:`load_model` needs no name.

:data:`MODELS` lists the backbones :func:`build_model` can build from a config; every
persisted class (these and the other models) is also in
:data:`videoqa.persistence.PERSISTED`, which loading goes through.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from videoqa.errors import UsageError
from videoqa.models.base import VideoQAConfig, VideoQAModel
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


def load_model(name_or_path: str | Path) -> VideoQAModel:
    """Load the backbone checkpoint ``name_or_path`` (a folder or a hub id) with the class
    its ``model_type`` names, in eval mode (``VideoQAModel.from_pretrained``).

    Raises:
        CheckpointError: not a checkpoint, an unknown ``model_type`` or one that is no
            backbone, an invalid config, weights that do not match it.
    """
    return VideoQAModel.from_pretrained(name_or_path)
