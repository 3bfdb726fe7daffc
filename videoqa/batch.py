"""Per-item batch jobs: run each item, record its failure, go on; and the one rule for
an output that already exists (:func:`prepare_output`).

The batch jobs of videoqa (``extract``, ``teach``, scene-graph extraction, ``eval
--model`` and quality scoring of a MOS table) process many items, mostly videos. One
bad item must not stop a run, nor every resume after it:

- :func:`run_item` runs the work of one item under a wall-clock limit
  (:func:`~videoqa.video.reader.time_limit`; default :func:`default_file_timeout`) and
  returns its result, or an :class:`ItemFailure` with the item, the error type and the
  message for *any* exception of the item. Only a failure of the job itself
  (:func:`is_job_failure`: a model that cannot be loaded, a full or read-only disk) and
  interruptions (``KeyboardInterrupt``) propagate.
- :class:`ErrorLog` keeps the failures of a job in a JSON-lines file (``errors.jsonl`` of
  a store), one line per failed item: a new failure of an item replaces its line, an item
  that later succeeds loses it (:meth:`ErrorLog.compact`, at the end of a run; a run
  killed before that leaves extra lines, and readers keep the last line of each item).
  Lines are appended and the file rewritten under an exclusive lock (``fcntl.flock``),
  so processes of one job (``accelerate launch``) share the file.
- A rerun skips an item that failed on the same, unchanged file with a
  :class:`~videoqa.errors.VideoError` (:meth:`ErrorLog.known_bad`; a time-out counts:
  raise the limit and ask the job to retry errors): such a failure would repeat. Items
  whose file changed or appeared, and failures of other kinds (a model error, a bug),
  are retried.

Line format: ``{"video_id", "error", "reason", "file"}``: the item id, the exception
class name, ``"<class>: <message>"``, and a fingerprint of the item's file
(``"<size>:<mtime_ns>"``, ``"missing"``, or ``"none"`` when the item has no file).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from videoqa.errors import ModelUnavailableError, UsageError, VideoError

__all__ = [
    "ERRORS_FILE",
    "FILE_TIMEOUT_ENV",
    "ErrorLog",
    "ItemFailure",
    "default_file_timeout",
    "file_fingerprint",
    "is_job_failure",
    "prepare_output",
    "run_item",
]

ERRORS_FILE = "errors.jsonl"
"""Name of a store's error file."""
FILE_TIMEOUT_ENV = "VIDEOQA_FILE_TIMEOUT"
"""Environment variable: the per-item wall-clock limit in seconds of every batch job
(``0``: none) when the job is not given one."""
DEFAULT_FILE_TIMEOUT = 600.0
"""Per-item wall-clock limit in seconds when neither the job nor the environment sets one."""

_JOB_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
_T = TypeVar("_T")


class ItemFailure(BaseModel):
    """One item that failed, and why.

    Attributes:
        video_id: the item's id (a video id in every job so far).
        reason: ``"<error class>: <message>"``.
        error: the exception's class name, e.g. ``"CorruptVideoError"``.
        file: fingerprint of the item's file when it failed (:func:`file_fingerprint`).
    """

    video_id: str
    reason: str
    error: str = ""
    file: str = ""


def default_file_timeout() -> float | None:
    """The per-item limit from :data:`FILE_TIMEOUT_ENV`, else :data:`DEFAULT_FILE_TIMEOUT`;
    ``None`` when set to 0.

    Raises:
        UsageError: the variable is not a number >= 0.
    """
    text = os.environ.get(FILE_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_FILE_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{FILE_TIMEOUT_ENV} must be seconds (a number), got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise UsageError(f"{FILE_TIMEOUT_ENV} must be a finite number >= 0, got {text!r}")
    return value or None


def resolve_timeout(seconds: float | None) -> float | None:
    """A job's per-item limit: ``seconds`` if given (``0``: none), else the default.

    Raises:
        UsageError: a negative or non-finite limit.
    """
    if seconds is None:
        return default_file_timeout()
    if not seconds >= 0 or seconds == float("inf"):
        raise UsageError(f"the per-file time limit must be >= 0 seconds, got {seconds!r}")
    return float(seconds) or None


def file_fingerprint(path: str | os.PathLike | None) -> str:
    """``"<size>:<mtime_ns>"`` of a file, ``"missing"``, or ``"none"`` without a path."""
    if path is None:
        return "none"
    try:
        stat = os.stat(path)
    except OSError:
        return "missing"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def is_job_failure(exc: BaseException) -> bool:
    """Whether ``exc`` means the job itself cannot go on (so it must not be recorded as
    one item's failure): a model that cannot be loaded, a full, over-quota or read-only
    disk, or anything that is not an ``Exception`` (interruptions)."""
    if not isinstance(exc, Exception) or isinstance(exc, ModelUnavailableError):
        return True
    if isinstance(exc, OSError) and not isinstance(exc, VideoError):
        return exc.errno in _JOB_ERRNOS or "No space left on device" in str(exc)
    return False


def failure_of(
    item_id: str, exc: BaseException, path: str | os.PathLike | None = None
) -> ItemFailure:
    """The :class:`ItemFailure` of ``exc`` for item ``item_id`` (file ``path``)."""
    name = type(exc).__name__
    return ItemFailure(
        video_id=item_id, reason=f"{name}: {exc}", error=name, file=file_fingerprint(path)
    )


def run_item(
    item_id: str,
    work: Callable[[], _T],
    *,
    path: str | os.PathLike | None = None,
    timeout: float | None = None,
) -> _T | ItemFailure:
    """Run ``work()`` for one item; its result, or the :class:`ItemFailure` of any error.

    Args:
        item_id: the item's id (recorded with a failure).
        work: the item's work.
        path: the item's file (fingerprinted with a failure).
        timeout: wall-clock limit in seconds of the video reading done by ``work``
            (:func:`~videoqa.video.reader.time_limit`; ``None``: no limit). A video
            that takes longer fails with VideoTimeoutError.

    Raises:
        Whatever :func:`is_job_failure` accepts: those stop the job.
    """
    from videoqa.video.reader import time_limit

    try:
        with time_limit(timeout):
            return work()
    except Exception as exc:
        if is_job_failure(exc):
            raise
        return failure_of(item_id, exc, path)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path + ".lock"`` (no-op where ``fcntl`` is missing)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: one process per job
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class ErrorLog:
    """The failures of a batch job, one line per item in a JSON-lines file.

    Args:
        path: the file (e.g. ``STORE/errors.jsonl``); its folder must exist when writing.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def _read_lines(self) -> list[ItemFailure]:
        if not self.path.is_file():
            return []
        rows: list[ItemFailure] = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rows.append(ItemFailure.model_validate(json.loads(line)))
            except ValueError:  # a cut line of a killed run, or not ours
                continue
        return rows

    def entries(self) -> dict[str, ItemFailure]:
        """Item id → its last recorded failure, in first-failure order."""
        latest: dict[str, ItemFailure] = {}
        for row in self._read_lines():
            latest[row.video_id] = row
        return latest

    def record(self, failure: ItemFailure) -> None:
        """Append one failure (one ``write`` under the lock)."""
        line = failure.model_dump_json() + "\n"
        with _locked(self.path), open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)

    def compact(self, resolved: Iterable[str] = ()) -> None:
        """Rewrite the file with one line per item (its last failure), without the items
        in ``resolved`` (they succeeded); delete it when nothing is left. Atomic (a
        ``.tmp`` file renamed over it)."""
        gone = set(resolved)
        with _locked(self.path):
            if not self.path.is_file():
                return
            rows = [row for vid, row in self.entries().items() if vid not in gone]
            if not rows:
                self.path.unlink()
                return
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.writelines(row.model_dump_json() + "\n" for row in rows)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)

    def known_bad(self, item_id: str, path: str | os.PathLike | None) -> ItemFailure | None:
        """The recorded failure of ``item_id`` when it would repeat: a VideoError (or
        one of its subclasses, by name) on the same unchanged file; else ``None``."""
        return self._known_bad(self.entries(), item_id, path)

    @staticmethod
    def _known_bad(
        entries: dict[str, ItemFailure], item_id: str, path: str | os.PathLike | None
    ) -> ItemFailure | None:
        row = entries.get(item_id)
        if row is None or not row.file or row.error not in _VIDEO_ERRORS:
            return None
        return row if row.file == file_fingerprint(path) else None

    def partition(
        self, items: Iterable[_T], key: Callable[[_T], tuple[str, str | os.PathLike | None]]
    ) -> tuple[list[_T], list[ItemFailure]]:
        """Split ``items`` into those to run and the known-bad failures to skip.

        Args:
            items: the items of this run.
            key: item → ``(item id, its file or None)``.
        """
        entries = self.entries()
        todo: list[_T] = []
        skipped: list[ItemFailure] = []
        for item in items:
            known = self._known_bad(entries, *key(item))
            if known is None:
                todo.append(item)
            else:
                skipped.append(known)
        return todo, skipped


def _video_error_names() -> frozenset[str]:
    import videoqa.errors as errors

    names = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, VideoError)
    }
    return frozenset(names)


_VIDEO_ERRORS = _video_error_names()


def prepare_output(
    path: Path,
    *,
    what: str,
    resume: bool = False,
    overwrite: bool = False,
    can_resume: bool = True,
    holds: Sequence[str] | None = None,
    deletes: Sequence[str] | None = None,
    resume_needs_output: bool = False,
    barrier: Callable[[], None] | None = None,
    is_main: bool = True,
) -> None:
    """The rule of every job that writes a run, store, benchmark or model: an existing
    output at ``path`` is refused unless ``resume`` (continue it) or ``overwrite``
    (delete it, then start again) is given.

    Args:
        path: the output file or folder. what: how to name it in messages ("feature
            store", "run"). can_resume: whether the job can continue a partial output.
        holds: entries of the folder whose presence means an output is there (a run:
            ``metrics.jsonl``, ``checkpoints``); None = ``path`` is a file or a folder
            that is not empty.
        deletes: the entries ``overwrite`` removes (a run keeps foreign files beside
            its own); None = ``path`` itself.
        resume_needs_output: ``resume`` without an output is an error (a training run)
            rather than a fresh start (a store).
        barrier: called by every process after the check and after the deletion (under
            ``accelerate launch``: ``wait_for_everyone``), so no process writes before
            the main one has checked and cleaned; is_main: whether this process deletes.

    Raises:
        UsageError: an existing output without either flag, both flags, ``resume`` for
            a job that cannot or with nothing to resume (``resume_needs_output``), or
            ``overwrite`` of the working directory, one of its parents or the home
            folder.
    """
    path = Path(path)
    if resume and overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    if resume and not can_resume:
        raise UsageError(f"this command cannot resume a {what}: use --overwrite")
    if holds is None:
        exists = path.is_file() or (path.is_dir() and any(path.iterdir()))
    else:
        exists = any((path / name).exists() for name in holds)
    if resume and resume_needs_output and not exists:
        raise UsageError(f"--resume: {path} holds no {what} to resume")
    if exists and not (resume or overwrite):
        hint = "--resume to continue it or --overwrite" if can_resume else "--overwrite"
        raise UsageError(f"{path} already holds a {what}: pass {hint} to start again")
    if barrier is not None:
        barrier()
    if overwrite and is_main and (exists or deletes is not None):
        targets = [path / name for name in deletes] if deletes is not None else [path]
        protected = {Path.cwd().resolve(), Path.home().resolve(), *Path.cwd().resolve().parents}
        for target in targets:
            target = target.resolve()
            if target in protected:
                raise UsageError(f"refusing to delete {target} for --overwrite")
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    if barrier is not None:
        barrier()
