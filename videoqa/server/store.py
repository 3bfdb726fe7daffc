"""The server's videos: uploads in a per-server temporary folder (size and count limits,
a time-to-live, deleted on shutdown) and files named by path under ``--video-root``."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from videoqa.server.errors import ForbiddenPathError, NotFoundError, StoreFullError
from videoqa.video.types import VideoInfo

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".gif")
PART_SUFFIX = ".part"


@dataclass
class StoredVideo:
    """One video the server can answer about.

    Attributes:
        video_id: its id in URLs.
        path: the file (an upload in the store folder, or a file under the video root).
        name: the uploaded file name, or the path relative to the root.
        source: ``upload`` or ``root``.
        size: bytes.
        info: the reader's exact probe.
        last_used: ``time.monotonic()`` of the last request or job that used it.
        users: jobs queued or running on it (an upload in use is never dropped).
    """

    video_id: str
    path: Path
    name: str
    source: Literal["upload", "root"]
    size: int
    info: VideoInfo
    last_used: float = field(default_factory=time.monotonic)
    users: int = 0

    def describe(self) -> dict[str, object]:
        """The JSON of ``POST``/``GET /v1/videos``."""
        return {
            "video_id": self.video_id,
            "name": self.name,
            "source": self.source,
            "size": self.size,
            "probe": self.info.model_dump(mode="json"),
        }


def _safe_suffix(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ""


class VideoStore:
    """Uploads and video-root files, by id; thread-safe.

    Args:
        max_bytes: total bytes of stored uploads.
        max_count: most stored uploads.
        ttl_s: an upload (or a root entry) unused this many seconds is dropped by
            :meth:`sweep`.
        video_root: the folder paths may name, or ``None``.
        parent: where the store's temporary folder is made (default: the system's).
    """

    def __init__(
        self,
        max_bytes: int,
        max_count: int,
        ttl_s: float,
        video_root: Path | None = None,
        parent: Path | None = None,
    ) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="videoqa-serve-", dir=parent))
        self.max_bytes = max_bytes
        self.max_count = max_count
        self.ttl_s = ttl_s
        self.root = video_root.resolve() if video_root is not None else None
        self._videos: dict[str, StoredVideo] = {}
        self._root_ids: dict[Path, str] = {}
        self._lock = threading.Lock()

    # -------------------------------------------------------------- uploads
    def new_part(self) -> Path:
        """A fresh path in the store for an upload being received."""
        return self.dir / f"{uuid.uuid4().hex}{PART_SUFFIX}"

    def uploads_bytes(self) -> int:
        with self._lock:
            return sum(v.size for v in self._videos.values() if v.source == "upload")

    def make_room(self, nbytes: int) -> None:
        """Drop the least recently used unused uploads until one of ``nbytes`` fits the
        size and count limits.

        Raises:
            StoreFullError: it cannot fit (the rest are in use, or it alone is too big).
        """
        with self._lock:
            uploads = sorted(
                (v for v in self._videos.values() if v.source == "upload"),
                key=lambda v: v.last_used,
            )
            total = sum(v.size for v in uploads)
            count = len(uploads)
            for video in uploads:
                if total + nbytes <= self.max_bytes and count + 1 <= self.max_count:
                    break
                if video.users:
                    continue
                self._drop(video)
                total -= video.size
                count -= 1
            if total + nbytes > self.max_bytes or count + 1 > self.max_count:
                raise StoreFullError(
                    f"no room for another upload of {nbytes} bytes: {count} stored uploads "
                    f"({total} bytes) are in use; limits {self.max_count} uploads, "
                    f"{self.max_bytes} bytes",
                    headers={"Retry-After": "10"},
                )

    def add_upload(self, part: Path, filename: str, info: VideoInfo) -> StoredVideo:
        """Keep the received, probed file ``part`` as a new upload."""
        video_id = "u" + uuid.uuid4().hex[:16]
        final = self.dir / f"{video_id}{_safe_suffix(filename)}"
        os.replace(part, final)
        info = info.model_copy(update={"path": str(final)})
        video = StoredVideo(video_id, final, Path(filename).name, "upload", final.stat().st_size, info)
        with self._lock:
            self._videos[video_id] = video
        return video

    # ------------------------------------------------------------ video root
    def root_path(self, name: str) -> Path:
        """The file ``name`` names under the video root (relative to it, or absolute
        inside it), symlinks resolved.

        Raises:
            ForbiddenPathError: no video root, or the path resolves outside it.
            NotFoundError: no such file.
        """
        if self.root is None:
            raise ForbiddenPathError("this server has no --video-root: upload the video instead")
        if "\x00" in name:
            raise ForbiddenPathError("a path with a NUL byte")
        target = (self.root / name).resolve()
        if not target.is_relative_to(self.root):
            raise ForbiddenPathError(f"{name!r} is outside the video root")
        if not target.is_file():
            raise NotFoundError(f"no video {name!r} under the video root")
        return target

    def root_id(self, path: Path) -> str | None:
        with self._lock:
            return self._root_ids.get(path)

    def add_root(self, path: Path, info: VideoInfo) -> StoredVideo:
        """Register ``path`` (from :meth:`root_path`) as a video; the same file keeps its
        id."""
        with self._lock:
            known = self._root_ids.get(path)
            if known is not None and known in self._videos:
                video = self._videos[known]
                video.last_used = time.monotonic()
                return video
            video_id = "r" + uuid.uuid4().hex[:16]
            name = str(path.relative_to(self.root)) if self.root else path.name
            video = StoredVideo(video_id, path, name, "root", path.stat().st_size, info)
            self._videos[video_id] = video
            self._root_ids[path] = video_id
            return video

    def library(self, limit: int = 1000) -> list[str]:
        """Video files under the root (relative paths, sorted; at most ``limit``);
        symlinks leading outside the root are left out."""
        if self.root is None:
            return []
        found = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in sorted(filenames):
                if not filename.lower().endswith(VIDEO_SUFFIXES):
                    continue
                path = Path(dirpath) / filename
                if path.resolve().is_relative_to(self.root):
                    found.append(str(path.relative_to(self.root)))
                if len(found) >= limit:
                    return sorted(found)
        return sorted(found)

    # --------------------------------------------------------------- access
    def get(self, video_id: str) -> StoredVideo:
        """The video ``video_id``, marked as used now.

        Raises:
            NotFoundError: unknown (or expired) id.
        """
        with self._lock:
            video = self._videos.get(video_id)
            if video is None:
                raise NotFoundError(f"no video {video_id!r} (unknown, expired or deleted)")
            video.last_used = time.monotonic()
            return video

    def acquire(self, video_id: str) -> StoredVideo:
        """:meth:`get` and count one more job using it (see :meth:`release`)."""
        with self._lock:
            video = self._videos.get(video_id)
            if video is None:
                raise NotFoundError(f"no video {video_id!r} (unknown, expired or deleted)")
            video.users += 1
            video.last_used = time.monotonic()
            return video

    def release(self, video_id: str) -> None:
        with self._lock:
            video = self._videos.get(video_id)
            if video is not None:
                video.users = max(0, video.users - 1)
                video.last_used = time.monotonic()

    def delete(self, video_id: str) -> None:
        """Forget ``video_id`` (and delete an upload's file).

        Raises:
            NotFoundError: unknown id.
            StoreFullError: a job still uses it (409-like; retry later).
        """
        with self._lock:
            video = self._videos.get(video_id)
            if video is None:
                raise NotFoundError(f"no video {video_id!r}")
            if video.users:
                raise StoreFullError(f"video {video_id!r} is in use by {video.users} job(s)")
            self._drop(video)

    def _drop(self, video: StoredVideo) -> None:
        self._videos.pop(video.video_id, None)
        if video.source == "upload":
            video.path.unlink(missing_ok=True)
        else:
            self._root_ids.pop(video.path, None)

    def sweep(self, now: float | None = None) -> int:
        """Drop videos unused for ``ttl_s`` seconds (none in use) and stale partial
        uploads; returns how many videos were dropped."""
        now = time.monotonic() if now is None else now
        with self._lock:
            stale = [
                v for v in self._videos.values() if not v.users and now - v.last_used > self.ttl_s
            ]
            for video in stale:
                self._drop(video)
        wall = time.time()
        for part in self.dir.glob(f"*{PART_SUFFIX}"):
            try:
                if wall - part.stat().st_mtime > self.ttl_s:
                    part.unlink(missing_ok=True)
            except FileNotFoundError:
                pass
        return len(stale)

    def ids(self) -> set[str]:
        """The ids of the videos stored now."""
        with self._lock:
            return set(self._videos)

    def __len__(self) -> int:
        with self._lock:
            return len(self._videos)

    def close(self) -> None:
        """Delete the store folder and everything in it."""
        with self._lock:
            self._videos.clear()
            self._root_ids.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
