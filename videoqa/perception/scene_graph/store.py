"""Per-video predicted scene graphs, aligned with a frame feature store.

Layout of a store folder ``DIR``::

    DIR/meta.json                 SceneGraphStoreMeta
    DIR/videos/<id>.npz           one video (percent-encoded id): the arrays of SceneGraphFrames
    DIR/videos/<id>.npz.tmp       being written (never read; deleted by the next writer)
    DIR/errors.jsonl              videos that could not be read ({"video_id", "reason"})

Each video's frames are those of the feature store it is aligned to (``like``): the same
``frame_indices`` and ``times``, so scene-graph tokens stack with the frame features.
Writes are atomic (``*.tmp`` then ``os.replace``) and resumable (ids already written are
skipped). Token layout: see :mod:`.config`; the label space (attribute values,
predicates) is recorded in ``meta.json`` and names the predicted indices.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import TracebackType
from urllib.parse import quote, unquote

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from videoqa.batch import ERRORS_FILE as BATCH_ERRORS
from videoqa.batch import ErrorLog, ItemFailure, resolve_timeout, run_item
from videoqa.errors import UsageError, VideoError
from videoqa.features.extract import VideoJob
from videoqa.features.store import (
    FeatureNotFoundError,
    FeatureStore,
    FeatureStoreError,
    StoreMismatchError,
    append_error,
)
from videoqa.perception.scene_graph.config import SceneGraphLabels
from videoqa.perception.scene_graph.motifs import SceneGraphPredictor
from videoqa.video.reader import VideoReader

__all__ = [
    "ExtractReport",
    "SceneGraphFrames",
    "SceneGraphStore",
    "SceneGraphStoreMeta",
    "SceneGraphWriter",
    "TripletEvidence",
    "extract_scene_graphs",
    "scene_graphs_for_frames",
]

META_FILE = "meta.json"
VIDEO_DIR = "videos"
ERRORS_FILE = "errors.jsonl"
#: predicate name of an object-only token (a frame with a single object).
OBJECT_ONLY = "exists"


@dataclass(frozen=True)
class TripletEvidence:
    """One predicted triplet as text: ``subject``/``object`` like "small red metal circle",
    ``predicate`` from the label space's predicates (``"exists"`` for an object-only token, whose object is
    the subject), ``score`` in [0, 1], ``time`` of the frame in seconds."""

    subject: str
    predicate: str
    object: str
    score: float
    time: float


@dataclass(frozen=True)
class SceneGraphFrames:
    """Predicted scene graphs of one video (``T`` frames, ``K`` tokens, ``R`` objects).

    Attributes:
        video_id: the video id.
        tokens: ``(T, K, D)`` float32 scene-graph tokens (top-K triplets per frame;
            ``D = labels.token_dim``, 53 on the synthetic benchmark).
        token_mask: ``(T, K)`` bool, True = real token.
        triplets: ``(T, K, 3)`` int64 ``[subject r, predicate p, object r]`` (-1 pads;
            ``[r, -1, r]`` is an object-only token).
        scores: ``(T, K)`` float32 triplet confidence in [0, 1].
        boxes: ``(T, R, 4)`` float32 normalised xyxy in [0, 1].
        object_labels: ``(T, R, n_attributes)`` int64 value index of each attribute of
            the label space, -1 pad.
        object_mask: ``(T, R)`` bool.
        times: ``(T,)`` float64 seconds.
        frame_indices: ``(T,)`` int64 source frame indices.
        labels: the label space naming the indices (needed by :meth:`describe` and
            :meth:`triplet_evidence`; not stored in the ``.npz``, the store's meta holds it).

    Raises:
        ValueError: inconsistent shapes.
    """

    video_id: str
    tokens: np.ndarray
    token_mask: np.ndarray
    triplets: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    object_labels: np.ndarray
    object_mask: np.ndarray
    times: np.ndarray
    frame_indices: np.ndarray
    labels: SceneGraphLabels | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        t, k = self.token_mask.shape
        r = self.object_mask.shape[1]
        dim, n_attr = self.tokens.shape[-1], self.object_labels.shape[-1]
        if self.labels is not None:
            dim, n_attr = self.labels.token_dim, len(self.labels.attributes)
        expected = {
            "tokens": (t, k, dim),
            "triplets": (t, k, 3),
            "scores": (t, k),
            "boxes": (t, r, 4),
            "object_labels": (t, r, n_attr),
            "times": (t,),
            "frame_indices": (t,),
        }
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(
                    f"{self.video_id}: {name} must be {shape}, got {getattr(self, name).shape}"
                )

    @property
    def num_frames(self) -> int:
        """``T``."""
        return int(self.token_mask.shape[0])

    def _labels(self) -> SceneGraphLabels:
        if self.labels is None:
            raise UsageError(f"{self.video_id}: scene graphs without a label space cannot be named")
        return self.labels

    def describe(self, t: int, r: int) -> str:
        """Words for object ``r`` of frame ``t``: its attribute values in the label
        space's ``phrase_order`` ("small red metal circle" on the synthetic benchmark).

        Raises:
            IndexError: ``r`` is not a real object of frame ``t``.
            UsageError: :attr:`labels` is not set.
        """
        labels = self._labels()
        if not self.object_mask[t, r]:
            raise IndexError(f"frame {t} has no object {r}")
        words = {
            name: labels.attributes[name][int(i)]
            for name, i in zip(labels.attribute_names, self.object_labels[t, r], strict=True)
        }
        return labels.phrase(words)

    def triplet_evidence(self, t: int, k: int | None = None) -> list[TripletEvidence]:
        """The real tokens of frame ``t`` as text, best score first (at most ``k``)."""
        rows = np.flatnonzero(self.token_mask[t])
        rows = rows[np.argsort(-self.scores[t, rows], kind="stable")][:k]
        out = []
        for row in rows:
            s, p, o = (int(v) for v in self.triplets[t, row])
            out.append(
                TripletEvidence(
                    subject=self.describe(t, s),
                    predicate=self._labels().predicates[p] if p >= 0 else OBJECT_ONLY,
                    object=self.describe(t, o),
                    score=float(self.scores[t, row]),
                    time=float(self.times[t]),
                )
            )
        return out


#: the arrays of a :class:`SceneGraphFrames` kept in a video's ``.npz`` file.
_ARRAYS: tuple[str, ...] = tuple(
    f.name for f in fields(SceneGraphFrames) if f.name not in ("video_id", "labels")
)


class SceneGraphStoreMeta(BaseModel):
    """What produced a scene-graph store.

    Attributes:
        token_dim: width of a token (53 on the synthetic benchmark). top_k: ``K``.
        max_objects: ``R``.
        predicates: predicate names (token and ``triplets`` order).
        attribute_values: attribute name -> values, in the order of ``object_labels``.
        phrase_order: attribute order of an object's description (empty = the order of
            ``attribute_values``); with ``predicates`` and ``attribute_values`` the
            predictor's label space (:attr:`label_space`).
        num_frames: frames per video of the aligned feature store (0 when variable).
        source: the predictor directory. like: the feature store the frames follow.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    token_dim: int
    top_k: int
    max_objects: int
    predicates: list[str]
    attribute_values: dict[str, list[str]]
    phrase_order: list[str] = Field(default_factory=list)
    num_frames: int
    source: str
    like: str

    @property
    def label_space(self) -> SceneGraphLabels:
        """The label space of the predictor that wrote the store."""
        return SceneGraphLabels(
            attributes={k: tuple(v) for k, v in self.attribute_values.items()},
            predicates=tuple(self.predicates),
            phrase_order=tuple(self.phrase_order),
        )


def _file_name(video_id: str) -> str:
    return quote(video_id, safe="") + ".npz"


def _read_meta(root: Path) -> SceneGraphStoreMeta | None:
    path = root / META_FILE
    if not path.is_file():
        return None
    try:
        return SceneGraphStoreMeta.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise FeatureStoreError(f"{path}: not a scene-graph store meta file ({err})") from err


class SceneGraphStore:
    """Read side of a scene-graph store.

    Args:
        path: the store folder.

    Attributes:
        meta: :class:`SceneGraphStoreMeta`.

    Raises:
        FeatureStoreError: no valid meta.json.
    """

    def __init__(self, path: str | Path) -> None:
        self.root = Path(path)
        meta = _read_meta(self.root)
        if meta is None:
            raise FeatureStoreError(f"not a scene-graph store (no {META_FILE}): {self.root}")
        self.meta = meta
        folder = self.root / VIDEO_DIR
        names = sorted(p.name for p in folder.glob("*.npz")) if folder.is_dir() else []
        self._ids = sorted(unquote(n.removesuffix(".npz")) for n in names)

    def ids(self) -> list[str]:
        """Sorted video ids in the store."""
        return list(self._ids)

    def __contains__(self, video_id: object) -> bool:
        return (
            isinstance(video_id, str) and (self.root / VIDEO_DIR / _file_name(video_id)).is_file()
        )

    def __len__(self) -> int:
        return len(self._ids)

    def get(self, video_id: str) -> SceneGraphFrames:
        """The scene graphs of one video.

        Raises:
            FeatureNotFoundError: unknown id. FeatureStoreError: a malformed file.
        """
        path = self.root / VIDEO_DIR / _file_name(video_id)
        if not path.is_file():
            raise FeatureNotFoundError(f"no scene graphs of video {video_id!r} in {self.root}")
        try:
            with np.load(path) as data:
                arrays = {name: data[name] for name in _ARRAYS}
            return SceneGraphFrames(video_id=video_id, labels=self.meta.label_space, **arrays)
        except (KeyError, ValueError, OSError) as err:
            raise FeatureStoreError(f"{path}: malformed scene graphs ({err})") from err


class SceneGraphWriter:
    """Write side: one ``.npz`` per video, atomic, resumable.

    Opening creates the folder, writes meta.json (or checks that an existing one agrees
    on everything but ``source`` and ``like``), deletes leftover ``*.tmp`` files and
    collects :attr:`done_ids`.

    Raises:
        StoreMismatchError: the folder holds a store of another layout.
    """

    def __init__(self, root: str | Path, meta: SceneGraphStoreMeta) -> None:
        self.root = Path(root)
        self.meta = meta
        self._videos = self.root / VIDEO_DIR
        self._videos.mkdir(parents=True, exist_ok=True)
        existing = _read_meta(self.root)
        if existing is None:
            tmp = self.root / f".{META_FILE}.tmp"
            tmp.write_text(meta.model_dump_json(indent=2), encoding="utf-8")
            os.replace(tmp, self.root / META_FILE)
        else:
            keep = {"source", "like"}
            if existing.model_dump(exclude=keep) != meta.model_dump(exclude=keep):
                raise StoreMismatchError(
                    f"{self.root} holds scene graphs of another layout; use another --out"
                )
        for leftover in self._videos.glob("*.tmp"):
            leftover.unlink()
        self.done_ids = frozenset(
            unquote(p.name.removesuffix(".npz")) for p in self._videos.glob("*.npz")
        )
        self.written: list[str] = []

    def __enter__(self) -> SceneGraphWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def add(self, frames: SceneGraphFrames) -> None:
        """Write one video (``*.tmp``, fsync, ``os.replace``).

        Raises:
            ValueError: shapes that disagree with :attr:`meta`, or an id already written.
        """
        k, r = frames.token_mask.shape[1], frames.object_mask.shape[1]
        if (k, r) != (self.meta.top_k, self.meta.max_objects):
            raise ValueError(
                f"{frames.video_id}: K={k}, R={r}; the store has K={self.meta.top_k}, R={self.meta.max_objects}"
            )
        if frames.video_id in self.done_ids or frames.video_id in self.written:
            raise ValueError(f"{frames.video_id} is already in the store")
        final = self._videos / _file_name(frames.video_id)
        tmp = final.with_name(final.name + ".tmp")
        with open(tmp, "wb") as handle:
            np.savez(
                handle,
                **{name: getattr(frames, name) for name in _ARRAYS},
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        self.written.append(frames.video_id)

    def add_error(self, video_id: str, reason: str) -> None:
        """Record a video that could not be processed in ``errors.jsonl``."""
        append_error(self.root, video_id, reason)


def scene_graphs_for_frames(
    predictor: SceneGraphPredictor,
    frames: torch.Tensor,
    times: np.ndarray,
    *,
    frame_indices: np.ndarray | None = None,
    video_id: str = "video",
    batch_size: int = 64,
) -> SceneGraphFrames:
    """Run the predictor (SGDet: detected boxes) on the frames of one video.

    Args:
        predictor: a trained :class:`SceneGraphPredictor`.
        frames: ``(T, 3, H, W)`` float RGB in [0, 1] (uint8 ``(T, H, W, 3)`` is also
            accepted and converted).
        times: ``(T,)`` seconds of the frames.
        frame_indices: ``(T,)`` source frame indices (``arange(T)`` when ``None``).
        video_id: id recorded in the result.
        batch_size: frames per forward pass (inference mode).

    Returns:
        :class:`SceneGraphFrames` with ``R = max_objects`` and ``K = top_k``.

    Raises:
        ValueError: ``times`` or ``frame_indices`` not of length ``T``.
    """
    if frames.dtype == torch.uint8 and frames.shape[-1] == 3:
        frames = frames.permute(0, 3, 1, 2).float() / 255
    count = len(frames)
    times = np.asarray(times, np.float64)
    indices = (
        np.arange(count, dtype=np.int64)
        if frame_indices is None
        else np.asarray(frame_indices, np.int64)
    )
    if times.shape != (count,) or indices.shape != (count,):
        raise ValueError(
            f"times {times.shape} and frame_indices {indices.shape} must be ({count},)"
        )
    parts = [predictor.predict(frames[s : s + batch_size]) for s in range(0, count, batch_size)]
    cat = lambda name: torch.cat([getattr(p, name) for p in parts]).numpy() if parts else None  # noqa: E731
    if not parts:
        return _no_frames(predictor, video_id, times, indices)
    return SceneGraphFrames(
        video_id=video_id,
        tokens=cat("tokens").astype(np.float32),
        token_mask=cat("token_mask"),
        triplets=cat("triplets").astype(np.int64),
        scores=cat("scores").astype(np.float32),
        boxes=cat("boxes").astype(np.float32),
        object_labels=cat("object_labels").astype(np.int64),
        object_mask=cat("object_mask"),
        times=times,
        frame_indices=indices,
        labels=predictor.config.label_space,
    )


def _no_frames(
    predictor: SceneGraphPredictor, video_id: str, times: np.ndarray, indices: np.ndarray
) -> SceneGraphFrames:
    """The :class:`SceneGraphFrames` of a video with ``T = 0`` frames."""
    k, r = predictor.config.top_k, predictor.config.max_objects
    labels = predictor.config.label_space
    return SceneGraphFrames(
        video_id=video_id,
        tokens=np.zeros((0, k, labels.token_dim), np.float32),
        token_mask=np.zeros((0, k), bool),
        triplets=np.zeros((0, k, 3), np.int64),
        scores=np.zeros((0, k), np.float32),
        boxes=np.zeros((0, r, 4), np.float32),
        object_labels=np.zeros((0, r, len(labels.attributes)), np.int64),
        object_mask=np.zeros((0, r), bool),
        times=times,
        frame_indices=indices,
        labels=labels,
    )


class ExtractReport(BaseModel):
    """Counts of an extraction run: ``written`` now, ``skipped`` (already in the store),
    ``failed`` (recorded in errors.jsonl), ``seconds`` of wall time."""

    written: int
    skipped: int
    failed: int
    seconds: float


def _jobs(videos: Path | Sequence[VideoJob], like_ids: list[str]) -> list[VideoJob]:
    """The videos to extract: a synthetic benchmark folder means ``videos/<id>.mp4``
    for every id of the like-store; a list keeps its own order."""
    if isinstance(videos, (str, Path)):
        root = Path(videos) / "videos"
        return [VideoJob(vid, root / f"{vid}.mp4") for vid in like_ids]
    return list(videos)


def _store_meta(
    predictor: SceneGraphPredictor, predictor_dir: Path, like: FeatureStore
) -> SceneGraphStoreMeta:
    cfg = predictor.config
    labels = cfg.label_space
    return SceneGraphStoreMeta(
        token_dim=labels.token_dim,
        top_k=cfg.top_k,
        max_objects=cfg.max_objects,
        predicates=list(labels.predicates),
        attribute_values={name: list(v) for name, v in labels.attributes.items()},
        phrase_order=list(labels.phrase_order),
        num_frames=like.meta.frames,
        source=str(predictor_dir),
        like=str(like.root),
    )


def extract_scene_graphs(
    videos: Path | Sequence[VideoJob],
    predictor_dir: str | Path,
    like: str | Path,
    out: str | Path,
    *,
    batch_size: int = 64,
    on_video: Callable[[int, int], None] | None = None,
    file_timeout: float | None = None,
) -> ExtractReport:
    """Predict the scene graphs of the frames of every video of a feature store.

    For each video, exactly the frames of ``like`` (its ``frame_indices``) are decoded
    (PyAV, frame-exact) and run through the predictor (SGDet) in batches; ``times`` and
    ``frame_indices`` are copied from ``like``. Videos already in ``out`` are skipped.
    Any failure of one video (missing, corrupt, slower to read than ``file_timeout``,
    absent from ``like``, an error of the predictor on it) goes to ``errors.jsonl`` (one
    line per video: a retried video's line is replaced, and removed once it succeeds) and
    the run goes on (:mod:`videoqa.batch`).

    Args:
        videos: a synthetic benchmark folder (``videos/<id>.mp4`` for every id of
            ``like``), or a list of :class:`VideoJob`.
        predictor_dir: a :meth:`SceneGraphPredictor.save_pretrained` directory.
        like: the feature store to align with.
        out: the scene-graph store folder (created or resumed).
        batch_size: frames per forward pass.
        on_video: progress callback ``(done, total)``.
        file_timeout: wall-clock limit in seconds of reading one video (0: none;
            ``None``: ``$VIDEOQA_FILE_TIMEOUT``, else 600 s).

    Raises:
        ModelUnavailableError: bad predictor directory. FeatureStoreError: bad ``like``.
        StoreMismatchError: ``out`` holds a store of another layout.
    """
    import time

    start = time.perf_counter()
    timeout = resolve_timeout(file_timeout)
    predictor = SceneGraphPredictor.from_pretrained(predictor_dir)
    counts = {"written": 0, "skipped": 0, "failed": 0}
    with FeatureStore(like) as store:
        jobs = _jobs(videos, store.ids())
        writer = SceneGraphWriter(out, _store_meta(predictor, Path(predictor_dir), store))
        log = ErrorLog(writer.root / BATCH_ERRORS)
        try:
            for n, job in enumerate(jobs):
                if job.video_id in writer.done_ids:
                    counts["skipped"] += 1
                elif _extract_one(predictor, store, writer, job, batch_size, log, timeout):
                    counts["written"] += 1
                else:
                    counts["failed"] += 1
                if on_video is not None:
                    on_video(n + 1, len(jobs))
        finally:
            log.compact(resolved=set(writer.done_ids) | set(writer.written))
    return ExtractReport(**counts, seconds=time.perf_counter() - start)


def _extract_one(
    predictor: SceneGraphPredictor,
    store: FeatureStore,
    writer: SceneGraphWriter,
    job: VideoJob,
    batch_size: int,
    log: ErrorLog,
    timeout: float | None,
) -> bool:
    """Extract one video into ``writer``; False (and an errors.jsonl line) on any failure
    of the video (:func:`videoqa.batch.run_item`)."""
    def work() -> None:
        if job.video_id not in store:
            raise UsageError(f"{job.video_id} is not in the feature store {store.root}")
        if job.path is None:
            raise VideoError(f"{job.video_id}: no video file", None)
        features = store.get(job.video_id)
        with VideoReader(job.path) as reader:
            batch = reader.read_indices(features.frame_indices)
        frames = torch.from_numpy(batch.frames).permute(0, 3, 1, 2).float().div_(255)
        result = scene_graphs_for_frames(
            predictor, frames, features.times, frame_indices=features.frame_indices,
            video_id=job.video_id, batch_size=batch_size,
        )  # fmt: skip
        writer.add(result)

    outcome = run_item(job.video_id, work, path=job.path, timeout=timeout)
    if isinstance(outcome, ItemFailure):
        log.record(outcome)
        return False
    return True
