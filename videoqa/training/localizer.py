"""Stage-2 pretraining of SGVLM's frame localizer on moment retrieval.

SGVLM (Dai et al., 2025, §3.5) pretrains the question-conditioned localizer on temporal
grounding before VideoQA fine-tuning; the objective is UniVTG's (Lin et al., ICCV 2023,
§3.3, :func:`videoqa.losses.moment.localizer_loss`). Here the grounding data are the
synthetic benchmark's questions with their answer ``interval``; the inputs are the frame
features of a :class:`~videoqa.features.store.FeatureStore` and, optionally, the
scene-graph tokens of a scene-graph store aligned with it.

Run folder ``OUT``::

    OUT/settings.json        the LocalizerTrainSettings of the run
    OUT/metrics.jsonl        one JSON object per epoch (train losses, val metrics)
    OUT/best/                FrameLocalizer.save_pretrained of the best val epoch
    OUT/last/                model/ + state.pt (optimiser, scheduler, RNG, epoch), for resume

Every folder is written under ``<name>.tmp`` and swapped in with renames, so a killed run
leaves a complete ``last`` (or ``last.old``) to resume from.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor
from transformers import PreTrainedTokenizerBase

from videoqa.data.schema import QASample
from videoqa.errors import DataFormatError, UsageError
from videoqa.eval.localizer import LocalizerPrediction, predictions_from_output, score_localizer
from videoqa.losses.moment import LossWeights, localizer_loss, moment_targets
from videoqa.models.sgvlm.localizer import FrameLocalizer, LocalizerConfig
from videoqa.training.checkpoint import write_dir_atomic
from videoqa.training.logs import keep_epochs

METRICS_FILE = "metrics.jsonl"
SETTINGS_FILE = "settings.json"
STATE_FILE = "state.pt"


class LocalizerModelSettings(BaseModel):
    """The :class:`LocalizerConfig` fields a run chooses (dims come from the data)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hidden_size: int = Field(128, gt=0)
    num_heads: int = Field(4, gt=0)
    num_layers: int = Field(2, ge=1)
    temporal_layers: int = Field(2, ge=0)
    max_text_len: int = Field(40, gt=0)
    attention_mask: bool = True
    dropout: float = Field(0.1, ge=0, lt=1)


class LocalizerTrainSettings(BaseModel):
    """Settings of a stage-2 run.

    Attributes:
        benchmark: synthetic benchmark folder (``qa/<split>.jsonl``).
        features: feature store of its videos.
        scene_graphs: scene-graph store aligned with ``features``, or ``None`` (NoSG).
        output_dir: run folder.
        train_split, val_split: splits to train on / select the best epoch on.
        model: localizer size; loss: UniVTG loss weights.
        epochs, batch_size (questions), lr, weight_decay, warmup_steps: AdamW with a
            linear warm-up then cosine decay to 0.
        max_train_questions: train on a seeded random subset of this many (``None`` = all).
        clip_length: seconds per frame clip; ``None`` = median spacing of frame times.
        select_metric: key of ``QVHighlightsMetrics.brief`` that picks the best epoch.
        top_n, nms_iou: moment decoding.
        seed: model init, shuffling, subset.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    benchmark: Path
    features: Path
    scene_graphs: Path | None = None
    output_dir: Path
    train_split: str = "train"
    val_split: str = "val"
    model: LocalizerModelSettings = LocalizerModelSettings()
    loss: LossWeights = LossWeights()
    epochs: int = Field(5, ge=1)
    batch_size: int = Field(64, ge=2)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_steps: int = Field(50, ge=0)
    max_train_questions: int | None = Field(None, ge=1)
    clip_length: float | None = Field(None, gt=0)
    select_metric: str = "MR-full-mAP"
    top_n: int = Field(10, ge=1)
    nms_iou: float = Field(0.7, gt=0, le=1)
    seed: int = 0


class FeatureSource(Protocol):
    """What the run reads frame features from (a :class:`FeatureStore`)."""

    def get(self, video_id: str) -> Any:
        """The video's features (``frames (T, Df)``, ``times (T,)``, ``frame_indices``)."""


class SceneGraphSource(Protocol):
    """What the run reads scene-graph tokens from (a ``SceneGraphStore``)."""

    def get(self, video_id: str) -> Any:
        """The video's ``tokens (T, K, Dsg)``, ``token_mask (T, K)``, ``frame_indices``."""


@dataclass
class LocalizerData:
    """A split as tensors.

    Attributes:
        samples: the ``Q`` questions (each with an interval).
        frames: ``(V, T, Df)``; times: ``(V, T)`` seconds; frame_mask: ``(V, T)`` bool.
        durations: ``(V,)`` seconds.
        sg_tokens: ``(V, T, K, Dsg)`` or ``None``; sg_mask: ``(V, T, K)`` or ``None``.
        question_ids, question_mask: ``(Q, L)`` long / bool.
        intervals: ``(Q, 2)`` seconds; video_index: ``(Q,)`` row of each question's video.
    """

    samples: list[QASample]
    frames: Tensor
    times: Tensor
    frame_mask: Tensor
    durations: Tensor
    sg_tokens: Tensor | None
    sg_mask: Tensor | None
    question_ids: Tensor
    question_mask: Tensor
    intervals: Tensor
    video_index: Tensor


@dataclass
class LocalizerBatch:
    """The model inputs and targets of ``B`` questions (rows follow the indices)."""

    qids: list[str]
    frames: Tensor
    frame_mask: Tensor
    times: Tensor
    durations: Tensor
    sg_tokens: Tensor | None
    sg_mask: Tensor | None
    question_ids: Tensor
    question_mask: Tensor
    intervals: Tensor
    video_index: Tensor

    def forward(self, model: FrameLocalizer):
        """Run ``model`` on this batch; returns its :class:`LocalizerOutput`."""
        return model(
            self.frames, self.frame_mask, self.question_ids, self.question_mask,
            self.sg_tokens, self.sg_mask, self.times,
        )  # fmt: skip


def _scene_graph_arrays(
    source: SceneGraphSource, ids: Sequence[str], frame_indices: Sequence[np.ndarray]
) -> tuple[Tensor, Tensor]:
    tokens, masks = [], []
    for vid, index in zip(ids, frame_indices, strict=True):
        sg = source.get(vid)
        if not np.array_equal(np.asarray(sg.frame_indices), index):
            raise DataFormatError(f"{vid}: scene-graph frames are not aligned with the features")
        tokens.append(np.asarray(sg.tokens, dtype=np.float32))
        masks.append(np.asarray(sg.token_mask, dtype=bool))
    return torch.from_numpy(np.stack(tokens)), torch.from_numpy(np.stack(masks))


def build_localizer_data(
    samples: Sequence[QASample],
    durations: dict[str, float],
    features: FeatureSource,
    tokenizer: PreTrainedTokenizerBase,
    max_text_len: int,
    scene_graphs: SceneGraphSource | None = None,
) -> LocalizerData:
    """Stack the features (and scene-graph tokens) of the videos of ``samples`` and
    tokenize the questions (padded/truncated to ``max_text_len``).

    Samples without an interval are dropped. Every video must have the same number of
    frames ``T``.

    Raises:
        DataFormatError: no sample with an interval, a video without duration or
            features, frame counts that differ, scene graphs not aligned with features.
    """
    kept = [s for s in samples if s.interval is not None]
    if not kept:
        raise DataFormatError("no question with an interval to localize")
    ids = sorted({s.video_id for s in kept})
    row = {vid: i for i, vid in enumerate(ids)}
    feats = [features.get(vid) for vid in ids]
    if len({f.frames.shape for f in feats}) != 1:
        raise DataFormatError("videos have different numbers of frames or feature sizes")
    missing = [vid for vid in ids if durations.get(vid) is None]
    if missing:
        raise DataFormatError(f"{len(missing)} videos without a duration, e.g. {missing[0]}")
    sg_tokens = sg_mask = None
    if scene_graphs is not None:
        sg_tokens, sg_mask = _scene_graph_arrays(
            scene_graphs, ids, [f.frame_indices for f in feats]
        )
    enc = tokenizer(
        [s.question for s in kept], padding="max_length", truncation=True,
        max_length=max_text_len, return_tensors="pt",
    )  # fmt: skip
    frames = torch.from_numpy(np.stack([f.frames for f in feats]).astype(np.float32))
    return LocalizerData(
        samples=kept,
        frames=frames,
        times=torch.from_numpy(np.stack([f.times for f in feats]).astype(np.float32)),
        frame_mask=torch.ones(frames.shape[:2], dtype=torch.bool),
        durations=torch.tensor([durations[vid] for vid in ids], dtype=torch.float32),
        sg_tokens=sg_tokens,
        sg_mask=sg_mask,
        question_ids=enc["input_ids"].long(),
        question_mask=enc["attention_mask"].bool(),
        intervals=torch.tensor([s.interval for s in kept], dtype=torch.float32),
        video_index=torch.tensor([row[s.video_id] for s in kept], dtype=torch.long),
    )


def make_batch(data: LocalizerData, index: Tensor) -> LocalizerBatch:
    """Gather the questions ``index`` ``(B,)``; question tokens are cut to the longest
    real question of the batch."""
    vids = data.video_index[index]
    qmask = data.question_mask[index]
    length = max(1, int(qmask.sum(1).max()))
    return LocalizerBatch(
        qids=[data.samples[int(i)].qid for i in index],
        frames=data.frames[vids],
        frame_mask=data.frame_mask[vids],
        times=data.times[vids],
        durations=data.durations[vids],
        sg_tokens=None if data.sg_tokens is None else data.sg_tokens[vids],
        sg_mask=None if data.sg_mask is None else data.sg_mask[vids],
        question_ids=data.question_ids[index, :length],
        question_mask=qmask[:, :length],
        intervals=data.intervals[index],
        video_index=vids,
    )


def clip_length_of(data: LocalizerData) -> float:
    """Median spacing of the frame times, seconds (``duration / T`` for one frame)."""
    if data.times.shape[1] < 2:
        return float(data.durations.median())
    return float(torch.diff(data.times.double(), dim=1).median())


def iterate_batches(
    size: int, batch_size: int, generator: torch.Generator | None
) -> Iterator[Tensor]:
    """Index batches over ``range(size)``: shuffled with ``generator``, in order without."""
    order = (
        torch.randperm(size, generator=generator) if generator is not None else torch.arange(size)
    )
    for start in range(0, size, batch_size):
        yield order[start : start + batch_size]


@torch.no_grad()
def predict_localizer(
    model: FrameLocalizer,
    data: LocalizerData,
    batch_size: int = 256,
    top_n: int = 10,
    nms_iou: float = 0.7,
) -> list[LocalizerPrediction]:
    """Moment windows and frame saliency of every question of ``data`` (eval mode)."""
    was_training = model.training
    model.eval()
    out: list[LocalizerPrediction] = []
    for index in iterate_batches(len(data.samples), batch_size, None):
        batch = make_batch(data, index)
        output = batch.forward(model)
        out += predictions_from_output(
            batch.qids,
            output,
            batch.times,
            batch.frame_mask,
            batch.durations.tolist(),
            top_n,
            nms_iou,
        )
    model.train(was_training)
    return out


def _schedule(warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


@dataclass
class LocalizerTrainResult:
    """Outcome of :func:`train_localizer`.

    Attributes:
        best_epoch: 0-based epoch of the best val ``select_metric``.
        best_metrics: ``QVHighlightsMetrics.brief`` of that epoch (percent).
        best_dir: folder of the best model (``FrameLocalizer.from_pretrained``).
        epochs_run: epochs trained by this call (0 when resumed after the end).
        seconds: training wall time of this call (evaluation included).
    """

    best_epoch: int
    best_metrics: dict[str, float]
    best_dir: Path
    epochs_run: int
    seconds: float


@dataclass
class _RunState:
    """Loop position saved in ``last/state.pt``."""

    epoch: int = 0  # next epoch to train
    step: int = 0
    best_value: float = -math.inf
    best_epoch: int = -1
    best_metrics: dict[str, float] | None = None


def _save_last(out: Path, model: FrameLocalizer, optimizer, scheduler, state: _RunState) -> None:
    def write(tmp: Path) -> None:
        model.save_pretrained(tmp / "model")
        torch.save(
            {
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "run": state.__dict__,
            },
            tmp / STATE_FILE,
        )

    write_dir_atomic(out / "last", write)


def _resume(out: Path, model: FrameLocalizer, optimizer, scheduler) -> _RunState:
    for name in ("last", "last.old"):
        path = out / name
        if (path / STATE_FILE).is_file() and (path / "model").is_dir():
            model.load_state_dict(FrameLocalizer.from_pretrained(path / "model").state_dict())
            saved = torch.load(path / STATE_FILE, weights_only=False)
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            torch.set_rng_state(saved["torch_rng"])
            return _RunState(**saved["run"])
    return _RunState()


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def _append(path: Path, record: dict) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, allow_nan=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def build_localizer(
    settings: LocalizerTrainSettings, data: LocalizerData, vocab_size: int
) -> FrameLocalizer:
    """A fresh :class:`FrameLocalizer` sized for ``data`` (seeded with ``settings.seed``)."""
    m = settings.model
    torch.manual_seed(settings.seed)
    config = LocalizerConfig(
        frame_dim=data.frames.shape[-1],
        sg_dim=None if data.sg_tokens is None else data.sg_tokens.shape[-1],
        vocab_size=vocab_size,
        hidden_size=m.hidden_size,
        num_heads=m.num_heads,
        num_layers=m.num_layers,
        temporal_layers=m.temporal_layers,
        max_frames=max(64, data.frames.shape[1]),
        max_text_len=m.max_text_len,
        max_sg_tokens=8 if data.sg_tokens is None else max(1, data.sg_tokens.shape[2]),
        attention_mask=m.attention_mask,
        dropout=m.dropout,
    )
    return FrameLocalizer(config)


def _train_epoch(
    model: FrameLocalizer, data: LocalizerData, settings: LocalizerTrainSettings,
    optimizer, scheduler, epoch: int, clip_length: float,
) -> tuple[dict[str, float], int]:  # fmt: skip
    """One pass over ``data``; returns the mean loss terms and the steps done."""
    model.train()
    gen = torch.Generator().manual_seed(settings.seed * 1000 + epoch)
    sums: dict[str, float] = {}
    steps = 0
    for index in iterate_batches(len(data.samples), settings.batch_size, gen):
        if len(index) < 2:
            continue
        batch = make_batch(data, index)
        targets = moment_targets(batch.intervals, batch.times, batch.frame_mask, clip_length)
        loss = localizer_loss(batch.forward(model), targets, batch.video_index, settings.loss)
        optimizer.zero_grad(set_to_none=True)
        loss.total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        steps += 1
        for name, value in loss.as_floats().items():
            sums[name] = sums.get(name, 0.0) + value
    return {k: v / max(1, steps) for k, v in sums.items()}, steps


def _subset(samples: list[QASample], limit: int | None, seed: int) -> list[QASample]:
    if limit is None or limit >= len(samples):
        return samples
    keep = np.random.default_rng(seed).choice(len(samples), size=limit, replace=False)
    return [samples[i] for i in sorted(keep)]


def load_split_data(
    settings: LocalizerTrainSettings,
    split: str,
    tokenizer: PreTrainedTokenizerBase,
    features: FeatureSource,
    scene_graphs: SceneGraphSource | None,
) -> LocalizerData:
    """:class:`LocalizerData` of one split of ``settings.benchmark`` (synthetic loader)."""
    from videoqa.data import load_dataset

    bench = load_dataset("synthetic", settings.benchmark, split=split)
    durations = {vid: e.duration for vid, e in bench.videos.entries.items()}
    samples = [s for s in bench.samples if s.interval is not None]
    if split == settings.train_split:
        samples = _subset(samples, settings.max_train_questions, settings.seed)
    return build_localizer_data(
        samples, durations, features, tokenizer, settings.model.max_text_len, scene_graphs
    )


def _load_splits(
    settings: LocalizerTrainSettings,
    tokenizer: PreTrainedTokenizerBase,
    features: FeatureSource | None,
    scene_graphs: SceneGraphSource | None,
) -> tuple[LocalizerData, LocalizerData]:
    """Train and val :class:`LocalizerData`, opening the stores named in ``settings``
    where no source is given."""
    if features is None:
        from videoqa.features.store import FeatureStore

        features = FeatureStore(settings.features)
    if scene_graphs is None and settings.scene_graphs is not None:
        from videoqa.perception.scene_graph.store import SceneGraphStore

        scene_graphs = SceneGraphStore(settings.scene_graphs)
    train = load_split_data(settings, settings.train_split, tokenizer, features, scene_graphs)
    val = load_split_data(settings, settings.val_split, tokenizer, features, scene_graphs)
    return train, val


def _evaluate_keep_best(
    model: FrameLocalizer, val: LocalizerData, settings: LocalizerTrainSettings,
    clip_length: float, state: _RunState, epoch: int,
) -> dict[str, float]:  # fmt: skip
    """Score ``val``; save ``best/`` when ``select_metric`` improved. Returns the brief."""
    preds = predict_localizer(model, val, top_n=settings.top_n, nms_iou=settings.nms_iou)
    brief = score_localizer(preds, val.samples, clip_length).brief
    if settings.select_metric not in brief:
        raise UsageError(f"select_metric {settings.select_metric!r} not among {sorted(brief)}")
    value = brief[settings.select_metric]
    if value > state.best_value:
        state.best_value, state.best_epoch, state.best_metrics = value, epoch, brief
        write_dir_atomic(Path(settings.output_dir) / "best", model.save_pretrained)
    return brief


def train_localizer(
    settings: LocalizerTrainSettings,
    tokenizer: PreTrainedTokenizerBase,
    *,
    features: FeatureSource | None = None,
    scene_graphs: SceneGraphSource | None = None,
    resume: bool = False,
) -> LocalizerTrainResult:
    """Pretrain a :class:`FrameLocalizer` (SGVLM stage 2) and keep the best val epoch.

    Args:
        settings: :class:`LocalizerTrainSettings`.
        tokenizer: the LLM tokenizer whose ids the localizer embeds.
        features: frame feature source; default ``FeatureStore(settings.features)``.
        scene_graphs: scene-graph source; default ``SceneGraphStore(settings.scene_graphs)``
            when that is set, else none (NoSG).
        resume: continue from ``output_dir/last`` (a fresh run when there is none).

    Returns:
        :class:`LocalizerTrainResult`.

    Raises:
        UsageError: ``output_dir`` holds a run and ``resume`` is False.
        DataFormatError: unreadable data (see :func:`build_localizer_data`).
    """
    out = Path(settings.output_dir)
    if not resume and (out / METRICS_FILE).exists():
        raise UsageError(f"{out} already holds a run: pass resume=True or another folder")
    train, val = _load_splits(settings, tokenizer, features, scene_graphs)
    clip_length = settings.clip_length or clip_length_of(train)
    model = build_localizer(settings, train, len(tokenizer))
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    steps_per_epoch = math.ceil(len(train.samples) / settings.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _schedule(settings.warmup_steps, steps_per_epoch * settings.epochs)
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / SETTINGS_FILE).write_text(settings.model_dump_json(indent=2), encoding="utf-8")
    state = _resume(out, model, optimizer, scheduler) if resume else _RunState()
    keep_epochs(out / METRICS_FILE, state.epoch)
    began, first = time.perf_counter(), state.epoch
    for epoch in range(state.epoch, settings.epochs):
        tick = time.perf_counter()
        losses, steps = _train_epoch(
            model, train, settings, optimizer, scheduler, epoch, clip_length
        )
        train_seconds = time.perf_counter() - tick
        state.step += steps
        brief = _evaluate_keep_best(model, val, settings, clip_length, state, epoch)
        record = {"epoch": epoch, "step": state.step, "train_losses": losses,
                  "val": {k: _finite(v) for k, v in brief.items()},
                  "lr": scheduler.get_last_lr()[0], "train_seconds": round(train_seconds, 2)}  # fmt: skip
        _append(out / METRICS_FILE, record)
        state.epoch = epoch + 1
        _save_last(out, model, optimizer, scheduler, state)
    return LocalizerTrainResult(
        best_epoch=state.best_epoch,
        best_metrics=dict(state.best_metrics or {}),
        best_dir=out / "best",
        epochs_run=settings.epochs - first,
        seconds=time.perf_counter() - began,
    )
