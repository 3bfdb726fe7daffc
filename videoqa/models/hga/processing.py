"""Processing of HGA inputs: word ids of the question and of each candidate, frame
features ``(T, D)``; patch tokens ``(T, P, Dp)`` only for a checkpoint trained with
``slot_pooling`` (HGA's graph itself has no region nodes)."""

from __future__ import annotations

from typing import ClassVar

from videoqa.models.base import VideoQAConfig
from videoqa.models.processing import QAProcessor


class HGAProcessor(QAProcessor):
    """:class:`~videoqa.models.processing.QAProcessor` for ``hga`` checkpoints."""

    model_type: ClassVar[str] = "hga"

    @classmethod
    def uses_patches(cls, config: VideoQAConfig, requested: bool) -> bool:
        """With ``slot_pooling`` and a ``patch_dim`` (the video units pool the frame's
        tokens); otherwise never: HGA's graph has video-unit and word nodes only (Jiang &
        Han 2020, §3.2)."""
        return bool(getattr(config, "slot_pooling", False)) and config.patch_dim is not None
