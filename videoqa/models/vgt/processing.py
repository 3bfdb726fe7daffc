"""Processing of VGT inputs: frame features ``(T, D)`` and, when the checkpoint was
trained with them, patch/region tokens ``(T, P, Dp)`` as the nodes of its per-frame
graphs (Xiao et al. 2022, §3.2); the question and the candidates as word ids (the model
pairs them as ``question [SEP] answer`` itself when ``pair_question_answer``)."""

from __future__ import annotations

from typing import ClassVar

from videoqa.models.base import VideoQAConfig
from videoqa.models.processing import QAProcessor


class VGTProcessor(QAProcessor):
    """:class:`~videoqa.models.processing.QAProcessor` for ``vgt`` checkpoints."""

    model_type: ClassVar[str] = "vgt"

    @classmethod
    def uses_patches(cls, config: VideoQAConfig, requested: bool) -> bool:
        """When the checkpoint has a ``patch_dim`` (its graph nodes are patches); the
        training run's ``use_patches`` is implied by it."""
        return config.patch_dim is not None
