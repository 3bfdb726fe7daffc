"""Train the feature teacher on the synthetic benchmark's frame-level questions.

SpARC (§3.1) needs an image-QA teacher that answers a question from one frame. On the
synthetic benchmark (:mod:`videoqa.synth`) the generator writes frame-level questions
(``frame_qa/{train,val}.jsonl``, types FA attribute / FC count / FE exist / FR relation)
whose ``extras["frame"]`` is the source frame they are about; the teacher reads the
stored frame nearest to it (by ``frame_indices``) and is trained with cross-entropy over
the 5 candidates, early-stopped on frame-QA val accuracy.

Optionally (``video_questions=True``) the train video questions whose causal frames are
a single frame (``extras["causal_frames"]``, e.g. "What color is the small object?") are
added as more frame-level examples.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from videoqa.data import load_dataset
from videoqa.data.schema import QASample
from videoqa.errors import DataFormatError, UsageError
from videoqa.features.store import FeatureStore, VideoFeatures
from videoqa.models.imageqa.feature import (
    FeatureTeacher,
    FeatureTeacherConfig,
    FeatureTeacherModel,
)
from videoqa.models.text import WordTokenizer

REPORT_FILE = "report.json"
TRAIN_CONFIG_FILE = "train_config.json"


class TeacherTrainConfig(BaseModel):
    """Hyper-parameters of :func:`train_feature_teacher`.

    Attributes:
        hidden_size, hops, dropout: model sizes (:class:`FeatureTeacherConfig`).
        epochs: most passes over the training examples.
        batch_size: examples per step.
        lr, weight_decay: AdamW.
        patience: stop after this many epochs without a better val accuracy.
        seed: seeds the initialisation and the shuffling.
        video_questions: also train on train video questions with one causal frame.
        min_count: words seen fewer times in the training texts map to ``UNK``.
        max_text_len: most words per question / candidate.
    """

    model_config = ConfigDict(extra="forbid")

    hidden_size: int = Field(128, gt=0)
    hops: int = Field(2, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    epochs: int = Field(60, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-2, ge=0)
    patience: int = Field(10, ge=1)
    seed: int = 0
    video_questions: bool = False
    min_count: int = Field(1, ge=1)
    max_text_len: int = Field(32, ge=1)


class EpochLog(BaseModel):
    """One epoch: mean training loss and val accuracy."""

    epoch: int
    train_loss: float
    val_accuracy: float


class TeacherReport(BaseModel):
    """What :func:`train_feature_teacher` did.

    Attributes:
        train_examples: frame-level training questions used.
        extra_examples: video questions with one causal frame added (0 unless asked).
        val_examples: frame-level val questions.
        skipped: questions whose video is not in the feature store.
        best_epoch: epoch (1-based) of the saved weights.
        epochs_run: epochs trained before stopping.
        val_accuracy: frame-QA val accuracy of the saved weights.
        val_accuracy_by_type: the same per question type (FA, FC, FE, FR).
        history: per-epoch loss and val accuracy.
    """

    train_examples: int
    extra_examples: int
    val_examples: int
    skipped: int
    best_epoch: int
    epochs_run: int
    val_accuracy: float
    val_accuracy_by_type: dict[str, float]
    history: list[EpochLog]


@dataclass
class FrameExamples:
    """N frame-level questions with the stored features of their frame.

    Attributes:
        vectors: ``(N, D)`` float32 frame vectors.
        patches: ``(N, P, Dp)`` float32 patch tokens or ``None``.
        questions: N question texts.
        candidates: N candidate lists.
        answers: ``(N,)`` int64 right-candidate indices.
        qtypes: N question types.
    """

    vectors: np.ndarray
    patches: np.ndarray | None
    questions: list[str]
    candidates: list[list[str]]
    answers: np.ndarray
    qtypes: list[str]

    def __len__(self) -> int:
        return len(self.questions)


def nearest_frame(features: VideoFeatures, frame: int) -> int:
    """Row of ``features`` whose ``frame_indices`` is nearest to source frame ``frame``
    (ties: the earlier row)."""
    return int(np.argmin(np.abs(features.frame_indices.astype(np.int64) - int(frame))))


def build_examples(
    samples: Iterable[QASample], store: FeatureStore, frame_of: dict[str, int]
) -> tuple[FrameExamples, int]:
    """Gather the stored frame of each sample.

    Args:
        samples: multiple-choice questions.
        store: the feature store of their videos.
        frame_of: qid → source frame index the question is about (samples without an
            entry are left out).

    Returns:
        ``(examples, skipped)``: skipped counts samples whose video is not in the store.
    """
    rows, skipped = [], 0
    cache: dict[str, VideoFeatures] = {}
    for s in samples:
        if s.qid not in frame_of or s.choices is None:
            continue
        if s.video_id not in store:
            skipped += 1
            continue
        if s.video_id not in cache:
            cache = {s.video_id: store.get(s.video_id)}  # samples come grouped by video
        feats = cache[s.video_id]
        rows.append((s, feats, nearest_frame(feats, frame_of[s.qid])))
    has_patches = store.meta.patch_dim is not None
    dim = store.meta.dim
    examples = FrameExamples(
        vectors=np.stack([f.frames[t] for _, f, t in rows]).astype(np.float32)
        if rows
        else np.zeros((0, dim), np.float32),
        patches=np.stack([f.patches[t] for _, f, t in rows]).astype(np.float32)
        if rows and has_patches
        else None,
        questions=[s.question for s, _, _ in rows],
        candidates=[list(s.choices or ()) for s, _, _ in rows],
        answers=np.array([int(s.answer) for s, _, _ in rows], dtype=np.int64),
        qtypes=[s.qtype for s, _, _ in rows],
    )
    return examples, skipped


def _frame_qa(benchmark_dir: Path, split: str) -> list[QASample]:
    bench = load_dataset("synthetic", benchmark_dir, split=split, frame_qa=True)
    if not bench.samples:
        raise DataFormatError(f"{benchmark_dir}: frame_qa/{split}.jsonl holds no questions")
    return list(bench.samples)


def _single_frame_video_questions(benchmark_dir: Path) -> tuple[list[QASample], dict[str, int]]:
    bench = load_dataset("synthetic", benchmark_dir, split="train")
    picked = [s for s in bench.samples if len(s.extras.get("causal_frames", ())) == 1]
    return picked, {s.qid: int(s.extras["causal_frames"][0]) for s in picked}


def _concat(parts: Sequence[FrameExamples]) -> FrameExamples:
    patches = [p.patches for p in parts]
    return FrameExamples(
        vectors=np.concatenate([p.vectors for p in parts]),
        patches=None if any(p is None for p in patches) else np.concatenate(patches),
        questions=[q for p in parts for q in p.questions],
        candidates=[c for p in parts for c in p.candidates],
        answers=np.concatenate([p.answers for p in parts]),
        qtypes=[t for p in parts for t in p.qtypes],
    )


@dataclass
class _Encoded:
    """Examples as tensors (text already tokenised)."""

    vectors: torch.Tensor
    patches: torch.Tensor | None
    text: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
    answers: torch.Tensor
    qtypes: list[str]

    def rows(self, idx: torch.Tensor) -> tuple:
        patches = None if self.patches is None else self.patches[idx]
        return (self.vectors[idx], patches, *(t[idx] for t in self.text))


def _encode(teacher: FeatureTeacher, ex: FrameExamples) -> _Encoded:
    return _Encoded(
        vectors=torch.from_numpy(ex.vectors),
        patches=None if ex.patches is None else torch.from_numpy(ex.patches),
        text=teacher.encode_text(ex.questions, ex.candidates),
        answers=torch.from_numpy(ex.answers),
        qtypes=ex.qtypes,
    )


@torch.inference_mode()
def evaluate(model: FeatureTeacherModel, data: _Encoded, batch_size: int = 512) -> dict[str, float]:
    """Accuracy of ``model`` on ``data``: ``{"all": acc, <qtype>: acc, ...}`` (0..1)."""
    model.eval()
    correct = []
    for start in range(0, len(data.answers), batch_size):
        idx = torch.arange(start, min(start + batch_size, len(data.answers)))
        pred = model(*data.rows(idx)).argmax(-1)
        correct.append(pred == data.answers[idx])
    hits = torch.cat(correct).numpy() if correct else np.zeros(0, bool)
    by_type: dict[str, list[bool]] = defaultdict(list)
    for qtype, hit in zip(data.qtypes, hits, strict=True):
        by_type[qtype].append(bool(hit))
    out = {"all": float(hits.mean()) if len(hits) else 0.0}
    out.update({k: float(np.mean(v)) for k, v in sorted(by_type.items())})
    return out


def _epoch(
    model: FeatureTeacherModel,
    data: _Encoded,
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    generator: torch.Generator,
) -> float:
    model.train()
    order = torch.randperm(len(data.answers), generator=generator)
    total, loss_fn = 0.0, nn.CrossEntropyLoss()
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        loss = loss_fn(model(*data.rows(idx)), data.answers[idx])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += float(loss.detach()) * len(idx)
    return total / max(len(order), 1)


def fit(
    teacher: FeatureTeacher, train: _Encoded, val: _Encoded, config: TeacherTrainConfig
) -> tuple[int, list[EpochLog]]:
    """Train ``teacher.model`` in place, keeping the weights of the best val epoch.

    Returns:
        ``(best_epoch, history)``.
    """
    model = teacher.model
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    generator = torch.Generator().manual_seed(config.seed)
    best, best_epoch, best_state, history = -1.0, 0, None, []
    for epoch in range(1, config.epochs + 1):
        loss = _epoch(model, train, optimizer, config.batch_size, generator)
        acc = evaluate(model, val)["all"]
        history.append(EpochLog(epoch=epoch, train_loss=loss, val_accuracy=acc))
        if acc > best:
            best, best_epoch, best_state = acc, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= config.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return best_epoch, history


def _new_teacher(
    store: FeatureStore, texts: Iterable[str], config: TeacherTrainConfig
) -> FeatureTeacher:
    torch.manual_seed(config.seed)
    tokenizer = WordTokenizer.build(texts, min_count=config.min_count)
    meta = store.meta
    model_config = FeatureTeacherConfig(
        feature_dim=meta.dim,
        patch_dim=meta.patch_dim,
        num_patches=meta.num_patches,
        vocab_size=tokenizer.vocab_size,
        hidden_size=config.hidden_size,
        hops=config.hops,
        dropout=config.dropout,
        max_text_len=config.max_text_len,
    )
    return FeatureTeacher(FeatureTeacherModel(model_config), tokenizer)


def train_feature_teacher(
    benchmark_dir: Path,
    feature_store: FeatureStore,
    out_dir: Path,
    config: TeacherTrainConfig | None = None,
) -> TeacherReport:
    """Train, early-stop and save a :class:`FeatureTeacher` (SpARC §3.1 teacher ``M_I``).

    Args:
        benchmark_dir: a synthetic benchmark folder (with ``frame_qa/{train,val}.jsonl``).
        feature_store: stored features of its videos (the frame nearest each question's
            ``extras["frame"]`` is used).
        out_dir: written: the teacher (``config.json``, ``model.safetensors``,
            ``tokenizer.json``), ``train_config.json`` and ``report.json``.
        config: hyper-parameters (defaults: :class:`TeacherTrainConfig`).

    Returns:
        :class:`TeacherReport` (also in ``out_dir/report.json``).

    Raises:
        DataFormatError: missing or empty frame-QA files.
        UsageError: no training or val question has its video in the store.
    """
    config = config or TeacherTrainConfig()
    train_samples = _frame_qa(Path(benchmark_dir), "train")
    val_samples = _frame_qa(Path(benchmark_dir), "val")
    frame_of = {s.qid: int(s.extras["frame"]) for s in (*train_samples, *val_samples)}
    train_ex, skipped = build_examples(train_samples, feature_store, frame_of)
    val_ex, skipped_val = build_examples(val_samples, feature_store, frame_of)
    extra = 0
    if config.video_questions:
        video_samples, video_frames = _single_frame_video_questions(Path(benchmark_dir))
        extra_ex, skipped_extra = build_examples(video_samples, feature_store, video_frames)
        extra, skipped = len(extra_ex), skipped + skipped_extra
        train_ex = _concat([train_ex, extra_ex])
    if not len(train_ex) or not len(val_ex):
        raise UsageError(
            f"the feature store has the videos of {len(train_ex)} train and {len(val_ex)} "
            "val frame questions; both must be > 0"
        )
    texts = train_ex.questions + [c for cands in train_ex.candidates for c in cands]
    teacher = _new_teacher(feature_store, texts, config)
    train, val = _encode(teacher, train_ex), _encode(teacher, val_ex)
    teacher.model.set_input_stats(train.vectors, train.patches)
    best_epoch, history = fit(teacher, train, val, config)
    scores = evaluate(teacher.model, val)
    report = TeacherReport(
        train_examples=len(train_ex) - extra,
        extra_examples=extra,
        val_examples=len(val_ex),
        skipped=skipped + skipped_val,
        best_epoch=best_epoch,
        epochs_run=len(history),
        val_accuracy=scores.pop("all"),
        val_accuracy_by_type=scores,
        history=history,
    )
    out_dir = Path(out_dir)
    teacher.save_pretrained(out_dir)
    (out_dir / TRAIN_CONFIG_FILE).write_text(config.model_dump_json(indent=2) + "\n", "utf-8")
    (out_dir / REPORT_FILE).write_text(json.dumps(report.model_dump(), indent=2) + "\n", "utf-8")
    return report
