"""A cache of transcripts, one per (video file content, recognizer, options).

Layout of the cache folder ``DIR`` (default ``<videoqa cache>/transcripts``, the cache
directory of :func:`videoqa.metrics.wordnet.cache_dir`: ``$VIDEOQA_CACHE_DIR``, else
``$XDG_CACHE_HOME/videoqa``, else ``~/.cache/videoqa``)::

    DIR/<key>/transcript.json      a Transcript (JSON), plus the key's inputs
    DIR/<key>.tmp/                 an entry being written (never read)

``key`` = the first 32 hex digits of SHA-256 over the video file's bytes, the
recognizer's name and the recognition options, so a changed file, another model or other
options never read a stale transcript; renaming or moving the file keeps its entry.
Entries are written with :func:`videoqa.persistence.write_dir_atomic` (the folder is
filled under ``.tmp``, fsynced and renamed into place), so a reader only ever sees whole
entries, as in the feature store; an unreadable entry is treated as missing and
rewritten.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from videoqa.errors import VideoNotFoundError
from videoqa.metrics.wordnet import cache_dir
from videoqa.perception.speech.transcript import Transcript
from videoqa.persistence import write_dir_atomic

__all__ = ["TranscriptCache", "file_digest"]

ENTRY_FILE = "transcript.json"
_CHUNK = 1 << 20


def file_digest(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, read once per process for a file as it stands:
    the digest is remembered under the file's resolved path, size, inode and
    modification / change times (ns), so asking about one video again (the router
    transcribes it for the visual model's text stream and for fusion, every question of
    a video) does not hash it again, while a rewritten file is hashed afresh.

    Raises:
        VideoNotFoundError: the file does not exist.
    """
    try:
        stat = os.stat(path)
        where = str(Path(path).resolve())
        return _digest(where, stat.st_size, stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns)
    except FileNotFoundError:
        raise VideoNotFoundError(f"video not found: {path}", str(path)) from None


@functools.lru_cache(maxsize=256)
def _digest(path: str, size: int, inode: int, mtime_ns: int, ctime_ns: int) -> str:
    """SHA-256 of ``path``'s bytes; the other arguments only key the memo."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class TranscriptCache:
    """Transcripts keyed by file content + recognizer + options (layout in the module
    docstring).

    Args:
        root: the cache folder (created on the first write); None = the default.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir() / "transcripts"

    @staticmethod
    def key(video: str | Path, model: str, options: dict[str, Any]) -> str:
        """The entry name of ``video`` recognized by ``model`` with ``options``."""
        recipe = json.dumps({"model": model, "options": options}, sort_keys=True)
        raw = f"{file_digest(video)}\n{recipe}".encode()
        return hashlib.sha256(raw).hexdigest()[:32]

    def get(self, key: str) -> Transcript | None:
        """The cached transcript, or None (absent or unreadable)."""
        path = self.root / key / ENTRY_FILE
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            return Transcript.model_validate(payload["transcript"])
        except (OSError, ValueError, KeyError, TypeError, ValidationError):
            return None

    def put(self, key: str, transcript: Transcript, inputs: dict[str, Any]) -> Path:
        """Store ``transcript`` under ``key`` atomically; ``inputs`` (the video's path,
        the model, the options) are recorded beside it. Returns the entry folder."""

        def write(folder: Path) -> None:
            payload = {"inputs": inputs, "transcript": transcript.model_dump(mode="json")}
            (folder / ENTRY_FILE).write_text(json.dumps(payload, indent=1), encoding="utf-8")

        target = self.root / key
        write_dir_atomic(target, write)
        return target
