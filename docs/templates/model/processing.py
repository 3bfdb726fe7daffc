"""Processing of Example inputs: frame features ``(T, D)``, the question and the
candidates as word ids (:class:`~videoqa.models.processing.QAProcessor`); this model
reads no patch tokens. Found by ``videoqa.models.processing.processor_class("example")``."""

from __future__ import annotations

from typing import ClassVar

from videoqa.models.base import VideoQAConfig
from videoqa.models.processing import QAProcessor


class ExampleProcessor(QAProcessor):
    """:class:`~videoqa.models.processing.QAProcessor` for ``example`` checkpoints."""

    model_type: ClassVar[str] = "example"

    @classmethod
    def uses_patches(cls, config: VideoQAConfig, requested: bool) -> bool:
        """Never: the model reads one vector per frame."""
        return False
