"""The image-QA teacher interface (SpARC's frame-level teacher ``M_I``).

SpARC (§3.1) asks an image question-answering model, frame by frame, how likely each
candidate answer is given that frame alone; frames whose probability of the right answer
is high are the question's causal frames. A teacher here maps ``(K frames, question, C
candidates)`` to a ``(K, C)`` matrix whose rows are probability distributions over the
candidates.

Teachers read frames in one of two forms (:data:`FrameSource`): decoded pixels
(:class:`~videoqa.video.types.FrameBatch` or a ``(K, H, W, 3)`` uint8 array) for models
over images (:class:`~videoqa.models.imageqa.blip.BlipTeacher`), or stored frame
features (:class:`FrameFeatures`) for models over a feature store
(:class:`~videoqa.models.imageqa.feature.FeatureTeacher`). Each teacher says which form
it reads in :attr:`ImageQATeacher.input_kind`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np

from videoqa.errors import UsageError
from videoqa.video.types import FrameBatch

InputKind = Literal["pixels", "features"]


@dataclass(frozen=True)
class FrameFeatures:
    """Stored features of K frames (one row per frame).

    Attributes:
        vectors: ``(K, D)`` float32 frame embeddings.
        patches: ``(K, P, Dp)`` float32 patch/region tokens, or ``None``.

    Raises:
        UsageError: shapes that do not fit together.
    """

    vectors: np.ndarray
    patches: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2:
            raise UsageError(f"frame vectors must be (K, D), got {self.vectors.shape}")
        if self.patches is not None and (
            self.patches.ndim != 3 or len(self.patches) != len(self.vectors)
        ):
            raise UsageError(
                f"patches must be (K, P, Dp) with K={len(self.vectors)}, got {self.patches.shape}"
            )

    def __len__(self) -> int:
        return len(self.vectors)


FrameSource = FrameBatch | np.ndarray | FrameFeatures
"""What a teacher reads: decoded frames (``FrameBatch`` or ``(K, H, W, 3)`` uint8 RGB)
or stored features (:class:`FrameFeatures`)."""


def frame_pixels(frames: FrameSource) -> np.ndarray:
    """The ``(K, H, W, 3)`` uint8 RGB pixels of ``frames``.

    Raises:
        UsageError: ``frames`` holds features, or an array of another shape/dtype.
    """
    if isinstance(frames, FrameBatch):
        return frames.frames
    if isinstance(frames, np.ndarray) and frames.ndim == 4 and frames.shape[-1] == 3:
        if frames.dtype != np.uint8:
            raise UsageError(f"frame pixels must be uint8, got {frames.dtype}")
        return frames
    got = type(frames).__name__ if not isinstance(frames, np.ndarray) else str(frames.shape)
    raise UsageError(f"this teacher reads decoded frames (K, H, W, 3) uint8, got {got}")


def frame_features(frames: FrameSource) -> FrameFeatures:
    """``frames`` as :class:`FrameFeatures`.

    Raises:
        UsageError: ``frames`` holds pixels.
    """
    if isinstance(frames, FrameFeatures):
        return frames
    raise UsageError(
        f"this teacher reads stored frame features (FrameFeatures), got {type(frames).__name__}"
    )


def check_candidates(candidates: Sequence[str]) -> list[str]:
    """The candidates as a list; raises ``UsageError`` when empty or holding empty texts."""
    out = list(candidates)
    if not out or not all(isinstance(c, str) and c.strip() for c in out):
        raise UsageError(f"candidates must be non-empty texts, got {out!r}")
    return out


class ImageQATeacher(ABC):
    """An image-QA model giving per-frame probabilities over candidate answers.

    Implements the teacher ``M_I`` of SpARC (Spatial and temporal Answer-Relevant
    Context distillation, §3.1): each frame is answered on its own, and the probability
    of each candidate is read from the image-QA model.

    Attributes:
        name: a short description of the teacher (kept in the teacher store's meta).
        input_kind: ``"pixels"`` (reads decoded frames) or ``"features"`` (reads
            :class:`FrameFeatures`).
    """

    name: str
    input_kind: ClassVar[InputKind]

    @abstractmethod
    def answer_probs(
        self, frames: FrameSource, question: str, candidates: Sequence[str]
    ) -> np.ndarray:
        """Probabilities of the candidates given each frame alone.

        Args:
            frames: K frames in the form :attr:`input_kind` names.
            question: the question text.
            candidates: C candidate answers (texts).

        Returns:
            ``(K, C)`` float32, each row ≥ 0 and summing to 1.

        Raises:
            UsageError: frames of the wrong form, no candidates, or empty texts.
        """

    def answer_probs_many(
        self,
        frames: Sequence[FrameSource],
        questions: Sequence[str],
        candidates: Sequence[Sequence[str]],
    ) -> list[np.ndarray]:
        """:meth:`answer_probs` for Q questions, each over its own frames.

        Teachers that can batch across questions override this; the default loops.

        Returns:
            Q arrays, the q-th ``(K_q, C_q)`` float32 with rows summing to 1.

        Raises:
            UsageError: the three sequences differ in length (or as :meth:`answer_probs`).
        """
        if not len(frames) == len(questions) == len(candidates):
            raise UsageError(
                f"frames, questions and candidates differ in length: "
                f"{len(frames)}, {len(questions)}, {len(candidates)}"
            )
        return [
            self.answer_probs(f, q, c)
            for f, q, c in zip(frames, questions, candidates, strict=True)
        ]
