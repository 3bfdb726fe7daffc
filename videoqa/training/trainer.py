"""The training loop: Accelerate, AdamW + warm-up/cosine schedule, evaluation every
epoch, best checkpoint by val accuracy, resumable checkpoints, JSON-lines metrics.

The same code runs on one CPU process (here), or under ``accelerate launch`` with DDP or
DeepSpeed: the model, optimiser, train loader and scheduler go through
``accelerator.prepare``, gradients through ``accelerator.backward``. Evaluation runs the
unwrapped model on every process over the whole split (only the main process writes).

Run folder (``TrainConfig.output_dir``)::

    config.yaml                 the resolved config
    metrics.jsonl               StepRecord / EpochRecord lines
    curve.png                   train loss terms and val accuracy
    checkpoints/last/           resumable (model, tokenizer, optimiser, scheduler, RNG)
    checkpoints/best/           best val accuracy (model + tokenizer + config)
    predictions/<split>.jsonl   {"qid", "prediction", "answer", "qtype"} per question
    results.json                best epoch, val and test scores (per type and group)

Resume (``fit(resume=True)``) restores everything from ``checkpoints/last``, cuts
``metrics.jsonl`` back to what had been logged at that checkpoint and continues at the
same step; the data order depends only on ``(seed, epoch)`` and all randomness comes
from RNGs saved in the checkpoint, so the losses match an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from pydantic import BaseModel
from torch.utils.data import DataLoader

from videoqa.errors import UsageError
from videoqa.eval.protocols import protocol_for
from videoqa.metrics.accuracy import ScoreBreakdown, multiple_choice_accuracy
from videoqa.models.base import VideoQAModel
from videoqa.models.registry import build_model
from videoqa.models.text import WordTokenizer
from videoqa.training.checkpoint import (
    TrainState,
    find_checkpoint,
    load_training_state,
    load_weights,
    save_checkpoint,
    set_rng_state,
)
from videoqa.training.config import TrainConfig
from videoqa.training.data import EpochShuffleSampler, QADataset, build_tokenizer, collate
from videoqa.training.logs import EpochRecord, MetricsLog, StepRecord, plot_curve, read_metrics
from videoqa.training.objective import LossParts, Objective


@dataclass
class TrainingData:
    """The datasets of one run (teacher probabilities on ``train`` only: guidance is a
    training signal; evaluation always sees the whole video and nothing else)."""

    train: QADataset
    val: QADataset
    tests: dict[str, QADataset]
    tokenizer: WordTokenizer
    dataset: str = "synthetic"


def load_training_data(config: TrainConfig, *, need_teacher: bool) -> TrainingData:
    """Load the splits, feature store and (when ``need_teacher``) the teacher store.

    Raises:
        UsageError: a teacher is needed and ``data.teacher_path`` is not set.
        DataFormatError / FeatureStoreError: unreadable or inconsistent data.
    """
    from videoqa.data import load_dataset
    from videoqa.features.store import FeatureStore

    cfg = config.data
    if need_teacher and cfg.teacher_path is None:
        raise UsageError("this recipe needs data.teacher_path (a teacher-probability store)")

    def samples(split: str) -> list:
        bench = load_dataset(cfg.dataset, cfg.benchmark_dir, split=split)
        return list(bench.samples[: cfg.limit] if cfg.limit else bench.samples)

    store = FeatureStore(cfg.features_dir)
    teacher = None
    if need_teacher:
        from videoqa.features.teacher_store import TeacherStore

        teacher = TeacherStore(cfg.teacher_path)
    train_samples = samples(cfg.train_split)
    tokenizer = build_tokenizer(train_samples, cfg.min_word_count)
    lengths = {
        "max_question_len": cfg.max_question_len,
        "max_answer_len": cfg.max_answer_len,
        "patches": cfg.use_patches,
    }
    train = QADataset(train_samples, store, tokenizer, teacher=teacher, **lengths)
    val = QADataset(samples(cfg.val_split), store, tokenizer, **lengths)
    tests = {s: QADataset(samples(s), store, tokenizer, **lengths) for s in cfg.test_splits}
    return TrainingData(train, val, tests, tokenizer, dataset=cfg.dataset)


def build_backbone(config: TrainConfig, data: TrainingData) -> VideoQAModel:
    """``build_model(model.name, model.config)`` with ``feature_dim``, ``vocab_size``,
    ``max_frames`` and ``max_text_len`` filled in from the data when not given."""
    fields = dict(config.model.config)
    fields.setdefault("feature_dim", data.train.feature_dim)
    fields.setdefault("vocab_size", data.tokenizer.vocab_size)
    fields.setdefault("max_frames", data.train.num_frames)
    if data.train.patches is not None:
        fields.setdefault("patch_dim", int(data.train.patches.shape[-1]))
    fields.setdefault("max_text_len", max(config.data.max_question_len, config.data.max_answer_len))
    return build_model(config.model.name, fields)


class SplitResult(BaseModel):
    """Scores of one split: overall accuracy (%) and the full breakdown."""

    accuracy: float
    scores: ScoreBreakdown


class TrainResult(BaseModel):
    """Outcome of :meth:`Trainer.fit`.

    Attributes:
        best_epoch, best_val_accuracy: the epoch kept in ``checkpoints/best``.
        steps: optimiser steps done. tests: split → scores of the best checkpoint.
        output_dir: the run folder.
    """

    best_epoch: int
    best_val_accuracy: float
    steps: int
    tests: dict[str, SplitResult]
    output_dir: Path


@torch.no_grad()
def predict(model: torch.nn.Module, dataset: QADataset, batch_size: int) -> np.ndarray:
    """Predicted candidate per question of ``dataset`` on the whole video, ``(N,)`` int64.

    The model runs in eval mode; no RNG is consumed.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(dataset), batch_size):
        index = torch.arange(start, min(start + batch_size, len(dataset)))
        batch = dataset.batch(index).to(device)
        out.append(model(batch.qa).logits.argmax(dim=-1).cpu())
    model.train(was_training)
    return torch.cat(out).numpy().astype(np.int64)


def score(dataset_name: str, data: QADataset, predictions: np.ndarray) -> SplitResult:
    """Multiple-choice accuracy with the benchmark's protocol (per type and group)."""
    protocol = protocol_for(dataset_name)
    scores = multiple_choice_accuracy(
        predictions, data.answers.numpy(), data.qtypes, convention=protocol.convention
    )
    if not protocol.groups:
        scores = scores.model_copy(update={"per_group": {}})
    return SplitResult(accuracy=scores.overall.percent, scores=scores)


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """LR multiplier: linear from 0 to 1 over ``warmup_steps``, cosine to 0 at the end."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


@dataclass
class _Loop:
    """Prepared training objects."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    loader: DataLoader
    scheduler: torch.optim.lr_scheduler.LRScheduler
    sampler: EpochShuffleSampler
    state: TrainState = field(default_factory=TrainState)


class Trainer:
    """Train a backbone with an :class:`Objective` (a recipe) and evaluate it.

    Args:
        config: the run's config.
        objective: the training loss (``videoqa.recipes`` build them).
        data: datasets to use instead of loading them from ``config.data`` (tests).

    Raises:
        UsageError: the objective needs teacher probabilities the data lacks.
    """

    def __init__(
        self, config: TrainConfig, objective: Objective, *, data: TrainingData | None = None
    ) -> None:
        self.config = config
        self.objective = objective
        self.data = data or load_training_data(config, need_teacher=objective.requires_teacher)
        if objective.requires_teacher and self.data.train.teacher_probs is None:
            raise UsageError("the objective needs teacher probabilities on the train split")
        self.out = Path(config.output_dir)
        self.accelerator = Accelerator(cpu=config.cpu)
        self.log = MetricsLog(self.out / "metrics.jsonl")

    def _setup(self) -> _Loop:
        cfg = self.config
        set_seed(cfg.seed)
        model = build_backbone(cfg, self.data)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay
        )
        sampler = EpochShuffleSampler(len(self.data.train), cfg.seed)
        loader = DataLoader(
            self.data.train,
            batch_size=cfg.batch_size,
            sampler=sampler,
            collate_fn=collate,
            generator=torch.Generator().manual_seed(cfg.seed),
        )
        steps = math.ceil(len(self.data.train) / cfg.batch_size) * cfg.epochs
        steps *= self.accelerator.num_processes  # AcceleratedScheduler steps once per process
        warmup = int(cfg.optim.warmup_ratio * steps)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(steps, warmup))
        model, optimizer, loader, scheduler = self.accelerator.prepare(
            model, optimizer, loader, scheduler
        )
        return _Loop(model, optimizer, loader, scheduler, sampler)

    def _restore(self, loop: _Loop) -> None:
        ckpt = find_checkpoint(self.out / "checkpoints" / "last")
        if ckpt is None:
            raise UsageError(f"--resume: no checkpoint in {self.out / 'checkpoints'}")
        restored = load_training_state(ckpt)
        load_weights(self.accelerator.unwrap_model(loop.model), ckpt)
        loop.optimizer.load_state_dict(restored.optimizer)
        loop.scheduler.load_state_dict(restored.scheduler)
        set_rng_state(restored.rng)
        loop.state = restored.state
        if self.accelerator.is_main_process:
            self.log.truncate(loop.state.metrics_offset)

    def fit(self, resume: bool = False) -> TrainResult:
        """Train ``config.epochs`` epochs (continuing the last checkpoint with
        ``resume``), then score the best checkpoint on the test splits.

        Raises:
            UsageError: ``resume`` without a checkpoint in the run folder.
        """
        self.out.mkdir(parents=True, exist_ok=True)
        if not resume:
            self.log.truncate(0)
        (self.out / "config.yaml").write_text(self.config.to_yaml(), encoding="utf-8")
        loop = self._setup()
        if resume:
            self._restore(loop)
        while loop.state.epoch < self.config.epochs:
            self._train_epoch(loop)
            self._end_epoch(loop)
        return self._finish(loop)

    def _train_epoch(self, loop: _Loop) -> None:
        state, cfg = loop.state, self.config
        loop.sampler.set_epoch(state.epoch)
        if hasattr(loop.loader, "set_epoch"):
            loop.loader.set_epoch(state.epoch)
        loader = loop.loader
        if state.step_in_epoch:
            loader = self.accelerator.skip_first_batches(loop.loader, state.step_in_epoch)
        state.loss_sums = state.loss_sums or {}
        state.loss_counts = state.loss_counts or {}
        for batch in loader:
            start = time.perf_counter()
            parts = self._step(loop, batch)
            state.epoch_seconds += time.perf_counter() - start
            state.step_in_epoch += 1
            state.global_step += 1
            state.fallback_sum += parts.fallback
            state.seen += batch.batch_size
            values = parts.as_floats()
            for name, value in values.items():
                state.loss_sums[name] = state.loss_sums.get(name, 0.0) + value
                state.loss_counts[name] = state.loss_counts.get(name, 0) + 1
            if state.global_step % cfg.log_every == 0:
                self._log(
                    StepRecord(
                        epoch=state.epoch,
                        step=state.global_step,
                        lr=float(loop.scheduler.get_last_lr()[0]),
                        losses=values,
                        fallback=parts.fallback,
                    )
                )
            if cfg.checkpoint_every and state.global_step % cfg.checkpoint_every == 0:
                self._save_last(loop)

    def _step(self, loop: _Loop, batch) -> LossParts:
        loop.model.train()
        parts = self.objective.backward_loss(loop.model, batch, self.accelerator.backward)
        if self.config.optim.grad_clip > 0:
            self.accelerator.clip_grad_norm_(loop.model.parameters(), self.config.optim.grad_clip)
        loop.optimizer.step()
        loop.scheduler.step()
        loop.optimizer.zero_grad(set_to_none=True)
        return parts

    def _end_epoch(self, loop: _Loop) -> None:
        state = loop.state
        model = self.accelerator.unwrap_model(loop.model)
        val = score(self.data.dataset, self.data.val, predict(model, self.data.val, self._ebs))
        sums, counts = state.loss_sums or {}, state.loss_counts or {}
        self._log(
            EpochRecord(
                epoch=state.epoch,
                step=state.global_step,
                train_losses={k: sums[k] / counts[k] for k in sums},
                val_accuracy=val.accuracy,
                val_per_type={k: v.percent for k, v in val.scores.per_type.items()},
                val_per_group={k: v.percent for k, v in val.scores.per_group.items()},
                fallback_rate=state.fallback_sum / max(1, state.seen),
                seconds=round(state.epoch_seconds, 3),
            )
        )
        if val.accuracy > state.best_accuracy:
            state.best_accuracy, state.best_epoch = val.accuracy, state.epoch
            if self.accelerator.is_main_process:
                save_checkpoint(
                    self.out / "checkpoints" / "best",
                    model=model,
                    tokenizer=self.data.tokenizer,
                    config_yaml=self.config.to_yaml(),
                )
        state.epoch += 1
        state.step_in_epoch = state.fallback_sum = state.seen = 0
        state.loss_sums, state.loss_counts, state.epoch_seconds = {}, {}, 0.0
        self._save_last(loop)

    @property
    def _ebs(self) -> int:
        return self.config.eval_batch_size

    def _log(self, record: StepRecord | EpochRecord) -> None:
        if self.accelerator.is_main_process:
            self.log.write(record)

    def _save_last(self, loop: _Loop) -> None:
        self.accelerator.wait_for_everyone()
        if not self.accelerator.is_main_process:
            return
        loop.state.metrics_offset = self.log.size()
        save_checkpoint(
            self.out / "checkpoints" / "last",
            model=self.accelerator.unwrap_model(loop.model),
            tokenizer=self.data.tokenizer,
            config_yaml=self.config.to_yaml(),
            state=loop.state,
            optimizer=loop.optimizer,
            scheduler=loop.scheduler,
        )

    def _finish(self, loop: _Loop) -> TrainResult:
        best = find_checkpoint(self.out / "checkpoints" / "best")
        model = self.accelerator.unwrap_model(loop.model)
        if best is not None:
            load_weights(model, best)
        tests = {}
        for split, data in self.data.tests.items():
            predictions = predict(model, data, self._ebs)
            tests[split] = score(self.data.dataset, data, predictions)
            if self.accelerator.is_main_process:
                self._write_predictions(split, data, predictions)
        result = TrainResult(
            best_epoch=loop.state.best_epoch,
            best_val_accuracy=loop.state.best_accuracy,
            steps=loop.state.global_step,
            tests=tests,
            output_dir=self.out,
        )
        if self.accelerator.is_main_process:
            (self.out / "results.json").write_text(result.model_dump_json(indent=2) + "\n")
            plot_curve(read_metrics(self.log.path), self.out / "curve.png")
        return result

    def _write_predictions(self, split: str, data: QADataset, predictions: np.ndarray) -> None:
        path = self.out / "predictions" / f"{split}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = (
            {"qid": q, "prediction": int(p), "answer": int(a), "qtype": t}
            for q, p, a, t in zip(
                data.qids, predictions, data.answers.tolist(), data.qtypes, strict=True
            )
        )
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
