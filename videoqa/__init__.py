"""videoqa: video question answering toolkit.

The package root stays light: importing :mod:`videoqa` loads neither torch nor
PyAV. Components live in subpackages (``video``, ``encoders``, ``modules``,
``models``, ``losses``, ``data``, ``metrics``, ``perception``, ``training``,
``eval``, ``pipelines``); entry points (``cli``, recipes) sit on top of them.

The Python API is :class:`videoqa.VideoQA` (``VideoQA.from_pretrained(spec).ask(video,
question, choices)``), loaded lazily on first access.
"""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["VideoQA", "__version__"]

if TYPE_CHECKING:
    from videoqa.api import VideoQA


def __getattr__(name: str) -> Any:
    """``videoqa.VideoQA`` is imported on first use, so ``import videoqa`` stays light."""
    if name == "VideoQA":
        from videoqa.api import VideoQA

        return VideoQA
    raise AttributeError(f"module 'videoqa' has no attribute {name!r}")
