"""Frame-level questions as training data for the feature teacher (SpARC §3.1 ``M_I``).

The teacher answers a question from one frame's stored features. Training examples
are plain arrays here — which frame a question is about, and where its features come
from, is the recipe's business (:mod:`videoqa.recipes.teacher` reads a synthetic
benchmark's ``frame_qa`` questions and a feature store); this module turns them into a
map-style dataset of tokenised rows, batches them and measures frame-QA accuracy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from videoqa.errors import UsageError
from videoqa.models.imageqa.feature import FeatureTeacher

__all__ = [
    "FrameQABatch",
    "FrameQADataset",
    "FrameQAExamples",
    "frame_qa_accuracy",
    "nearest_frame",
]


def nearest_frame(frame_indices: np.ndarray, frame: int) -> int:
    """Row of a video's stored frames whose source index (``frame_indices``, ``(T,)``)
    is nearest to source frame ``frame`` (ties: the earlier row)."""
    return int(np.argmin(np.abs(np.asarray(frame_indices, np.int64) - int(frame))))


@dataclass
class FrameQAExamples:
    """N frame-level multiple-choice questions with the stored features of their frame.

    Attributes:
        vectors: ``(N, D)`` float32 frame vectors.
        patches: ``(N, P, Dp)`` float32 patch tokens, or ``None``.
        questions: N question texts; candidates: N candidate lists.
        answers: ``(N,)`` int64 right-candidate indices.
        qtypes: N question types (per-type accuracy).
    """

    vectors: np.ndarray
    patches: np.ndarray | None
    questions: list[str]
    candidates: list[list[str]]
    answers: np.ndarray
    qtypes: list[str]

    def __len__(self) -> int:
        return len(self.questions)

    @classmethod
    def empty(cls, dim: int) -> FrameQAExamples:
        """No examples, with ``D = dim``."""
        return cls(np.zeros((0, dim), np.float32), None, [], [], np.zeros(0, np.int64), [])

    @classmethod
    def concat(cls, parts: Sequence[FrameQAExamples]) -> FrameQAExamples:
        """The examples of ``parts`` in order (patches kept only when every part has
        them)."""
        patches = [p.patches for p in parts]
        return cls(
            vectors=np.concatenate([p.vectors for p in parts]),
            patches=None if any(p is None for p in patches) else np.concatenate(patches),
            questions=[q for p in parts for q in p.questions],
            candidates=[c for p in parts for c in p.candidates],
            answers=np.concatenate([p.answers for p in parts]),
            qtypes=[t for p in parts for t in p.qtypes],
        )

    def texts(self) -> list[str]:
        """Every question and candidate text (what the word tokenizer is built on)."""
        return self.questions + [c for cands in self.candidates for c in cands]


@dataclass
class FrameQABatch:
    """B rows of :class:`FrameQADataset`, the inputs of
    :class:`~videoqa.models.imageqa.feature.FeatureTeacherModel` plus the answers.

    Attributes:
        vectors: ``(B, D)``; patches: ``(B, P, Dp)`` or None.
        question, question_mask: ``(B, L)`` word ids / bool mask.
        candidates, candidates_mask: ``(B, C, La)`` word ids / bool mask.
        answers: ``(B,)`` long right-candidate indices.
    """

    vectors: Tensor
    patches: Tensor | None
    question: Tensor
    question_mask: Tensor
    candidates: Tensor
    candidates_mask: Tensor
    answers: Tensor

    @property
    def batch_size(self) -> int:
        """B."""
        return int(self.answers.shape[0])

    def inputs(self) -> tuple[Tensor | None, ...]:
        """The positional arguments of ``FeatureTeacherModel.forward``."""
        return (
            self.vectors,
            self.patches,
            self.question,
            self.question_mask,
            self.candidates,
            self.candidates_mask,
        )

    def to(self, device: torch.device | str, **_: object) -> FrameQABatch:
        """The same batch on ``device`` (extra keyword arguments such as
        ``non_blocking`` are accepted and ignored, for ``accelerate``)."""
        return FrameQABatch(
            *(None if t is None else t.to(device) for t in self.inputs()),
            answers=self.answers.to(device),
        )


class FrameQADataset(Dataset):
    """Tokenised frame-QA rows held in memory; item ``i`` is the index ``i`` and
    :meth:`collate` gathers a batch with a few tensor indexings.

    Args:
        examples: the rows.
        teacher: supplies the word tokenizer and ``max_text_len``
            (:meth:`FeatureTeacher.encode_text`).

    Raises:
        UsageError: no examples.
    """

    def __init__(self, examples: FrameQAExamples, teacher: FeatureTeacher) -> None:
        if not len(examples):
            raise UsageError("a frame-QA dataset needs at least one question")
        self.vectors = torch.from_numpy(np.ascontiguousarray(examples.vectors, np.float32))
        self.patches = (
            None
            if examples.patches is None
            else torch.from_numpy(np.ascontiguousarray(examples.patches, np.float32))
        )
        self.text = teacher.encode_text(examples.questions, examples.candidates)
        self.answers = torch.from_numpy(np.asarray(examples.answers, np.int64))
        self.qtypes = list(examples.qtypes)

    def __len__(self) -> int:
        return len(self.qtypes)

    def __getitem__(self, index: int) -> int:
        return int(index)

    def batch(self, index: Tensor) -> FrameQABatch:
        """The rows ``index`` (``(B,)`` long) as one batch."""
        patches = None if self.patches is None else self.patches[index]
        q, qm, c, cm = (t[index] for t in self.text)
        return FrameQABatch(self.vectors[index], patches, q, qm, c, cm, self.answers[index])

    def collate(self, indices: list[int]) -> FrameQABatch:
        """``collate_fn`` of a DataLoader over this dataset."""
        return self.batch(torch.as_tensor(indices, dtype=torch.long))


@torch.inference_mode()
def frame_qa_accuracy(
    model: nn.Module, data: FrameQADataset, batch_size: int = 512
) -> dict[str, float]:
    """Accuracy of a :class:`~videoqa.models.imageqa.feature.FeatureTeacherModel` on
    ``data``: ``{"all": acc, <qtype>: acc, ...}`` as fractions in ``[0, 1]`` (qtypes
    sorted). Runs in eval mode on the model's device and restores its mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    hits = []
    for start in range(0, len(data), batch_size):
        index = torch.arange(start, min(start + batch_size, len(data)))
        batch = data.batch(index).to(device)
        hits.append((model(*batch.inputs()).argmax(-1) == batch.answers).cpu())
    model.train(was_training)
    right = torch.cat(hits).numpy()
    by_type: dict[str, list[bool]] = defaultdict(list)
    for qtype, hit in zip(data.qtypes, right, strict=True):
        by_type[qtype].append(bool(hit))
    out = {"all": float(right.mean())}
    out.update({k: float(np.mean(v)) for k, v in sorted(by_type.items())})
    return out
