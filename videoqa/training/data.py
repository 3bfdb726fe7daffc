"""Training data: a map-style torch Dataset over one split, held in memory.

Per question (SpARC §3 needs the last field): the video's frame features ``(T, D)``
(from a :class:`~videoqa.features.store.FeatureStore`), question word ids, the word
ids of its ``C`` candidates, the answer index, the question type and, when a
:class:`~videoqa.features.teacher_store.TeacherStore` is given, the teacher's per-frame
candidate probabilities ``(T, C)``, aligned with the store's ``T`` sampled frames. All
frame features are loaded once (``frames_array``), questions and candidates are
tokenized once, so a batch is a few tensor gathers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Protocol

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from videoqa.data.schema import QASample
from videoqa.errors import DataFormatError
from videoqa.models.base import QABatch
from videoqa.models.processing import build_tokenizer as build_tokenizer  # re-exported
from videoqa.models.processing import encode_candidates, encode_questions
from videoqa.models.text import WordTokenizer


class FrameSource(Protocol):
    """What the dataset needs of a feature store (``FeatureStore`` satisfies it)."""

    def __contains__(self, video_id: object) -> bool: ...

    def frames_array(self, ids: Sequence[str]) -> np.ndarray:
        """``(N, T, D)`` float32 frame features of ``ids``."""
        ...

    def patches_array(self, ids: Sequence[str]) -> np.ndarray:
        """``(N, T, P, Dp)`` float32 patch tokens of ``ids`` (asked for with ``patches``)."""
        ...


class TeacherProbsLike(Protocol):
    """A teacher record: ``probs`` ``(T, C)``, rows summing to 1."""

    probs: np.ndarray


class TeacherSource(Protocol):
    """What the dataset needs of a teacher store (``TeacherStore`` satisfies it)."""

    def __contains__(self, qid: object) -> bool: ...

    def get(self, qid: str) -> TeacherProbsLike: ...


@dataclass
class TrainBatch:
    """One batch of training/evaluation questions.

    Attributes:
        qa: the model input (:class:`~videoqa.models.base.QABatch`), whole videos.
        answers: ``(B,)`` long, index of the correct candidate.
        index: ``(B,)`` long, row of each question in its :class:`QADataset`.
        teacher_probs: ``(B, T, C)`` float teacher probabilities, or None.
    """

    qa: QABatch
    answers: Tensor
    index: Tensor
    teacher_probs: Tensor | None = None

    def to(self, device: torch.device | str, **_: object) -> TrainBatch:
        """The same batch on ``device`` (extra keyword arguments such as
        ``non_blocking`` are accepted and ignored, for ``accelerate``)."""
        return TrainBatch(
            qa=self.qa.to(device),
            answers=self.answers.to(device),
            index=self.index.to(device),
            teacher_probs=None if self.teacher_probs is None else self.teacher_probs.to(device),
        )

    @property
    def batch_size(self) -> int:
        """B."""
        return int(self.answers.shape[0])


@dataclass(frozen=True)
class QAExample:
    """One question (what ``dataset[i]`` returns); shapes as in :class:`TrainBatch`
    without the batch dimension."""

    index: int
    video: Tensor
    question: Tensor
    question_mask: Tensor
    candidates: Tensor
    candidates_mask: Tensor
    answer: int
    teacher_probs: Tensor | None


def _check_samples(samples: Sequence[QASample]) -> int:
    if not samples:
        raise DataFormatError("no questions to train or evaluate on")
    open_ended = [s.qid for s in samples if s.choices is None]
    if open_ended:
        raise DataFormatError(f"{len(open_ended)} open-ended questions (first: {open_ended[0]})")
    counts = {len(s.choices or ()) for s in samples}
    if len(counts) != 1:
        raise DataFormatError(f"questions have different numbers of candidates: {sorted(counts)}")
    return counts.pop()


class QADataset(Dataset):
    """In-memory multiple-choice QA split for training and evaluation.

    Args:
        samples: the split's multiple-choice questions (same number ``C`` of candidates).
        features: frame features of every video of ``samples`` (same ``T`` for all).
        tokenizer: word tokenizer (built from the train split).
        teacher: teacher probabilities ``(T, C)`` for every question, or None.
        max_question_len, max_answer_len: most words per question / candidate.
        patches: also load the store's patch/region tokens (``QABatch.patches``).
        trim_patches: cut each batch's patches after the last token slot that is not
            all zeros in some frame of the batch (empty object slots of oracle
            features). Exact for models that mask all-zero tokens (VGT's
            ``mask_empty_nodes``, HGA's ``slot_pooling``), and cheaper.

    Attributes:
        qids, qtypes: per row. videos: ``(V, T, D)``; patches: ``(V, T, P, Dp)`` or
        None; video_row: ``(N,)`` long.

    Raises:
        DataFormatError: open-ended questions, mixed candidate counts, a video missing
            from the store, a question missing from the teacher store, or teacher
            probabilities whose shape is not ``(T, C)``.
    """

    def __init__(
        self,
        samples: Sequence[QASample],
        features: FrameSource,
        tokenizer: WordTokenizer,
        *,
        teacher: TeacherSource | None = None,
        max_question_len: int = 24,
        max_answer_len: int = 8,
        patches: bool = False,
        trim_patches: bool = False,
    ) -> None:
        num_choices = _check_samples(samples)
        video_ids = list(dict.fromkeys(s.video_id for s in samples))
        missing = [v for v in video_ids if v not in features]
        if missing:
            raise DataFormatError(
                f"{len(missing)} videos have no features in the store (first: {missing[0]})"
            )
        self.qids = [s.qid for s in samples]
        self.qtypes = [s.qtype for s in samples]
        self.videos = torch.from_numpy(np.ascontiguousarray(features.frames_array(video_ids)))
        self.patches: Tensor | None = None
        if patches:
            self.patches = torch.from_numpy(np.ascontiguousarray(features.patches_array(video_ids)))
        # (V,) number of leading token slots each video uses (1 + last non-empty slot)
        self.slots_used: Tensor | None = None
        if self.patches is not None and trim_patches:
            used = (self.patches != 0).any(dim=-1).any(dim=1)  # (V, P)
            last = torch.arange(1, used.shape[1] + 1) * used
            self.slots_used = last.max(dim=1).values.clamp_min(1)
        row_of = {v: i for i, v in enumerate(video_ids)}
        self.video_row = torch.tensor([row_of[s.video_id] for s in samples], dtype=torch.long)
        self.question, self.question_mask = encode_questions(
            tokenizer, [s.question for s in samples], max_question_len
        )
        self.candidates, self.candidates_mask = encode_candidates(
            tokenizer, [s.choices or () for s in samples], max_answer_len
        )
        self.answers = torch.tensor([int(s.answer) for s in samples], dtype=torch.long)
        self.teacher_probs = (
            None if teacher is None else self._teacher(samples, teacher, num_choices)
        )

    def _teacher(self, samples: Sequence[QASample], teacher: TeacherSource, c: int) -> Tensor:
        missing = [s.qid for s in samples if s.qid not in teacher]
        if missing:
            raise DataFormatError(
                f"{len(missing)} questions have no teacher probabilities (first: {missing[0]})"
            )
        t = self.num_frames
        out = np.empty((len(samples), t, c), np.float32)
        for row, sample in enumerate(samples):
            probs = np.asarray(teacher.get(sample.qid).probs, np.float32)
            if probs.shape != (t, c):
                raise DataFormatError(
                    f"{sample.qid}: teacher probs {probs.shape}, expected (T, C) = {(t, c)}"
                )
            out[row] = probs
        return torch.from_numpy(out)

    @property
    def num_frames(self) -> int:
        """T of every video."""
        return int(self.videos.shape[1])

    @property
    def feature_dim(self) -> int:
        """D of the frame features."""
        return int(self.videos.shape[2])

    def __len__(self) -> int:
        return len(self.qids)

    def __getitem__(self, i: int) -> QAExample:
        return QAExample(
            index=int(i),
            video=self.videos[self.video_row[i]],
            question=self.question[i],
            question_mask=self.question_mask[i],
            candidates=self.candidates[i],
            candidates_mask=self.candidates_mask[i],
            answer=int(self.answers[i]),
            teacher_probs=None if self.teacher_probs is None else self.teacher_probs[i],
        )

    def __getitems__(self, indices: Sequence[int]) -> TrainBatch:
        """The batch of rows ``indices`` in one gather (torch's DataLoader calls this)."""
        return self.batch(torch.as_tensor(list(indices), dtype=torch.long))

    def batch(self, index: Tensor) -> TrainBatch:
        """Rows ``index`` ``(B,)`` as a :class:`TrainBatch`, text trimmed to the longest
        row of the batch."""
        q_mask = self.question_mask[index]
        c_mask = self.candidates_mask[index]
        lq = max(int(q_mask.sum(dim=1).max()), 1)
        la = max(int(c_mask.sum(dim=2).max()), 1)
        qa = QABatch(
            video=self.videos[self.video_row[index]],
            video_mask=torch.ones(len(index), self.num_frames, dtype=torch.bool),
            question=self.question[index, :lq],
            question_mask=q_mask[:, :lq],
            candidates=self.candidates[index, :, :la],
            candidates_mask=c_mask[:, :, :la],
            patches=self._patches(self.video_row[index]),
        )
        teacher = None if self.teacher_probs is None else self.teacher_probs[index]
        return TrainBatch(qa=qa, answers=self.answers[index], index=index, teacher_probs=teacher)

    def _patches(self, rows: Tensor) -> Tensor | None:
        """``(B, T, P', Dp)`` patches of video ``rows``; ``P'`` = most slots a video of
        the batch uses when trimming, else every slot."""
        if self.patches is None:
            return None
        if self.slots_used is None:
            return self.patches[rows]
        return self.patches[rows, :, : int(self.slots_used[rows].max())]


def collate(items: TrainBatch | Sequence[QAExample]) -> TrainBatch:
    """DataLoader ``collate_fn``: passes a :class:`TrainBatch` (from ``__getitems__``)
    through; stacks a list of :class:`QAExample` otherwise."""
    if isinstance(items, TrainBatch):
        return items
    stacked = {
        f.name: torch.stack([getattr(x, f.name) for x in items])
        for f in fields(QAExample)
        if f.name not in ("index", "answer", "teacher_probs")
    }
    qa = QABatch(
        video=stacked["video"],
        video_mask=torch.ones(stacked["video"].shape[:2], dtype=torch.bool),
        question=stacked["question"],
        question_mask=stacked["question_mask"],
        candidates=stacked["candidates"],
        candidates_mask=stacked["candidates_mask"],
    )
    teacher = None
    if items and items[0].teacher_probs is not None:
        teacher = torch.stack([x.teacher_probs for x in items])  # type: ignore[misc]
    return TrainBatch(
        qa=qa,
        answers=torch.tensor([x.answer for x in items], dtype=torch.long),
        index=torch.tensor([x.index for x in items], dtype=torch.long),
        teacher_probs=teacher,
    )


class EpochShuffleSampler(Sampler[int]):
    """A shuffled order that depends only on ``(seed, epoch)``, so a resumed run sees
    exactly the batches an uninterrupted run would. Call :meth:`set_epoch` each epoch."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the order of ``epoch``."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.size, generator=gen).tolist())

    def __len__(self) -> int:
        return self.size
