"""A store of per-video frame features: HDF5 shards keyed by video id, written atomically.

Layout of a store folder ``DIR``::

    DIR/meta.json                 StoreMeta: encoder, sampler, frames, dimensions
    DIR/shards/r0000-000000.h5    finished shards of rank 0 (one HDF5 group per video)
    DIR/shards/r0001-000000.h5    ... of rank 1 (multi-process extraction)
    DIR/shards/r0000-000001.h5.tmp  the shard being written (never read)
    DIR/errors.jsonl              videos that could not be extracted: one line per video
                                  (written by the job, see videoqa.batch)
    DIR/errors.jsonl.lock         the lock the job's processes take to write it

Each video is a group named by its percent-encoded id holding ``frames`` ``(T, D)``
float32, ``times`` ``(T,)`` float64 seconds, ``frame_indices`` ``(T,)`` int64 and,
when the store keeps them, ``patches`` ``(T, P, Dp)`` float32.

Atomicity and resume: a shard is written under a ``.tmp`` name and renamed
(``os.replace``, atomic on POSIX) once complete, so a reader only ever sees whole shards;
the ids of every finished shard are "done" and skipped by the next run; a ``.tmp``
left over by a killed run is deleted when a writer of the same rank starts. Process
``r`` of ``n`` writes only shards whose names start with ``r{r:04d}``, so processes never
share a file; readers merge all shards.

The per-video HDF5 group follows the habit of the VideoQA feature releases (e.g. the
NExT-QA and TGIF-QA ``.h5`` appearance/motion feature files), with one group per video
instead of one row per video so that clips of different lengths fit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote

import h5py
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from videoqa.errors import DataFormatError

__all__ = [
    "FeatureNotFoundError",
    "FeatureStore",
    "FeatureStoreError",
    "FeatureWriter",
    "StoreMeta",
    "StoreMismatchError",
    "VideoFeatures",
    "finished_shards",
]

META_FILE = "meta.json"
SHARD_DIR = "shards"
ERRORS_FILE = "errors.jsonl"
_SHARD_NAME = re.compile(r"^r(\d{4})-(\d{6})\.h5$")
#: StoreMeta fields that must agree between runs writing into the same folder.
COMPARED_FIELDS: tuple[str, ...] = (
    "encoder",
    "sampler",
    "frames",
    "dim",
    "patch_dim",
    "num_patches",
    "dataset",
)


class FeatureStoreError(DataFormatError):
    """A folder is not a feature store, or a store's files are inconsistent."""


class StoreMismatchError(FeatureStoreError):
    """A run would write features of another encoder/sampler/frame count into a store."""


class FeatureNotFoundError(FeatureStoreError, KeyError):
    """The store holds no features of that video id."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class VideoFeatures:
    """The features of one video.

    Attributes:
        video_id: the benchmark's video id.
        frames: ``(T, D)`` float32 frame embeddings.
        times: ``(T,)`` float64 seconds of each sampled frame (presentation time of the
            decoded frame, first frame at 0).
        frame_indices: ``(T,)`` int64 display index of each sampled frame in the video.
        patches: ``(T, P, Dp)`` float32 patch/region tokens, or ``None``.

    Raises:
        ValueError: arrays of the wrong rank or mismatched lengths.
    """

    video_id: str
    frames: np.ndarray
    times: np.ndarray
    frame_indices: np.ndarray
    patches: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not self.video_id:
            raise ValueError("video_id must be a non-empty string")
        if self.frames.ndim != 2:
            raise ValueError(f"frames must be (T, D), got {self.frames.shape}")
        count = self.frames.shape[0]
        if self.times.shape != (count,) or self.frame_indices.shape != (count,):
            raise ValueError(
                f"{self.video_id}: times {self.times.shape} and frame_indices "
                f"{self.frame_indices.shape} must be ({count},)"
            )
        if self.patches is not None and (self.patches.ndim != 3 or len(self.patches) != count):
            raise ValueError(f"patches must be ({count}, P, Dp), got {self.patches.shape}")

    @property
    def num_frames(self) -> int:
        """``T``, the number of sampled frames."""
        return int(self.frames.shape[0])


class StoreMeta(BaseModel):
    """What produced a store; two runs may write into one store only when they agree
    on :data:`COMPARED_FIELDS`.

    Attributes:
        encoder: encoder spec, e.g. ``"tiny"``, ``"openai/clip-vit-base-patch32"``,
            ``"cnn:/path"`` as given to ``videoqa extract``.
        sampler: sampler name with its options, e.g. ``"uniform"`` or ``"fps(rate=1.0)"``.
        frames: the frame budget ``n`` given to the sampler.
        dim: ``D`` of the frame embeddings.
        patch_dim, num_patches: ``Dp`` and ``P`` of the patch tokens, ``None`` when the
            store has none.
        dataset: the dataset name the videos come from.
        extra: free-form details (input size, splits, versions), not compared.
    """

    model_config = ConfigDict(extra="forbid")

    encoder: str
    sampler: str
    frames: int = Field(ge=0)
    dim: int = Field(gt=0)
    patch_dim: int | None = None
    num_patches: int | None = None
    dataset: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)

    def mismatches(self, other: StoreMeta) -> list[str]:
        """``"field: mine != other"`` for every compared field that differs."""
        return [
            f"{name}: {getattr(self, name)!r} != {getattr(other, name)!r}"
            for name in COMPARED_FIELDS
            if getattr(self, name) != getattr(other, name)
        ]


def _group_name(video_id: str) -> str:
    """HDF5-safe group name of a video id (``/`` and ``%`` are percent-encoded)."""
    return quote(video_id, safe="")


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_meta(root: Path) -> StoreMeta | None:
    """The store's meta, ``None`` when ``root/meta.json`` does not exist.

    Raises:
        FeatureStoreError: meta.json is not a valid StoreMeta.
    """
    path = Path(root) / META_FILE
    if not path.is_file():
        return None
    try:
        return StoreMeta.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise FeatureStoreError(f"{path}: not a feature store meta file ({err})") from err


def finished_shards(root: Path) -> list[Path]:
    """Finished shard files of a store, sorted by name (rank, then sequence)."""
    folder = Path(root) / SHARD_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if _SHARD_NAME.match(p.name))


def _shard_ids(path: Path) -> list[str]:
    try:
        with h5py.File(path, "r") as handle:
            return [unquote(name) for name in handle]
    except OSError as err:
        raise FeatureStoreError(f"unreadable shard {path}: {err}") from err


class FeatureStore:
    """Read side of a store: merges every finished shard of every rank.

    Shard files are opened lazily and kept open; use as a context manager or call
    :meth:`close`. A video present in two shards (never written so by
    :class:`FeatureWriter`) is read from the first shard by name.

    Args:
        root: the store folder.

    Attributes:
        meta: the store's :class:`StoreMeta`.

    Raises:
        FeatureStoreError: ``root`` has no valid meta.json, or a shard is unreadable.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        meta = read_meta(self.root)
        if meta is None:
            raise FeatureStoreError(f"not a feature store (no {META_FILE}): {self.root}")
        self.meta: StoreMeta = meta
        self._where: dict[str, Path] = {}
        for shard in finished_shards(self.root):
            for video_id in _shard_ids(shard):
                self._where.setdefault(video_id, shard)
        self._handles: dict[Path, h5py.File] = {}

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the open shard files (idempotent)."""
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()

    def __contains__(self, video_id: object) -> bool:
        return video_id in self._where

    def __len__(self) -> int:
        return len(self._where)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids())

    def ids(self) -> list[str]:
        """Sorted video ids in the store."""
        return sorted(self._where)

    def _group(self, video_id: str) -> h5py.Group:
        shard = self._where.get(video_id)
        if shard is None:
            raise FeatureNotFoundError(f"no features of video {video_id!r} in {self.root}")
        handle = self._handles.get(shard)
        if handle is None:
            handle = self._handles[shard] = h5py.File(shard, "r")
        return handle[_group_name(video_id)]

    def get(self, video_id: str) -> VideoFeatures:
        """The features of one video.

        Returns:
            :class:`VideoFeatures` (``frames`` ``(T, D)`` float32, ``times`` ``(T,)``
            float64, ``frame_indices`` ``(T,)`` int64, ``patches`` ``(T, P, Dp)`` float32
            or ``None``).

        Raises:
            FeatureNotFoundError: unknown id. FeatureStoreError: a malformed group.
        """
        group = self._group(video_id)
        try:
            patches = group["patches"][()] if "patches" in group else None
            return VideoFeatures(
                video_id=video_id,
                frames=group["frames"][()],
                times=group["times"][()],
                frame_indices=group["frame_indices"][()],
                patches=patches,
            )
        except (KeyError, ValueError) as err:
            raise FeatureStoreError(f"{video_id}: malformed features in the store: {err}") from err

    def frames_array(self, ids: Sequence[str]) -> np.ndarray:
        """Frame embeddings of several videos stacked, for fast training loads.

        Returns:
            ``(N, T, D)`` float32 in the order of ``ids``.

        Raises:
            FeatureNotFoundError: an unknown id. FeatureStoreError: the videos have
            different frame counts (e.g. an ``fps`` sampler): load them one by one.
        """
        if not ids:
            return np.empty((0, 0, self.meta.dim), np.float32)
        return self._stack(ids, "frames")

    def patches_array(self, ids: Sequence[str]) -> np.ndarray:
        """Patch/region tokens of several videos stacked, for fast training loads.

        Returns:
            ``(N, T, P, Dp)`` float32 in the order of ``ids``.

        Raises:
            FeatureNotFoundError: an unknown id. FeatureStoreError: the store has no
            patch tokens (extracted without ``--patches``) or the videos differ in shape.
        """
        if self.meta.patch_dim is None or self.meta.num_patches is None:
            raise FeatureStoreError(f"{self.root} holds no patch tokens (extract with --patches)")
        return self._stack(ids, "patches")

    def _stack(self, ids: Sequence[str], key: str) -> np.ndarray:
        """Dataset ``key`` of every video of ``ids`` in one ``(N, ...)`` float32 array."""
        out = np.empty((0,), np.float32)
        for row, video_id in enumerate(ids):
            group = self._group(video_id)
            if key not in group:
                raise FeatureStoreError(f"{video_id}: no {key} in the store")
            value = group[key][()]
            if row == 0:
                out = np.empty((len(ids), *value.shape), np.float32)
            elif value.shape != out.shape[1:]:
                raise FeatureStoreError(
                    f"{video_id} has {key} of shape {value.shape}, {ids[0]} {out.shape[1:]}: "
                    f"{key}_array needs one shape (e.g. one frame count)"
                )
            out[row] = value
        return out


class FeatureWriter:
    """Write side of a store: atomic shards, resume, refusal of mismatched runs.

    Opening a writer creates the folder, checks or writes meta.json, deletes this rank's
    leftover ``.tmp`` shards and collects :attr:`done_ids`. Each :meth:`add` appends one
    video to the open ``.tmp`` shard; after ``shard_size`` videos (and on
    :meth:`close`) the shard is closed, flushed to disk and renamed to its final name.
    Leaving the ``with`` block through an exception also finishes the open shard (the
    videos in it are complete); a killed process leaves only a ``.tmp``.

    Args:
        root: the store folder (created).
        meta: what this run writes.
        shard_size: videos per shard, >= 1.
        rank, world_size: this process's index among ``world_size`` writers.

    Attributes:
        done_ids: ids in finished shards (of every rank) when the writer was opened.
        written: ids added by this writer.
        shards_written: finished shard files of this writer.

    Raises:
        StoreMismatchError: meta.json exists and differs on :data:`COMPARED_FIELDS`.
        FeatureStoreError: unreadable meta.json or shard.
        ValueError: bad ``shard_size``/``rank``/``world_size``.
    """

    def __init__(
        self,
        root: str | Path,
        meta: StoreMeta,
        *,
        shard_size: int = 256,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if shard_size < 1 or world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"bad shard_size={shard_size}, rank={rank}, world_size={world_size}")
        self.root = Path(root)
        self.meta = meta
        self.shard_size = shard_size
        self.rank = rank
        self._shards = self.root / SHARD_DIR
        self._shards.mkdir(parents=True, exist_ok=True)
        self._check_meta()
        for leftover in self._shards.glob(f"r{rank:04d}-*.h5.tmp"):
            leftover.unlink()
        self.done_ids: frozenset[str] = frozenset(
            vid for shard in finished_shards(self.root) for vid in _shard_ids(shard)
        )
        own = [_SHARD_NAME.match(p.name) for p in finished_shards(self.root)]
        self._next_seq = 1 + max(
            (int(m.group(2)) for m in own if m and int(m.group(1)) == rank), default=-1
        )
        self._open: h5py.File | None = None
        self._open_path: Path | None = None
        self._in_shard = 0
        self.written: list[str] = []
        self._written_set: set[str] = set()
        self.shards_written: list[Path] = []

    def _check_meta(self) -> None:
        existing = read_meta(self.root)
        if existing is None:
            _atomic_write_text(self.root / META_FILE, self.meta.model_dump_json(indent=2))
            return
        diffs = existing.mismatches(self.meta)
        if diffs:
            raise StoreMismatchError(
                f"{self.root} holds features of another configuration ({'; '.join(diffs)}); "
                "use another --out folder"
            )

    def __enter__(self) -> FeatureWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check(self, features: VideoFeatures) -> None:
        dim = features.frames.shape[1]
        if dim != self.meta.dim:
            raise ValueError(f"{features.video_id}: D={dim}, the store has D={self.meta.dim}")
        want = self.meta.patch_dim is not None
        if want != (features.patches is not None):
            raise ValueError(f"{features.video_id}: patches must be given iff the store has them")
        if features.patches is not None:
            shape = features.patches.shape[1:]
            if shape != (self.meta.num_patches, self.meta.patch_dim):
                raise ValueError(
                    f"{features.video_id}: patches (P, Dp) = {shape}, the store has "
                    f"({self.meta.num_patches}, {self.meta.patch_dim})"
                )

    def add(self, features: VideoFeatures) -> None:
        """Append one video to the current shard (finishing it when full).

        Raises:
            ValueError: shapes that disagree with :attr:`meta`, or an id already written
            (in a finished shard or by this writer).
        """
        self._check(features)
        if features.video_id in self.done_ids or features.video_id in self._written_set:
            raise ValueError(f"{features.video_id} is already in the store")
        if self._open is None:
            self._open_path = self._shards / f"r{self.rank:04d}-{self._next_seq:06d}.h5.tmp"
            self._next_seq += 1
            self._open = h5py.File(self._open_path, "w")
        group = self._open.create_group(_group_name(features.video_id))
        group.create_dataset("frames", data=np.asarray(features.frames, np.float32))
        group.create_dataset("times", data=np.asarray(features.times, np.float64))
        group.create_dataset("frame_indices", data=np.asarray(features.frame_indices, np.int64))
        if features.patches is not None:
            group.create_dataset("patches", data=np.asarray(features.patches, np.float32))
        self.written.append(features.video_id)
        self._written_set.add(features.video_id)
        self._in_shard += 1
        if self._in_shard >= self.shard_size:
            self.flush()

    def flush(self) -> None:
        """Finish the open shard: close, fsync, rename to its final name (no-op if none)."""
        if self._open is None or self._open_path is None:
            return
        self._open.close()
        with open(self._open_path, "rb") as handle:
            os.fsync(handle.fileno())
        final = self._open_path.with_name(self._open_path.name.removesuffix(".tmp"))
        os.replace(self._open_path, final)
        self.shards_written.append(final)
        self._open, self._open_path, self._in_shard = None, None, 0

    def close(self) -> None:
        """Finish the open shard (idempotent)."""
        self.flush()


def append_error(root: Path, video_id: str, reason: str, error: str = "") -> None:
    """Record a failed video in ``root/errors.jsonl`` (:class:`videoqa.batch.ErrorLog`:
    appended under a lock; :meth:`~videoqa.batch.ErrorLog.compact` keeps one line per
    video)."""
    from videoqa.batch import ErrorLog, ItemFailure

    failure = ItemFailure(video_id=video_id, reason=reason, error=error or reason.split(":")[0])
    ErrorLog(Path(root) / ERRORS_FILE).record(failure)
