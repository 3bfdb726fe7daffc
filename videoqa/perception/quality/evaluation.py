"""Measuring the quality model: video-level distortion accuracy and SRCC of the score
with the distortion level (:func:`evaluate`), and leave-one-source-out
cross-validation (:func:`cross_validate`) — the numbers the shipped model reports.

Training is not done here: :func:`cross_validate` takes the function that fits a model
on the other sources (the ``quality`` recipe passes one that runs the shared training
loop per fold).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from pydantic import BaseModel

from videoqa.perception.quality.dataset import LabeledVideo, TrainingSet
from videoqa.perception.quality.distort import DISTORTION_KINDS, DistortionKind
from videoqa.perception.quality.model import CLASS_NAMES, QualityModel

__all__ = [
    "CrossValidation",
    "EvalMetrics",
    "FitFold",
    "TrainingReport",
    "cross_validate",
    "evaluate",
    "ladder_values",
    "video_metrics",
]

#: ``fit(held_out_source, train)``: a model fitted on ``train`` (the units of the other
#: sources, :meth:`TrainingSet.select`), for the fold that holds ``held_out_source`` out.
FitFold = Callable[[str, TrainingSet], QualityModel]


class EvalMetrics(BaseModel):
    """Video-level metrics of a model on labeled videos (see :func:`evaluate`).

    Attributes:
        videos: number of videos.
        accuracy: distortion-kind accuracy (10 classes), all levels.
        accuracy_level_ge2: the same without the level-1 (barely visible) videos.
        srcc_level: Spearman correlation of the score with the level (pristine = 0),
            sign flipped so that 1 is perfect, over all videos.
        srcc_level_within_kind: its mean over the kinds (each kind's videos together
            with the pristine ones).
        clean_videos: pristine videos.
        clean_recognized: pristine videos classified ``none``.
        false_clean_level_ge2: distorted videos of levels 2-5 classified ``none``.
        confusion: ``{true kind: {predicted kind: count}}``.
        ladder_srcc: per distortion ladder (one clip, one kind, one codec: its pristine
            version and levels 1-5), ``SRCC(overall score, level)`` in the plain sign
            (-1 = the score falls with every level), keyed ``clip/kind[/codec]``.
        pairs, pairs_correct: (pristine, distorted version of the same clip) pairs,
            two-way combinations included, and how many score the pristine one higher.
        typed_videos, typed_correct: single-distortion videos of levels 2-5 and how
            many get their kind right.
        combo_videos, combo_correct: two-way combinations and how many are classified
            as one of their two kinds.
    """

    videos: int
    accuracy: float
    accuracy_level_ge2: float
    srcc_level: float
    srcc_level_within_kind: float
    clean_videos: int = 0
    clean_recognized: int = 0
    false_clean_level_ge2: int = 0
    confusion: dict[str, dict[str, int]]
    ladder_srcc: dict[str, float] = {}
    pairs: int = 0
    pairs_correct: int = 0
    typed_videos: int = 0
    typed_correct: int = 0
    combo_videos: int = 0
    combo_correct: int = 0


class CrossValidation(BaseModel):
    """Leave-one-source-out results: per held-out source, and pooled (weighted by
    videos; counts summed).

    ``variant_clean_videos`` / ``variant_clean_recognized`` count the held-out videos
    left out of the metrics (the extra pristine variants, see :func:`cross_validate`)
    and how many of them were classified ``none``.
    """

    folds: dict[str, EvalMetrics]
    accuracy: float
    accuracy_level_ge2: float
    srcc_level: float
    srcc_level_within_kind: float
    clean_videos: int = 0
    clean_recognized: int = 0
    false_clean_level_ge2: int = 0
    variant_clean_videos: int = 0
    variant_clean_recognized: int = 0
    ladder_srcc_mean: float | None = None
    ladder_srcc_worst: float | None = None
    ladders: int = 0
    ladders_above_target: int = 0
    pairs: int = 0
    pairs_correct: int = 0
    typed_videos: int = 0
    typed_correct: int = 0
    combo_videos: int = 0
    combo_correct: int = 0


LADDER_TARGET = -0.7
"""Every ladder's SRCC should be at most this (issue 18); ``ladders_above_target``
counts those that are not."""


class TrainingReport(BaseModel):
    """What the ``quality`` recipe measured; stored in the model's ``config.json``
    (``report``) and in ``training_report.json`` beside it.

    Attributes:
        videos, units: training videos and per-second units.
        pristine_variants: how many of the videos are extra pristine variants.
        sources: the source videos.
        config: the hyper-parameters (the keys of the reports before the recipe:
            hidden, epochs, lr, weight_decay, l2, dropout, score_weight, none_weight, seed).
        cross_validation: held-out-source metrics (None when not run).
        carphone_pair: overall score of ``carphone_pristine`` and ``carphone_distorted``
            (empty when not measured).
        seconds_per_video_second: analysis compute seconds per second of video,
            measured on the carphone pair (None when not measured).
    """

    videos: int
    units: int
    pristine_variants: int = 0
    sources: list[str]
    config: dict[str, float | int]
    cross_validation: CrossValidation | None = None
    carphone_pair: dict[str, float] = {}
    seconds_per_video_second: float | None = None


def _spearman(a: np.ndarray, b: np.ndarray, min_count: int = 2) -> float:
    """Spearman's rank correlation (``scipy.stats.spearmanr``, the SRCC of
    :func:`~videoqa.metrics.quality.quality_correlations` without its logistic PLCC fit,
    which these metrics do not use); NaN with fewer than ``min_count`` values, a
    constant side or non-finite values."""
    from scipy.stats import spearmanr

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < min_count or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("nan")
    return float(spearmanr(a, b).statistic)


def video_metrics(
    labels: list[LabeledVideo], predicted: list[str] | None, scores: np.ndarray
) -> EvalMetrics:
    """Video-level metrics of predicted classes and overall scores.

    Args:
        labels: the ``V`` labeled videos.
        predicted: their predicted class names (``none`` or a kind), or None for a
            method that only scores (class metrics are then 0 / empty).
        scores: ``(V,)`` overall scores (higher = better).

    Returns:
        The :class:`EvalMetrics` (see its attributes for the definitions).
    """
    scores = np.asarray(scores, np.float64)
    pred = list(predicted) if predicted is not None else [""] * len(labels)
    correct = np.array([p == lab.kind.value for lab, p in zip(labels, pred, strict=True)])
    strong = np.array([lab.level != 1 for lab in labels])
    levels = np.array([lab.level for lab in labels])
    said_clean = np.array([p == DistortionKind.NONE.value for p in pred])
    single = np.array([lab.kind2 is DistortionKind.NONE for lab in labels])
    confusion: dict[str, dict[str, int]] = {}
    if predicted is not None:
        for lab, p in zip(labels, pred, strict=True):
            cell = confusion.setdefault(lab.kind.value, {})
            cell[p] = cell.get(p, 0) + 1
    kinds = np.array([lab.kind.value for lab in labels])
    per_kind = []
    for kind in DISTORTION_KINDS:
        sel = ((kinds == kind.value) & single) | (kinds == DistortionKind.NONE.value)
        if len(set(levels[sel])) > 1:
            per_kind.append(_spearman(scores[sel], -levels[sel]))
    # per-clip ladders and pristine-above-distorted pairs
    ladders: dict[str, float] = {}
    pairs = pairs_correct = 0
    by_clip: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by_clip.setdefault(lab.clip, []).append(i)
    for clip, rows in by_clip.items():
        clean = [i for i in rows if labels[i].level == 0]
        if not clean:
            continue
        ref = float(np.mean(scores[clean]))
        steps: dict[str, list[int]] = {}
        for i in rows:
            lab = labels[i]
            if lab.level == 0:
                continue
            pairs += 1
            pairs_correct += int(ref > scores[i])
            if lab.kind2 is DistortionKind.NONE:
                key = f"{clip}/{lab.kind.value}" + (
                    "" if lab.codec == "libx264" else f"/{lab.codec}"
                )
                steps.setdefault(key, []).append(i)
        for key, rows_k in steps.items():
            lv = [0] + [labels[i].level for i in rows_k]
            sc = [ref] + [float(scores[i]) for i in rows_k]
            if len(set(lv)) > 2:
                ladders[key] = _spearman(np.asarray(sc), np.asarray(lv, np.float64))
    typed = single & (levels >= 2)
    combo = ~single
    combo_ok = [
        p in (lab.kind.value, lab.kind2.value)
        for lab, p, c in zip(labels, pred, combo, strict=True) if c
    ]  # fmt: skip
    return EvalMetrics(
        videos=len(labels),
        accuracy=float(correct.mean()) if predicted is not None else 0.0,
        accuracy_level_ge2=float(correct[strong].mean()) if predicted is not None else 0.0,
        srcc_level=_spearman(scores, -levels, min_count=4),
        srcc_level_within_kind=float(np.mean(per_kind)) if per_kind else float("nan"),
        clean_videos=int((levels == 0).sum()),
        clean_recognized=int(said_clean[levels == 0].sum()),
        false_clean_level_ge2=int(said_clean[levels >= 2].sum()),
        confusion=confusion,
        ladder_srcc=ladders,
        pairs=pairs,
        pairs_correct=pairs_correct,
        typed_videos=int(typed.sum()),
        typed_correct=int(correct[typed].sum()),
        combo_videos=int(combo.sum()),
        combo_correct=int(sum(combo_ok)),
    )


def ladder_values(metrics: Iterable[EvalMetrics]) -> list[float]:
    """Every ladder SRCC (:attr:`EvalMetrics.ladder_srcc`) of ``metrics``, in order; an
    undefined one (the score did not move along the ladder) counts as 0."""
    return [x if np.isfinite(x) else 0.0 for m in metrics for x in m.ladder_srcc.values()]


def evaluate(model: QualityModel, data: TrainingSet, mask: np.ndarray) -> EvalMetrics:
    """Video-level metrics of ``model`` on the units selected by ``mask``.

    A video's class is the argmax of its mean unit probabilities and its score the mean
    of its unit overall scores (:func:`video_metrics`).

    Returns:
        The :class:`EvalMetrics`.
    """
    pred = model.predict(data.features[mask])
    vids = data.video[mask]
    labels, classes, scores = [], [], []
    for v in np.unique(vids):
        sel = vids == v
        labels.append(data.videos[v])
        classes.append(CLASS_NAMES[int(np.argmax(pred.probabilities[sel].mean(axis=0)))])
        scores.append(float(pred.scores[sel, 0].mean()))
    return video_metrics(labels, classes, np.asarray(scores))


def cross_validate(
    data: TrainingSet, fit: FitFold, *, scored: np.ndarray | None = None
) -> CrossValidation:
    """Leave-one-source-out evaluation: train on the other sources, test on each one.

    Args:
        data: the training set.
        fit: fits the model of one fold (:data:`FitFold`), called once per held-out
            source in sorted order.
        scored: ``(V,)`` bool over ``data.videos``: the held-out videos the metrics are
            computed on (default all). The others (e.g. the extra pristine variants) are
            still used for training and only counted in ``variant_clean_*``; a source
            with no scored video is never held out (it is always trained on).

    Returns:
        The :class:`CrossValidation` (metrics as in :func:`evaluate`).
    """
    sources = data.sources()
    in_metrics = np.ones(len(data.videos), bool) if scored is None else np.asarray(scored)
    unit_scored = in_metrics[data.video]
    folds, variant_clean, variant_recognized = {}, 0, 0
    for held in sorted(set(sources[unit_scored])):
        train = sources != held
        model = fit(str(held), data.select(train))
        folds[held] = evaluate(model, data, ~train & unit_scored)
        if (~train & ~unit_scored).any():
            extra = evaluate(model, data, ~train & ~unit_scored)
            variant_clean += extra.clean_videos
            variant_recognized += extra.clean_recognized
    total = sum(f.videos for f in folds.values())

    def pooled(key: str) -> float:
        return float(sum(getattr(f, key) * f.videos for f in folds.values()) / total)

    def summed(key: str) -> int:
        return int(sum(getattr(f, key) for f in folds.values()))

    ladders = ladder_values(folds.values())
    return CrossValidation(
        ladder_srcc_mean=float(np.mean(ladders)) if ladders else None,
        ladder_srcc_worst=float(np.max(ladders)) if ladders else None,
        ladders=len(ladders),
        ladders_above_target=int(sum(x > LADDER_TARGET for x in ladders)),
        pairs=summed("pairs"),
        pairs_correct=summed("pairs_correct"),
        typed_videos=summed("typed_videos"),
        typed_correct=summed("typed_correct"),
        combo_videos=summed("combo_videos"),
        combo_correct=summed("combo_correct"),
        folds=folds,
        accuracy=pooled("accuracy"),
        accuracy_level_ge2=pooled("accuracy_level_ge2"),
        srcc_level=pooled("srcc_level"),
        srcc_level_within_kind=pooled("srcc_level_within_kind"),
        clean_videos=summed("clean_videos"),
        clean_recognized=summed("clean_recognized"),
        false_clean_level_ge2=summed("false_clean_level_ge2"),
        variant_clean_videos=variant_clean,
        variant_clean_recognized=variant_recognized,
    )
