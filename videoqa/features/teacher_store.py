"""Per-frame teacher probabilities of every question, stored once (SpARC §3.1).

SpARC distils an image-QA teacher ``M_I`` into a VideoQA model: for each question ``Q``
and each sampled frame ``f_t`` of its video the teacher's probabilities ``p_t`` over the
C candidates are computed once (``videoqa extract teacher``) and read at every training step. This
module keeps them in one HDF5 file per split.

Layout of ``FILE`` (HDF5): attributes ``format`` (:data:`FORMAT`) and ``meta`` (JSON of
:class:`TeacherMeta`); datasets, one row per question, ``qid``, ``video_id`` (UTF-8
text), ``answer``, ``num_frames`` (T), ``num_choices`` (C), ``offset`` (int64) and
``probs`` (float32, all questions' ``(T, C)`` matrices flattened one after the other;
question ``i`` is ``probs[offset_i : offset_i + T_i·C_i].reshape(T_i, C_i)``).

Writing is atomic and resumable (:class:`TeacherWriter`): finished questions are written
in shards ``FILE.parts/shard-NNNNN.h5`` (each to a ``.tmp`` name, then renamed), and
closing the writer merges the shards and any previous ``FILE`` into ``FILE.tmp`` and
renames it to ``FILE``. An interrupted run leaves complete shards behind; the next run
with the same ``FILE`` skips their questions.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from videoqa.errors import DataFormatError, UsageError, VideoQAError

FORMAT = "videoqa.teacher_store/1"
"""Value of the ``format`` attribute of a teacher store file."""

ROW_SUM_TOLERANCE = 1e-3
"""Largest accepted ``|Σ_c p_tc − 1|`` of a stored row."""

_TEXT = h5py.string_dtype(encoding="utf-8")


class TeacherStoreError(DataFormatError):
    """A file is not a teacher store, or its contents are inconsistent."""


class UnknownQuestionError(VideoQAError, KeyError):
    """The teacher store holds no probabilities for that question id."""

    exit_code = 2

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class TeacherProbs:
    """The teacher's per-frame answer probabilities for one question.

    Attributes:
        qid: question id.
        video_id: the question's video.
        probs: ``(T, C)`` float32; row ``t`` is the teacher's distribution over the C
            candidates given the feature store's ``t``-th sampled frame alone.
        answer: index of the right candidate.

    Raises:
        UsageError: ``probs`` not 2-D, negative, not finite, rows not summing to 1
            (within :data:`ROW_SUM_TOLERANCE`), or ``answer`` outside ``[0, C)``.
    """

    qid: str
    video_id: str
    probs: np.ndarray
    answer: int

    def __post_init__(self) -> None:
        probs = np.ascontiguousarray(self.probs, dtype=np.float32)
        object.__setattr__(self, "probs", probs)
        if probs.ndim != 2 or probs.shape[1] < 1:
            raise UsageError(f"{self.qid}: probs must be (T, C), got {probs.shape}")
        if not np.isfinite(probs).all() or (probs < 0).any():
            raise UsageError(f"{self.qid}: probs must be finite and non-negative")
        sums = probs.sum(axis=1, dtype=np.float64)
        if len(sums) and np.abs(sums - 1.0).max() > ROW_SUM_TOLERANCE:
            raise UsageError(f"{self.qid}: probability rows must sum to 1, got {sums.min():.4f}")
        if not 0 <= self.answer < probs.shape[1]:
            raise UsageError(f"{self.qid}: answer {self.answer} outside {probs.shape[1]} choices")

    @property
    def answer_probs(self) -> np.ndarray:
        """``(T,)`` probability of the right answer on each frame (SpARC's ``p_t``)."""
        return self.probs[:, self.answer]


class TeacherMeta(BaseModel):
    """What produced the probabilities of a teacher store.

    Attributes:
        teacher: the teacher's name (:attr:`ImageQATeacher.name`), e.g.
            ``"feature:/runs/teacher"`` or ``"blip:Salesforce/blip-vqa-base"``.
        dataset: dataset name, e.g. ``"synthetic"``.
        split: split name.
        features: the feature store's meta (``StoreMeta`` as a dict) the probabilities
            are aligned with (same T sampled frames), or ``None``.
        extra: anything else (free-form).
    """

    model_config = ConfigDict(extra="forbid")

    teacher: str
    dataset: str = ""
    split: str = ""
    features: dict[str, Any] | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


def _read_columns(path: Path) -> tuple[TeacherMeta, dict[str, np.ndarray]]:
    """Meta and the columns (``probs`` included) of one store file.

    Raises:
        TeacherStoreError: not an HDF5 file of this format, or inconsistent columns.
    """
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise TeacherStoreError(f"{path}: not a teacher store (format {FORMAT} expected)")
            meta = TeacherMeta.model_validate_json(f.attrs["meta"])
            cols = {
                "qid": f["qid"].asstr()[()],
                "video_id": f["video_id"].asstr()[()],
                **{k: f[k][()] for k in ("answer", "num_frames", "num_choices", "offset")},
                "probs": f["probs"][()],
            }
    except (OSError, KeyError, ValidationError) as err:
        raise TeacherStoreError(f"{path}: unreadable teacher store ({err})") from err
    sizes = cols["num_frames"] * cols["num_choices"]
    n = len(cols["qid"])
    if any(len(cols[k]) != n for k in cols if k != "probs") or (
        n and int((cols["offset"] + sizes).max()) > len(cols["probs"])
    ):
        raise TeacherStoreError(f"{path}: columns of different lengths or offsets out of range")
    return meta, cols


def _records(cols: dict[str, np.ndarray]) -> Iterator[TeacherProbs]:
    for i, qid in enumerate(cols["qid"]):
        t, c, start = (int(cols[k][i]) for k in ("num_frames", "num_choices", "offset"))
        yield TeacherProbs(
            qid=str(qid),
            video_id=str(cols["video_id"][i]),
            probs=cols["probs"][start : start + t * c].reshape(t, c),
            answer=int(cols["answer"][i]),
        )


def _write_file(path: Path, meta: TeacherMeta, records: list[TeacherProbs]) -> None:
    """Write ``records`` to ``path.tmp`` and rename it to ``path`` (atomic)."""
    sizes = np.array([r.probs.size for r in records], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    flat = (
        np.concatenate([r.probs.ravel() for r in records]) if records else np.zeros(0, np.float32)
    )
    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["meta"] = meta.model_dump_json()
        f.create_dataset("qid", data=[r.qid for r in records], dtype=_TEXT)
        f.create_dataset("video_id", data=[r.video_id for r in records], dtype=_TEXT)
        f.create_dataset("answer", data=np.array([r.answer for r in records], dtype=np.int64))
        f.create_dataset(
            "num_frames", data=np.array([r.probs.shape[0] for r in records], dtype=np.int64)
        )
        f.create_dataset(
            "num_choices", data=np.array([r.probs.shape[1] for r in records], dtype=np.int64)
        )
        f.create_dataset("offset", data=offsets)
        f.create_dataset("probs", data=flat.astype(np.float32), compression="gzip")
    os.replace(tmp, path)


class TeacherStore:
    """Read side of a teacher store file (see the module docstring for the layout).

    All rows are loaded on opening (``Σ_q T_q·C_q`` float32: 10 MB for 16k questions of
    32 frames and 5 candidates).

    Args:
        path: the store file written by :class:`TeacherWriter`.

    Attributes:
        meta: :class:`TeacherMeta` of the file.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        TeacherStoreError: the file is not a teacher store or is inconsistent.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no teacher store at {self.path}")
        self.meta, cols = _read_columns(self.path)
        self._rows = {r.qid: r for r in _records(cols)}

    def __contains__(self, qid: object) -> bool:
        return qid in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def qids(self) -> list[str]:
        """Question ids in stored order."""
        return list(self._rows)

    def get(self, qid: str) -> TeacherProbs:
        """The probabilities of question ``qid``.

        Raises:
            UnknownQuestionError: ``qid`` is not in the store.
        """
        try:
            return self._rows[qid]
        except KeyError:
            raise UnknownQuestionError(
                f"teacher store {self.path.name} has no question {qid!r}"
            ) from None

    def __iter__(self) -> Iterator[TeacherProbs]:
        return iter(self._rows.values())


class TeacherWriter:
    """Atomic, resumable writer of a teacher store file (a context manager).

    Args:
        path: the store file (its folder is created).
        meta: what produced the probabilities; a resumed run must name the same
            ``teacher``, ``dataset`` and ``split``.
        shard_size: questions per shard written while running.

    Attributes:
        done: ids of the questions already stored (previous ``FILE``, left-over shards
            and this run's writes); :meth:`write` skips them.

    Raises:
        UsageError: ``path`` (or a left-over shard) was written for another teacher,
            dataset or split; ``shard_size < 1``.
        TeacherStoreError: ``path`` or a shard is not a teacher store.

    On normal exit of the ``with`` block the shards are merged into ``path``; when the
    block raises, the buffered questions are written as a shard and merging waits for
    the next run.
    """

    def __init__(self, path: Path, meta: TeacherMeta, *, shard_size: int = 1024) -> None:
        if shard_size < 1:
            raise UsageError(f"shard_size must be at least 1, got {shard_size}")
        self.path = Path(path)
        self.meta = meta
        self.shard_size = shard_size
        self.parts = self.path.with_name(self.path.name + ".parts")
        self._buffer: list[TeacherProbs] = []
        self.done: set[str] = set()
        self._open()

    def _check_meta(self, other: TeacherMeta, source: Path) -> None:
        ours = (self.meta.teacher, self.meta.dataset, self.meta.split)
        theirs = (other.teacher, other.dataset, other.split)
        if ours != theirs:
            raise UsageError(
                f"{source} holds probabilities of teacher/dataset/split {theirs}, not {ours}; "
                "use another output file or remove it"
            )

    def _existing(self) -> list[Path]:
        files = [self.path] if self.path.is_file() else []
        return files + sorted(self.parts.glob("shard-*.h5"))

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.parts.mkdir(exist_ok=True)
        for tmp in self.parts.glob("*.tmp"):
            tmp.unlink()
        for file in self._existing():
            meta, cols = _read_columns(file)
            self._check_meta(meta, file)
            self.done.update(str(q) for q in cols["qid"])

    def __enter__(self) -> TeacherWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.flush()

    def write(self, record: TeacherProbs) -> bool:
        """Buffer one question's probabilities; ``False`` (nothing written) when its qid
        is already in :attr:`done`. A full buffer is written as a shard."""
        if record.qid in self.done:
            return False
        self.done.add(record.qid)
        self._buffer.append(record)
        if len(self._buffer) >= self.shard_size:
            self.flush()
        return True

    def write_all(self, records: Iterable[TeacherProbs]) -> int:
        """:meth:`write` each record; returns how many were new."""
        return sum(self.write(r) for r in records)

    def flush(self) -> None:
        """Write the buffered questions as a new shard (atomic rename)."""
        if not self._buffer:
            return
        index = len(list(self.parts.glob("shard-*.h5")))
        while (shard := self.parts / f"shard-{index:05d}.h5").exists():
            index += 1
        _write_file(shard, self.meta, self._buffer)
        self._buffer = []

    def close(self) -> None:
        """Flush, merge ``path`` and the shards into a new ``path`` (atomic rename), and
        remove the shards."""
        self.flush()
        records: dict[str, TeacherProbs] = {}
        for file in self._existing():
            _, cols = _read_columns(file)
            for r in _records(cols):
                records.setdefault(r.qid, r)
        _write_file(self.path, self.meta, list(records.values()))
        shutil.rmtree(self.parts)


def read_meta(path: Path) -> TeacherMeta:
    """The :class:`TeacherMeta` of a store file without loading its rows.

    Raises:
        TeacherStoreError: not a teacher store.
    """
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise TeacherStoreError(f"{path}: not a teacher store")
            return TeacherMeta.model_validate(json.loads(f.attrs["meta"]))
    except (OSError, KeyError, ValidationError, json.JSONDecodeError) as err:
        raise TeacherStoreError(f"{path}: unreadable teacher store ({err})") from err
