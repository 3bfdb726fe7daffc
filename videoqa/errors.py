"""Typed errors raised by videoqa components.

Every error a user can trigger with bad input derives from :class:`VideoQAError`,
so entry points can turn it into a clear message and an exit code instead of a
traceback. Exit codes used by the CLI: 2 usage, 3 bad or unreadable video,
4 model unavailable.
"""

from __future__ import annotations


class VideoQAError(Exception):
    """Base class of all videoqa errors."""

    exit_code: int = 1


class UsageError(VideoQAError, ValueError):
    """Invalid arguments (bad option values, inconsistent inputs)."""

    exit_code = 2


class DuplicateNameError(VideoQAError, KeyError):
    """A registry name was registered twice."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class UnknownNameError(VideoQAError, KeyError):
    """A registry has no entry of that name."""

    exit_code = 2

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class VideoError(VideoQAError):
    """A video could not be read."""

    exit_code = 3

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class VideoNotFoundError(VideoError, FileNotFoundError):
    """The video file does not exist."""


class UnsupportedVideoError(VideoError):
    """The file is readable but holds no decodable video stream (or an unsupported codec)."""


class CorruptVideoError(VideoError):
    """The container or the bitstream is damaged: demuxing or decoding failed."""


class VideoTimeoutError(VideoError):
    """Reading a video took longer than the wall-clock limit set for it
    (:func:`videoqa.video.reader.time_limit`, the per-file limit of batch jobs)."""


class ModelUnavailableError(VideoQAError):
    """A model (hub id or local directory) cannot be loaded here: not cached, not downloadable,
    or not a valid checkpoint."""

    exit_code = 4

    def __init__(self, message: str, model: str | None = None) -> None:
        super().__init__(message)
        self.model = model


class CheckpointError(ModelUnavailableError):
    """A checkpoint folder is missing, incomplete, damaged or of another kind: a model
    checkpoint (``config.json`` + ``model.safetensors``) or a run's resumable state
    (``checkpoints/last/state.json`` + ``state.safetensors``). The message names the file and what is wrong."""


class DataFormatError(VideoQAError, ValueError):
    """An annotation or prediction file does not follow the expected format."""

    exit_code = 2
