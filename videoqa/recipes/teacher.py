"""The ``teacher`` recipe: SpARC's feature-level image-QA teacher ``M_I`` (§3.1),
trained on a synthetic benchmark's frame-level questions.

The generator writes frame-level questions (``frame_qa/{train,val}.jsonl``, types FA
attribute / FC count / FE exist / FR relation) whose ``extras["frame"]`` is the source
frame they are about; the teacher reads the stored frame nearest to it (by the feature
store's ``frame_indices``) and is trained with cross-entropy over the candidates; the
epoch with the best frame-QA val accuracy is kept. With ``teacher.video_questions``,
the train video questions whose causal frames are a single frame
(``extras["causal_frames"]``, e.g. "What color is the small object?") are added as more
frame-level examples.

This recipe loads the data (benchmark questions, feature store) and hands the library
plain arrays (:class:`~videoqa.models.imageqa.frame_qa.FrameQAExamples`).
``checkpoints/best`` is a :class:`~videoqa.models.imageqa.feature.FeatureTeacher`
folder (``config.json``, ``model.safetensors``, ``tokenizer.json``) plus the run's
``config.yaml``: ``videoqa extract teacher --teacher feature:RUN/checkpoints/best`` reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from videoqa.errors import DataFormatError, UsageError
from videoqa.models.imageqa.feature import (
    FeatureTeacher,
    FeatureTeacherConfig,
    FeatureTeacherModel,
)
from videoqa.models.imageqa.frame_qa import (
    FrameQABatch,
    FrameQADataset,
    FrameQAExamples,
    frame_qa_accuracy,
    nearest_frame,
)
from videoqa.models.text import WordTokenizer
from videoqa.training.config import CheckpointConfig, OptimConfig, RunConfig, SchedulerConfig
from videoqa.training.recipe import EpochStats, Recipe, RecipeSetup, StepOutput, register_recipe

if TYPE_CHECKING:
    from videoqa.data.schema import QASample
    from videoqa.features.store import FeatureStore


class TeacherData(BaseModel):
    """Where the frame questions and their features are.

    Attributes:
        benchmark_dir: a ``videoqa synth`` folder (with ``frame_qa/<split>.jsonl``).
        features_dir: a feature store of its videos.
        train_split, val_split: frame-QA splits.
        min_word_count: words seen fewer times in the training texts map to ``UNK``.
    """

    model_config = ConfigDict(extra="forbid")

    benchmark_dir: Path
    features_dir: Path
    train_split: str = "train"
    val_split: str = "val"
    min_word_count: int = Field(1, ge=1)


class TeacherModel(BaseModel):
    """Sizes of the teacher (:class:`FeatureTeacherConfig`; ``feature_dim``,
    ``patch_dim``, ``num_patches`` come from the feature store and ``vocab_size`` from
    the tokenizer)."""

    model_config = ConfigDict(extra="forbid")

    hidden_size: int = Field(128, gt=0)
    hops: int = Field(2, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    max_text_len: int = Field(32, ge=1)


class TeacherOptions(BaseModel):
    """Options of the ``teacher`` recipe.

    Attributes:
        video_questions: also train on the train video questions with one causal frame.
    """

    model_config = ConfigDict(extra="forbid")

    video_questions: bool = False


class TeacherOptim(OptimConfig):
    """AdamW of the teacher: lr 2e-3, weight decay 1e-2, clipping at 1."""

    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-2, ge=0)


class TeacherScheduler(SchedulerConfig):
    """A constant learning rate: no warm-up, and the cosine ends at ``1 · lr``."""

    warmup_ratio: float = Field(0.0, ge=0, lt=1)
    min_lr_ratio: float = Field(1.0, ge=0, le=1)


class TeacherCheckpoint(CheckpointConfig):
    """Best epoch by frame-QA val accuracy; stop after 10 epochs without a better one."""

    patience: int | None = Field(10, ge=1)


class TeacherConfig(RunConfig):
    """``teacher`` recipe config (defaults: 60 epochs of batch 64, constant lr 2e-3,
    early stop after 10 epochs without a better val accuracy)."""

    data: TeacherData
    model: TeacherModel = Field(default_factory=TeacherModel)
    teacher: TeacherOptions = Field(default_factory=TeacherOptions)
    epochs: int = Field(60, ge=1)
    eval_batch_size: int = Field(512, ge=1)
    output_dir: Path = Path("runs/teacher")
    optim: TeacherOptim = Field(default_factory=TeacherOptim)
    scheduler: TeacherScheduler = Field(default_factory=TeacherScheduler)
    checkpoint: TeacherCheckpoint = Field(default_factory=TeacherCheckpoint)


def build_examples(
    samples: Iterable[QASample], store: FeatureStore, frame_of: dict[str, int]
) -> tuple[FrameQAExamples, int]:
    """The stored frame nearest to each sample's source frame.

    Args:
        samples: multiple-choice questions (grouped by video, as the loaders give them).
        store: the feature store of their videos.
        frame_of: qid → source frame the question is about (samples without an entry
            are left out).

    Returns:
        ``(examples, skipped)``: skipped counts samples whose video is not in the store.
    """
    rows, skipped = [], 0
    cache: dict[str, Any] = {}
    for s in samples:
        if s.qid not in frame_of or s.choices is None:
            continue
        if s.video_id not in store:
            skipped += 1
            continue
        if s.video_id not in cache:
            cache = {s.video_id: store.get(s.video_id)}
        feats = cache[s.video_id]
        rows.append((s, feats, nearest_frame(feats.frame_indices, frame_of[s.qid])))
    if not rows:
        return FrameQAExamples.empty(store.meta.dim), skipped
    has_patches = store.meta.patch_dim is not None
    return (
        FrameQAExamples(
            vectors=np.stack([f.frames[t] for _, f, t in rows]).astype(np.float32),
            patches=np.stack([f.patches[t] for _, f, t in rows]).astype(np.float32)
            if has_patches
            else None,
            questions=[s.question for s, _, _ in rows],
            candidates=[list(s.choices or ()) for s, _, _ in rows],
            answers=np.array([int(s.answer) for s, _, _ in rows], dtype=np.int64),
            qtypes=[s.qtype for s, _, _ in rows],
        ),
        skipped,
    )


def _frame_qa(benchmark_dir: Path, split: str) -> list[QASample]:
    from videoqa.data import load_dataset

    bench = load_dataset("synthetic", benchmark_dir, split=split, frame_qa=True)
    if not bench.samples:
        raise DataFormatError(f"{benchmark_dir}: frame_qa/{split}.jsonl holds no questions")
    return list(bench.samples)


def _single_frame_video_questions(
    benchmark_dir: Path, split: str
) -> tuple[list[QASample], dict[str, int]]:
    from videoqa.data import load_dataset

    bench = load_dataset("synthetic", benchmark_dir, split=split)
    picked = [s for s in bench.samples if len(s.extras.get("causal_frames", ())) == 1]
    return picked, {s.qid: int(s.extras["causal_frames"][0]) for s in picked}


@dataclass
class TeacherTrainingData:
    """The frame-QA examples of one run.

    Attributes:
        train, val: the examples; extra: how many of ``train`` are video questions.
        skipped: questions whose video is not in the feature store.
        feature_dim, patch_dim, num_patches: the store's sizes.
    """

    train: FrameQAExamples
    val: FrameQAExamples
    extra: int
    skipped: int
    feature_dim: int
    patch_dim: int | None
    num_patches: int | None


def load_teacher_data(config: TeacherConfig) -> TeacherTrainingData:
    """Frame questions of the train and val splits with their stored frames.

    Raises:
        DataFormatError: missing or empty frame-QA files.
        UsageError: no train or no val question has its video in the store.
        FeatureStoreError: not a feature store.
    """
    from videoqa.features.store import FeatureStore

    cfg = config.data
    store = FeatureStore(cfg.features_dir)
    train_samples = _frame_qa(cfg.benchmark_dir, cfg.train_split)
    val_samples = _frame_qa(cfg.benchmark_dir, cfg.val_split)
    frame_of = {s.qid: int(s.extras["frame"]) for s in (*train_samples, *val_samples)}
    train, skipped = build_examples(train_samples, store, frame_of)
    val, skipped_val = build_examples(val_samples, store, frame_of)
    extra = 0
    if config.teacher.video_questions:
        video, video_frames = _single_frame_video_questions(cfg.benchmark_dir, cfg.train_split)
        extra_ex, skipped_extra = build_examples(video, store, video_frames)
        extra, skipped = len(extra_ex), skipped + skipped_extra
        train = FrameQAExamples.concat([train, extra_ex])
    if not len(train) or not len(val):
        raise UsageError(
            f"the feature store has the videos of {len(train)} train and {len(val)} "
            "val frame questions; both must be > 0"
        )
    meta = store.meta
    return TeacherTrainingData(
        train, val, extra, skipped + skipped_val, meta.dim, meta.patch_dim, meta.num_patches
    )


@register_recipe
class TeacherRecipe(Recipe):
    """SpARC's image-QA teacher on stored frame features (frame-level questions).

    Options under ``teacher:`` (:class:`TeacherOptions`); the best epoch by frame-QA
    ``val_accuracy`` (a fraction) is kept in ``checkpoints/best``, a feature-teacher
    folder for ``videoqa extract teacher --teacher feature:DIR``.
    """

    name = "teacher"
    config_class = TeacherConfig
    monitor = "val_accuracy"

    def __init__(self, config: TeacherConfig, *, data: TeacherTrainingData | None = None):
        super().__init__(config)
        self._data = data
        self.tokenizer: WordTokenizer | None = None
        self.train: FrameQADataset | None = None
        self.val: FrameQADataset | None = None

    @property
    def data(self) -> TeacherTrainingData:
        """The run's examples (loaded on first use unless given)."""
        if self._data is None:
            self._data = load_teacher_data(self.config)
        return self._data

    def setup(self, accelerator: Any) -> RecipeSetup:
        data, cfg = self.data, self.config
        self.tokenizer = WordTokenizer.build(data.train.texts(), min_count=cfg.data.min_word_count)
        model = FeatureTeacherModel(
            FeatureTeacherConfig(
                feature_dim=data.feature_dim,
                patch_dim=data.patch_dim,
                num_patches=data.num_patches,
                vocab_size=self.tokenizer.vocab_size,
                **cfg.model.model_dump(),
            )
        )
        teacher = self._wrap(model)
        self.train = FrameQADataset(data.train, teacher)
        self.val = FrameQADataset(data.val, teacher)
        model.set_input_stats(self.train.vectors, self.train.patches)
        model.train()
        return RecipeSetup(model=model, train_dataset=self.train, collate_fn=self.train.collate)

    def _wrap(self, model: nn.Module) -> FeatureTeacher:
        """A :class:`FeatureTeacher` around ``model`` (its device and mode kept)."""
        was_training = model.training
        device = next(model.parameters()).device
        teacher = FeatureTeacher(model, self.tokenizer, device=device)  # type: ignore[arg-type]
        model.train(was_training)
        return teacher

    def training_step(
        self, model: nn.Module, batch: FrameQABatch, backward: Callable[[Tensor], None]
    ) -> StepOutput:
        loss = F.cross_entropy(model(*batch.inputs()), batch.answers)
        backward(loss)
        return StepOutput(losses={"loss": float(loss.detach())}, size=batch.batch_size)

    def _scores(self, model: nn.Module) -> dict[str, Any]:
        scores = frame_qa_accuracy(model, self.val, self.config.eval_batch_size)
        return {"val_accuracy": scores.pop("all"), "val_per_type": scores}

    def evaluate(self, model: nn.Module, stats: EpochStats) -> dict[str, Any]:
        return self._scores(model)

    def save_model(self, model: nn.Module, directory: Path) -> None:
        directory = Path(directory)
        self._wrap(model).save_pretrained(directory)
        (directory / "config.yaml").write_text(self.config.to_yaml(), encoding="utf-8")

    def restore_best(self, model: nn.Module, directory: Path) -> None:
        self._wrap(model).load_weights(Path(directory))

    def test(self, model: nn.Module, output_dir: Path, is_main_process: bool) -> dict[str, Any]:
        """Frame-QA val scores of the best epoch and the example counts."""
        data = self.data
        return {
            **self._scores(model),
            "train_examples": len(data.train) - data.extra,
            "extra_examples": data.extra,
            "val_examples": len(data.val),
            "skipped": data.skipped,
        }
