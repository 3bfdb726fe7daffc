"""Text and frame-feature processing of the multiple-choice backbones (HGA, VGT, the
transformer baseline): how a question, its candidate answers and a video's frame
features become one :class:`~videoqa.models.base.QABatch`.

Training (:class:`videoqa.training.data.QADataset`) and answering
(:class:`videoqa.pipelines.backbone.BackboneAnswerer`) both encode text with the
functions here, so a question is tokenized the same way in both. A
:class:`QAProcessor` bundles the run's :class:`~videoqa.models.text.WordTokenizer`
with its length limits; each architecture folder may define its own subclass in
``videoqa/models/<name>/processing.py`` (what :func:`processor_class` finds, the way
``transformers``' ``AutoProcessor`` finds a model's processor).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from videoqa.data.schema import QASample
from videoqa.errors import UsageError
from videoqa.models.base import QABatch, VideoQAConfig
from videoqa.models.text import WordTokenizer

__all__ = [
    "QAProcessor",
    "build_tokenizer",
    "encode_candidates",
    "encode_questions",
    "processor_class",
]


def build_tokenizer(samples: Sequence[QASample], min_count: int = 1) -> WordTokenizer:
    """A :class:`WordTokenizer` over the questions and candidates of ``samples`` (the
    train split)."""
    texts: list[str] = []
    for sample in samples:
        texts.append(sample.question)
        texts.extend(sample.choices or ())
    return WordTokenizer.build(texts, min_count=min_count)


def encode_questions(
    tokenizer: WordTokenizer, questions: Sequence[str], max_len: int
) -> tuple[Tensor, Tensor]:
    """``N`` questions → ``(N, L)`` long word ids and ``(N, L)`` bool mask
    (``L <= max_len`` words, see :meth:`WordTokenizer.encode`)."""
    return tokenizer.encode(list(questions), max_len)


def encode_candidates(
    tokenizer: WordTokenizer, candidates: Sequence[Sequence[str]], max_len: int
) -> tuple[Tensor, Tensor]:
    """``N`` questions with ``C`` candidates each → ``(N, C, La)`` long word ids and
    ``(N, C, La)`` bool mask, ``La <= max_len`` words (the longest candidate).

    Raises:
        UsageError: the questions have different numbers of candidates, or none.
    """
    counts = {len(c) for c in candidates}
    if len(counts) != 1 or 0 in counts:
        raise UsageError(f"every question needs the same number (>= 1) of candidates: {counts}")
    n, c = len(candidates), counts.pop()
    ids, mask = tokenizer.encode([text for cands in candidates for text in cands], max_len)
    return ids.view(n, c, -1), mask.view(n, c, -1)


class QAProcessor:
    """Tokenizer + length limits of a trained backbone: inputs → :class:`QABatch`.

    Args:
        tokenizer: the run's word tokenizer (``tokenizer.json`` of a checkpoint).
        max_question_len, max_answer_len: most words kept per question / candidate
            (the training config's ``data.max_question_len`` / ``data.max_answer_len``).
        use_patches: feed patch/region tokens (``QABatch.patches``) to the model.

    Attributes:
        model_type: the architecture a subclass serves ("" = any).
    """

    model_type: ClassVar[str] = ""

    def __init__(
        self,
        tokenizer: WordTokenizer,
        *,
        max_question_len: int = 24,
        max_answer_len: int = 8,
        use_patches: bool = False,
    ) -> None:
        if max_question_len < 1 or max_answer_len < 1:
            raise UsageError("max_question_len and max_answer_len must be >= 1")
        self.tokenizer = tokenizer
        self.max_question_len = max_question_len
        self.max_answer_len = max_answer_len
        self.use_patches = use_patches

    @classmethod
    def uses_patches(cls, config: VideoQAConfig, requested: bool) -> bool:
        """Whether a model with ``config`` reads ``QABatch.patches`` when the training
        run fed them (``requested``). Default: when the config has a ``patch_dim``."""
        return requested and config.patch_dim is not None

    def __call__(
        self,
        frames: np.ndarray | Tensor,
        questions: Sequence[str],
        candidates: Sequence[Sequence[str]],
        *,
        patches: np.ndarray | Tensor | None = None,
    ) -> QABatch:
        """Build the batch for ``B`` questions about one video.

        Args:
            frames: ``(T, D)`` float frame features of the video (every frame visible).
            questions: ``B`` question texts.
            candidates: ``B`` lists of ``C`` candidate answers.
            patches: ``(T, P, Dp)`` patch tokens; used only when ``use_patches``.

        Returns:
            :class:`QABatch` with ``video`` ``(B, T, D)``, ``video_mask`` all True,
            ``question`` ``(B, L)``, ``candidates`` ``(B, C, La)``, ``patches``
            ``(B, T, P, Dp)`` or None.

        Raises:
            UsageError: ``questions`` and ``candidates`` differ in length, or
                ``use_patches`` without patches.
        """
        if len(questions) != len(candidates):
            raise UsageError(f"{len(questions)} questions but {len(candidates)} candidate lists")
        video = torch.as_tensor(np.asarray(frames, dtype=np.float32))
        b, t = len(questions), video.shape[0]
        q_ids, q_mask = encode_questions(self.tokenizer, questions, self.max_question_len)
        c_ids, c_mask = encode_candidates(self.tokenizer, candidates, self.max_answer_len)
        patch_batch = None
        if self.use_patches:
            if patches is None:
                raise UsageError("this model reads patch tokens but none were given")
            p = torch.as_tensor(np.asarray(patches, dtype=np.float32))
            patch_batch = p[None].expand(b, *p.shape)
        return QABatch(
            video=video[None].expand(b, *video.shape),
            video_mask=torch.ones(b, t, dtype=torch.bool),
            question=q_ids,
            question_mask=q_mask,
            candidates=c_ids,
            candidates_mask=c_mask,
            patches=patch_batch,
        )


def processor_class(model_type: str) -> type[QAProcessor]:
    """The processor of an architecture: ``videoqa.models.<model_type>.processing``'s
    :class:`QAProcessor` subclass whose ``model_type`` matches, else
    :class:`QAProcessor` itself (a registered model without a processing module)."""
    name = f"videoqa.models.{model_type}.processing"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is not None and name.startswith(err.name):
            return QAProcessor  # no such folder or no processing module in it
        raise
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, QAProcessor)
            and value.model_type == model_type
        ):
            return value
    return QAProcessor
