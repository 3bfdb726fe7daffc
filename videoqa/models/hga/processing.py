"""Processing of HGA inputs: word ids of the question and of each candidate, frame
features ``(T, D)``; HGA has no region nodes, so patch tokens are never fed."""

from __future__ import annotations

from typing import ClassVar

from videoqa.models.base import VideoQAConfig
from videoqa.models.processing import QAProcessor


class HGAProcessor(QAProcessor):
    """:class:`~videoqa.models.processing.QAProcessor` for ``hga`` checkpoints."""

    model_type: ClassVar[str] = "hga"

    @classmethod
    def uses_patches(cls, config: VideoQAConfig, requested: bool) -> bool:
        """Never: HGA's graph has video-unit and word nodes only (Jiang & Han 2020, §3.2)."""
        return False
