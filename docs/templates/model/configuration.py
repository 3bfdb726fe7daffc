"""Configuration of the Example backbone (template: replace with the paper's sizes)."""

from __future__ import annotations

from pydantic import Field

from videoqa.models.base import VideoQAConfig


class ExampleConfig(VideoQAConfig):
    """Example sizes. Every field is saved in the checkpoint's ``config.json``.

    Attributes:
        hidden_size (int, default 128): width ``H`` of frame and word states.
        num_layers (int, default 1): transformer layers over the frames (0 = none).
        See :class:`~videoqa.models.base.VideoQAConfig` for the shared fields
        (``feature_dim``, ``vocab_size``, ``num_heads``, ``dropout``, ``max_frames``,
        ``max_text_len``, ``patch_dim``).

    Example::

        >>> from videoqa.models.example import ExampleConfig, ExampleModel
        >>> model = ExampleModel(ExampleConfig(feature_dim=512, vocab_size=1000))
        >>> model.config.hidden_size
        128
    """

    hidden_size: int = Field(128, gt=0)
    num_layers: int = Field(1, ge=0)
