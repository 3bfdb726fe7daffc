"""Typed errors of the server and the HTTP status each answers with.

Every error body is ``{"error": {"type": ..., "message": ..., "status": ...}}`` (the
shape OpenAI clients read). The library's own errors keep their type name: a corrupt
upload answers ``422`` with ``CorruptVideoError`` and the reader's message.
"""

from __future__ import annotations

from videoqa.errors import (
    ModelUnavailableError,
    UnsupportedVideoError,
    VideoNotFoundError,
    VideoQAError,
)


class ServerError(VideoQAError):
    """An HTTP-level refusal; ``status`` is its HTTP status code."""

    status: int = 400

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = headers or {}


class NotFoundError(ServerError):
    """No video, job, model or page of that id or name (404)."""

    status = 404


class ForbiddenPathError(ServerError):
    """A path outside ``--video-root`` (``..``, absolute, a symlink out), or a path
    when the server has no video root (403)."""

    status = 403


class PayloadTooLargeError(ServerError):
    """An upload larger than ``--max-upload-mb`` (413)."""

    status = 413


class NotMultipartError(ServerError):
    """An upload that is not ``multipart/form-data`` with a ``file`` part (415)."""

    status = 415


class QueueFullError(ServerError):
    """Every worker is busy and the queue is full (429 with ``Retry-After``)."""

    status = 429


class StoreFullError(ServerError):
    """No room for another upload: every stored one is in use (507)."""

    status = 507


class JobCancelledError(VideoQAError):
    """The job was cancelled (by ``DELETE /v1/jobs/<id>`` or its client going away)
    before it finished."""


class JobTimeoutError(VideoQAError):
    """The job ran longer than ``--job-timeout``."""


def status_of(error: BaseException) -> int:
    """The HTTP status of ``error``: a :class:`ServerError`'s own; 404 for a missing
    video or an unserved model; 415 for a file that is no video; 422 for every other
    VideoQAError (a damaged or too slow video, invalid input); 500 for anything else."""
    if isinstance(error, ServerError):
        return error.status
    if isinstance(error, VideoNotFoundError | ModelUnavailableError):
        return 404
    if isinstance(error, UnsupportedVideoError):
        return 415
    if isinstance(error, VideoQAError):  # a damaged or too slow video, invalid input, ...
        return 422
    return 500


def error_body(error: BaseException, status: int | None = None) -> dict[str, dict[str, object]]:
    """The JSON body of ``error``: its type name, message and HTTP status."""
    status = status if status is not None else status_of(error)
    message = str(error) if isinstance(error, VideoQAError) else f"{type(error).__name__}: {error}"
    return {"error": {"type": type(error).__name__, "message": message, "status": status}}
