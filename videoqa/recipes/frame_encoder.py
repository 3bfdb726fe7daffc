"""The ``frame-encoder`` recipe: the small CNN frame encoder trained from scratch on the
synthetic benchmark's frames, supervised by their ground-truth scene graphs.

A few frames of every ``train`` and ``val`` video are drawn with the seed and decoded
(:func:`videoqa.synth.frame_targets.load_split_frames`); their targets (attribute
presence, object count, per-value centroids, per-cell occupancy) come from the scene
graphs; the encoder and linear probe heads are trained together
(:mod:`videoqa.encoders.cnn_probes`), and the epoch with the lowest val loss is kept.

``checkpoints/best`` is a :class:`~videoqa.encoders.cnn.CNNFrameEncoder` folder
(``config.json`` + ``model.safetensors``) for ``videoqa extract features --encoder cnn:DIR``,
with the probe heads in ``probes/`` and the run's ``config.yaml`` beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from videoqa.encoders.cnn import CNNConfig
from videoqa.encoders.cnn_probes import (
    CNNWithProbes,
    FrameProbeDataset,
    FrameTargets,
    ProbeLossWeights,
    chance_predictions,
    evaluate_probes,
    probe_loss,
    probe_metrics,
)
from videoqa.training.config import CheckpointConfig, OptimConfig, RunConfig, SchedulerConfig
from videoqa.training.recipe import EpochStats, Recipe, RecipeSetup, StepOutput, register_recipe

PROBES_DIR = "probes"


class FrameEncoderData(BaseModel):
    """Which frames train the encoder.

    Attributes:
        benchmark_dir: a ``videoqa synth`` folder with videos and scene graphs.
        train_split, val_split: split names (scene graphs ``<split>_*.json``).
        frames_per_video: frames drawn per video (train and val).
        max_videos: at most this many videos per split (None: all).
    """

    model_config = ConfigDict(extra="forbid")

    benchmark_dir: Path
    train_split: str = "train"
    val_split: str = "val"
    frames_per_video: int = Field(4, ge=1)
    max_videos: int | None = Field(None, ge=1)


class FrameEncoderOptions(BaseModel):
    """Options of the ``frame-encoder`` recipe (the probe loss).

    Attributes:
        max_count: count classes are ``0..max_count`` (larger counts clipped).
        occupancy_pos_weight: BCE weight of a positive occupancy cell.
        centroid_weight: weight of the masked centroid L1.
    """

    model_config = ConfigDict(extra="forbid")

    max_count: int = Field(10, ge=1)
    occupancy_pos_weight: float = Field(10.0, gt=0)
    centroid_weight: float = Field(5.0, ge=0)


class FrameEncoderOptim(OptimConfig):
    """AdamW of the encoder: lr 3e-3, weight decay 1e-4, no gradient clipping."""

    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    grad_clip: float = Field(0.0, ge=0)


class FrameEncoderScheduler(SchedulerConfig):
    """30 % linear warm-up, then cosine to ``4e-6 · lr`` (the nearest the shared
    schedule comes to OneCycle's defaults: ``pct_start`` 0.3, final lr
    ``lr / (25 · 1e4)``)."""

    warmup_ratio: float = Field(0.3, ge=0, lt=1)
    min_lr_ratio: float = Field(4e-6, ge=0, le=1)


class FrameEncoderCheckpoint(CheckpointConfig):
    """The best epoch is the one with the lowest ``val_loss``."""

    mode: Literal["max", "min"] = "min"


class FrameEncoderConfig(RunConfig):
    """``frame-encoder`` recipe config (defaults: 6 epochs over 4 frames of each video,
    batch 64, AdamW lr 3e-3 with 30 % warm-up and cosine decay)."""

    model_config = ConfigDict(
        extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    data: FrameEncoderData
    model: CNNConfig = Field(default_factory=CNNConfig)
    frame_encoder: FrameEncoderOptions = Field(
        default_factory=FrameEncoderOptions, alias="frame-encoder"
    )
    epochs: int = Field(6, ge=1)
    eval_batch_size: int = Field(64, ge=1)
    output_dir: Path = Path("runs/frame_encoder")
    optim: FrameEncoderOptim = Field(default_factory=FrameEncoderOptim)
    scheduler: FrameEncoderScheduler = Field(default_factory=FrameEncoderScheduler)
    checkpoint: FrameEncoderCheckpoint = Field(default_factory=FrameEncoderCheckpoint)


@dataclass
class FrameEncoderFrames:
    """Decoded frames and targets of one run.

    Attributes:
        train_frames, val_frames: ``(N, S, S, 3)`` uint8.
        train_targets, val_targets: their targets.
        width: frame width in pixels of the source videos (centroid errors in pixels).
        groups: attribute → label columns; num_labels: ``V``.
    """

    train_frames: np.ndarray
    train_targets: FrameTargets
    val_frames: np.ndarray
    val_targets: FrameTargets
    width: float
    groups: dict[str, list[int]]

    @property
    def num_labels(self) -> int:
        """``V``."""
        return int(self.train_targets.presence.shape[1])


def load_frame_data(config: FrameEncoderConfig) -> FrameEncoderFrames:
    """Draw and decode the train, then the val frames (``numpy`` generator seeded with
    ``config.seed``) with their scene-graph targets.

    Raises:
        UsageError: no scene graphs of a split. VideoError: a video cannot be decoded.
        DataFormatError: a malformed scene graph.
    """
    from videoqa.synth.frame_targets import ATTRIBUTE_GROUPS, frame_width, load_split_frames

    cfg = config.data
    rng = np.random.default_rng(config.seed)
    common = {
        "frames_per_video": cfg.frames_per_video,
        "image_size": config.model.image_size,
        "grid": config.model.grid,
        "rng": rng,
        "max_videos": cfg.max_videos,
        "max_count": config.frame_encoder.max_count,
    }
    train = load_split_frames(cfg.benchmark_dir, cfg.train_split, **common)
    val = load_split_frames(cfg.benchmark_dir, cfg.val_split, **common)
    width = frame_width(cfg.benchmark_dir, cfg.val_split)
    return FrameEncoderFrames(*train, *val, width, ATTRIBUTE_GROUPS)


@register_recipe
class FrameEncoderRecipe(Recipe):
    """The small CNN frame encoder, from scratch on the synthetic benchmark's frames.

    Options under ``frame-encoder:`` (:class:`FrameEncoderOptions`); the best epoch by
    ``val_loss`` is kept in ``checkpoints/best``, a CNN encoder folder for ``videoqa
    extract --encoder cnn:DIR``.
    """

    name = "frame-encoder"
    config_class = FrameEncoderConfig
    monitor = "val_loss"

    def __init__(self, config: FrameEncoderConfig, *, data: FrameEncoderFrames | None = None):
        super().__init__(config)
        self._data = data
        options = config.frame_encoder
        self.weights = ProbeLossWeights(options.occupancy_pos_weight, options.centroid_weight)
        self.train: FrameProbeDataset | None = None
        self.val: FrameProbeDataset | None = None

    @property
    def data(self) -> FrameEncoderFrames:
        """The run's frames (decoded on first use unless given)."""
        if self._data is None:
            self._data = load_frame_data(self.config)
        return self._data

    def setup(self, accelerator: Any) -> RecipeSetup:
        data = self.data
        model = CNNWithProbes.build(
            self.config.model, data.num_labels, self.config.frame_encoder.max_count
        )
        self.train = FrameProbeDataset(data.train_frames, data.train_targets, model.encoder)
        self.val = FrameProbeDataset(data.val_frames, data.val_targets, model.encoder)
        return RecipeSetup(model=model, train_dataset=self.train, collate_fn=self.train.collate)

    def training_step(
        self, model: nn.Module, batch: dict[str, Tensor], backward: Callable[[Tensor], None]
    ) -> StepOutput:
        loss = probe_loss(model(batch["pixels"]), batch, self.weights)
        backward(loss)
        return StepOutput(losses={"loss": float(loss.detach())}, size=len(batch["pixels"]))

    def _scores(self, model: nn.Module) -> tuple[float, dict[str, float]]:
        loss, pred = evaluate_probes(model, self.val, self.config.eval_batch_size, self.weights)
        return loss, probe_metrics(pred, self.data.val_targets, self.data.width, self.data.groups)

    def evaluate(self, model: nn.Module, stats: EpochStats) -> dict[str, Any]:
        loss, metrics = self._scores(model)
        return {"val_loss": loss, "val": metrics}

    def save_model(self, model: nn.Module, directory: Path) -> None:
        directory = Path(directory)
        model.encoder.save_pretrained(directory)  # type: ignore[union-attr]
        model.heads.save_pretrained(directory / PROBES_DIR)  # type: ignore[union-attr]
        (directory / "config.yaml").write_text(self.config.to_yaml(), encoding="utf-8")

    def restore_best(self, model: nn.Module, directory: Path) -> None:
        model.encoder.load_weights(Path(directory))  # type: ignore[union-attr]
        model.heads.load_weights(Path(directory) / PROBES_DIR)  # type: ignore[union-attr]

    def test(self, model: nn.Module, output_dir: Path, is_main_process: bool) -> dict[str, Any]:
        """Val loss and metrics of the best epoch, next to a constant predictor's."""
        data = self.data
        loss, metrics = self._scores(model)
        chance = chance_predictions(data.train_targets, data.val_targets)
        return {
            "train_frames": len(data.train_frames),
            "val_frames": len(data.val_frames),
            "val_loss": loss,
            "val": metrics,
            "chance": probe_metrics(chance, data.val_targets, data.width, data.groups),
        }
