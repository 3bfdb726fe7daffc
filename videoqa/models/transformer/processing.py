"""Processing of the transformer baseline's inputs: one joint sequence of frame
features ``(T, D)``, question words and each candidate's words; patch tokens are not
used."""

from __future__ import annotations

from typing import ClassVar

from videoqa.models.base import VideoQAConfig
from videoqa.models.processing import QAProcessor


class TransformerQAProcessor(QAProcessor):
    """:class:`~videoqa.models.processing.QAProcessor` for ``transformer`` checkpoints."""

    model_type: ClassVar[str] = "transformer"

    @classmethod
    def uses_patches(cls, config: VideoQAConfig, requested: bool) -> bool:
        """Never: the baseline reads one token per frame."""
        return False
