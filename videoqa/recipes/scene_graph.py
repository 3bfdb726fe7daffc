"""The ``sg-predictor`` recipe: SGVLM stage 1, the Neural-Motifs-style scene-graph
predictor trained on frames with ground-truth frame scene graphs.

SGVLM (Dai et al., "Towards Fine-Grained Video Question Answering", 2025, §3.2)
pretrains its scene-graph predictor on annotated frame graphs and freezes it. Frames are
decoded once per run (``data.frames_per_video`` per train video, a random frame of each
segment; ``data.val_frames_per_video`` segment centres per val video); every step is
the CenterNet + attribute + relation loss of
:func:`~videoqa.perception.scene_graph.losses.scene_graph_losses`; every epoch is
scored with SGCls/SGDet (:func:`~videoqa.perception.scene_graph.evaluation.evaluate_scene_graphs`)
and the epoch with the best ``val_score`` is kept.

The predictor's label space (attributes and predicates,
:class:`~videoqa.perception.scene_graph.config.SceneGraphLabels`) comes from the data:
``data.label_space`` (a JSON file) or the benchmark's ``scene_graph_labels.json``
(``videoqa data synth`` writes it), and, for a synthetic benchmark written before that file,
the vocabularies of :mod:`videoqa.synth`. It is saved in the checkpoint's ``config.json``
(``label_space``).

``checkpoints/best`` is the predictor itself (``config.json`` + ``model.safetensors``),
what ``videoqa extract scene-graphs --predictor`` and ``SceneGraphPredictor.from_pretrained`` read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import Tensor, nn

from videoqa.errors import DataFormatError
from videoqa.perception.scene_graph.config import (
    SceneGraphConfig,
    SceneGraphLabels,
    SceneGraphModelOptions,
)
from videoqa.perception.scene_graph.data import FrameSet, load_frame_set
from videoqa.perception.scene_graph.evaluation import evaluate_scene_graphs
from videoqa.perception.scene_graph.losses import SceneGraphLossWeights, scene_graph_losses
from videoqa.perception.scene_graph.motifs import SceneGraphPredictor
from videoqa.training.config import OptimConfig, RunConfig, SchedulerConfig
from videoqa.training.recipe import EpochStats, Recipe, RecipeSetup, StepOutput, register_recipe

__all__ = [
    "SceneGraphDataConfig",
    "SceneGraphOptions",
    "SceneGraphRecipe",
    "SceneGraphRunConfig",
    "resolve_label_space",
]


class SceneGraphDataConfig(BaseModel):
    """Where the frames and their ground-truth scene graphs are.

    Attributes:
        benchmark_dir: folder with ``videos/<id>.mp4`` and ``scene_graphs/<id>.json``
            (:mod:`videoqa.perception.scene_graph.data`; a ``videoqa synth`` output).
        label_space: JSON file of the label space (:class:`SceneGraphLabels`); None =
            ``benchmark_dir/scene_graph_labels.json`` (see :func:`resolve_label_space`).
        train_split, val_split: split names (scene-graph files ``<split>_*.json``).
        test_splits: splits also scored at the end (``results.json``).
        frames_per_video: training frames decoded per video (a random frame of each
            segment, drawn once per run from ``seed``: frames are decoded once).
        val_frames_per_video: validation/test frames per video (segment centres).
        max_train_videos, max_val_videos: cap the videos used (None: all).
    """

    model_config = ConfigDict(extra="forbid")

    benchmark_dir: Path
    label_space: Path | None = None
    train_split: str = "train"
    val_split: str = "val"
    test_splits: list[str] = Field(default_factory=list)
    frames_per_video: int = Field(8, ge=1)
    val_frames_per_video: int = Field(4, ge=1)
    max_train_videos: int | None = Field(None, ge=1)
    max_val_videos: int | None = Field(None, ge=1)


class SceneGraphOptions(SceneGraphLossWeights):
    """Options under ``sg-predictor:``: the loss weights and box jitter of
    :class:`~videoqa.perception.scene_graph.losses.SceneGraphLossWeights`, and

    Attributes:
        threads: ``torch.set_num_threads`` for the run (None: unchanged; restored after
            the test).
    """

    threads: int | None = Field(None, ge=1)


def _optim() -> OptimConfig:
    return OptimConfig(lr=2e-3, weight_decay=1e-4, grad_clip=5.0)


def _scheduler() -> SchedulerConfig:
    return SchedulerConfig(warmup_ratio=0.03, min_lr_ratio=0.05)


class SceneGraphRunConfig(RunConfig):
    """``sg-predictor`` recipe config.

    Attributes:
        data: :class:`SceneGraphDataConfig`.
        model: the predictor's hyper-parameters (:class:`SceneGraphModelOptions`; the
            label space is filled from the data).
        sg_predictor: YAML key ``sg-predictor``, :class:`SceneGraphOptions`.

    Defaults when a section is absent (the shipped YAML states them all): 4 epochs of
    32 frames per step, AdamW lr 2e-3, weight decay 1e-4, gradient clip 5, 3 % linear
    warm-up then cosine to 5 % of lr.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    data: SceneGraphDataConfig
    model: SceneGraphModelOptions = Field(default_factory=SceneGraphModelOptions)
    sg_predictor: SceneGraphOptions = Field(default_factory=SceneGraphOptions, alias="sg-predictor")
    epochs: int = Field(4, ge=1)
    batch_size: int = Field(32, ge=1)
    eval_batch_size: int = Field(64, ge=1)
    output_dir: Path = Path("runs/sg_predictor")
    optim: OptimConfig = Field(default_factory=_optim)
    scheduler: SchedulerConfig = Field(default_factory=_scheduler)

    def to_yaml(self) -> str:
        """The config as YAML text, options under ``sg-predictor`` (round-trips)."""
        return yaml.safe_dump(self.model_dump(mode="json", by_alias=True), sort_keys=False)


def resolve_label_space(data: SceneGraphDataConfig) -> SceneGraphLabels:
    """The label space of the run's data: ``data.label_space`` when set, else the
    benchmark's ``scene_graph_labels.json``, else (a ``videoqa synth`` folder written
    before that file: ``meta.json`` says ``"generator": "videoqa.synth"``) the
    vocabularies of :mod:`videoqa.synth`.

    Raises:
        DataFormatError: the file is missing (when named) or invalid, or no label space
            can be found.
    """
    from videoqa.synth.scene_graph import LABELS_FILE, label_space

    bench = Path(data.benchmark_dir)
    path = Path(data.label_space) if data.label_space is not None else bench / LABELS_FILE
    if path.is_file():
        try:
            return SceneGraphLabels.model_validate_json(path.read_text(encoding="utf-8"))
        except ValidationError as err:
            raise DataFormatError(f"{path}: not a scene-graph label space ({err})") from None
    if data.label_space is not None:
        raise DataFormatError(f"label space file not found: {path}")
    try:
        meta = json.loads((bench / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    if isinstance(meta, dict) and meta.get("generator") == "videoqa.synth":
        return SceneGraphLabels.model_validate(label_space())
    raise DataFormatError(
        f"no scene-graph label space for {bench}: write {LABELS_FILE} there or set "
        "data.label_space (a JSON file with attributes and predicates)"
    )


@register_recipe
class SceneGraphRecipe(Recipe):
    """SGVLM stage 1: the scene-graph predictor on frame scene graphs.

    Options under ``sg-predictor:`` (:class:`SceneGraphOptions`); monitor
    ``val_score`` (mean of SGCls object accuracy, detection F1 and SGCls R@20).

    Args:
        config: the run's :class:`SceneGraphRunConfig`.
        frames: ``(train, val)`` frame sets to use instead of decoding
            ``data.benchmark_dir`` (tests); their labels must be indexed in ``labels``.
        labels: the label space of ``frames`` (default: :func:`resolve_label_space`).
    """

    name = "sg-predictor"
    config_class: ClassVar[type[RunConfig]] = SceneGraphRunConfig
    monitor: ClassVar[str] = "val_score"

    def __init__(
        self,
        config: SceneGraphRunConfig,
        *,
        frames: tuple[FrameSet, FrameSet] | None = None,
        labels: SceneGraphLabels | None = None,
    ) -> None:
        super().__init__(config)
        self._frames = frames
        self._labels = labels
        self._threads: int | None = None

    @property
    def predictor_config(self) -> SceneGraphConfig:
        """The predictor's config: ``model`` + the data's label space."""
        if self._labels is None:
            self._labels = resolve_label_space(self.config.data)
        return SceneGraphConfig(**self.config.model.model_dump(), label_space=self._labels)

    def _load(self, splits: list[str], per_video: int, seed: int | None, limit: int | None):
        cfg = self.config
        return load_frame_set(
            Path(cfg.data.benchmark_dir),
            splits,
            per_video,
            self.predictor_config.label_space,
            seed=seed,
            max_videos=limit,
            slots=cfg.model.max_objects,
        )

    @property
    def frames(self) -> tuple[FrameSet, FrameSet]:
        """``(train, val)`` frame sets (decoded on first use)."""
        if self._frames is None:
            cfg = self.config
            data = cfg.data
            train = self._load(
                [data.train_split], data.frames_per_video, cfg.seed, data.max_train_videos
            )
            val = self._load([data.val_split], data.val_frames_per_video, None, data.max_val_videos)
            self._frames = (train, val)
        return self._frames

    def setup(self, accelerator: Any) -> RecipeSetup:
        threads = self.config.sg_predictor.threads
        if threads is not None and self._threads is None:
            self._threads = torch.get_num_threads()
            torch.set_num_threads(threads)
        config = self.predictor_config
        train, _ = self.frames
        model = SceneGraphPredictor(config)  # after the loop's set_seed: same init per seed

        def collate(index: list[int]) -> tuple[Tensor, ...]:
            return train.batch(np.sort(np.asarray(index, np.int64)))

        return RecipeSetup(model=model, train_dataset=range(len(train)), collate_fn=collate)

    def training_step(
        self, model: nn.Module, batch: Any, backward: Callable[[Tensor], None]
    ) -> StepOutput:
        parts = scene_graph_losses(model, batch, self.config.sg_predictor)  # type: ignore[arg-type]
        backward(parts["total"])
        losses = {"loss": float(parts["total"].detach())}
        losses.update({k: float(v.detach()) for k, v in parts.items() if k != "total"})
        return StepOutput(losses=losses, size=int(batch[0].shape[0]))

    def evaluate(self, model: nn.Module, stats: EpochStats) -> dict[str, Any]:
        metrics = evaluate_scene_graphs(model, self.frames[1], self.config.eval_batch_size)  # type: ignore[arg-type]
        return {"val_score": metrics.score, "val": metrics.model_dump(mode="json")}

    def test(self, model: nn.Module, output_dir: Path, is_main_process: bool) -> dict[str, Any]:
        """The best epoch's metrics on ``val`` and on every ``data.test_splits`` split,
        with the frame counts."""
        try:
            cfg = self.config
            train, val = self.frames
            out: dict[str, Any] = {"train_frames": len(train), "val_frames": len(val)}
            batch = cfg.eval_batch_size
            out["val"] = evaluate_scene_graphs(model, val, batch).model_dump(mode="json")  # type: ignore[arg-type]
            for split in cfg.data.test_splits:
                frames = self._load([split], cfg.data.val_frames_per_video, None, None)
                metrics = evaluate_scene_graphs(model, frames, batch)  # type: ignore[arg-type]
                out[split] = metrics.model_dump(mode="json")
            return out
        finally:
            if self._threads is not None:
                torch.set_num_threads(self._threads)
                self._threads = None
