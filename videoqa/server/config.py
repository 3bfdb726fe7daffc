"""Settings of ``videoqa serve`` (the CLI flags map onto :class:`ServerConfig`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ServerConfig(BaseModel):
    """What one server process serves and how much it accepts.

    Attributes:
        models: model specs loaded once at start-up (any ``--model`` spec of ``ask``;
            the first is the default of requests that name none).
        route: ``auto`` (quality questions to VQA²), ``visual`` or ``quality``.
        video_root: a folder whose videos may be named by path (``None``: uploads only).
            Paths resolving outside it (``..``, absolute, symlinks out) are refused.
        max_upload_mb: largest accepted upload, MiB (2**20 bytes).
        store_mb: total size of all stored uploads, MiB; the oldest unused upload is
            dropped to make room.
        max_videos: most stored uploads; the oldest unused is dropped beyond it.
        ttl_s: seconds an upload, and a finished job's result, are kept after last use.
        workers: threads running inference (off the event loop).
        queue: asks waiting beyond the running ones; one more is refused with 429.
        job_timeout_s: a job running longer is reported failed
            (:class:`~videoqa.errors.VideoTimeoutError` for its video reading, which
            stops it; the model's forward pass itself cannot be interrupted).
        chat_timeout_s: how long ``/v1/chat/completions`` waits for its answer.
        frame_max_side: longer side of served evidence frames, pixels.
        options: :class:`~videoqa.pipelines.resolve.ResolveOptions` fields for every
            model (``top_k``, ``frames``, ``grid``, ...).
    """

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(default_factory=lambda: ["auto"], min_length=1)
    route: str = "auto"
    video_root: Path | None = None
    max_upload_mb: float = Field(500.0, gt=0)
    store_mb: float = Field(4000.0, gt=0)
    max_videos: int = Field(64, ge=1)
    ttl_s: float = Field(3600.0, gt=0)
    workers: int = Field(1, ge=1, le=64)
    queue: int = Field(16, ge=0, le=10_000)
    job_timeout_s: float = Field(600.0, gt=0)
    chat_timeout_s: float = Field(600.0, gt=0)
    frame_max_side: int = Field(640, ge=32)
    options: dict[str, object] = Field(default_factory=dict)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def store_bytes(self) -> int:
        return int(self.store_mb * 1024 * 1024)
