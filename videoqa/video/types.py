"""Typed values shared by the video components."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class VideoInfo(BaseModel):
    """Container and stream metadata of a video file (what ``videoqa data probe`` prints).

    Attributes:
        path: the file as given.
        duration: seconds, from the first to the end of the last frame.
        fps: average frames per second of the video stream.
        num_frames: number of video frames (exact when a demux pass was made, else the
            container's count or ``round(duration * fps)``).
        width, height: coded frame size in pixels (before rotation).
        codec: decoder name, e.g. ``"h264"``.
        rotation: display rotation in degrees (0, 90, 180 or 270, counter-clockwise).
        has_audio: whether the container holds an audio stream.
        start_time: presentation time of the first frame, seconds.
    """

    model_config = ConfigDict(frozen=True)

    path: str
    duration: float = Field(ge=0)
    fps: float = Field(gt=0)
    num_frames: int = Field(ge=0)
    width: int = Field(gt=0)
    height: int = Field(gt=0)
    codec: str
    rotation: int = 0
    has_audio: bool = False
    start_time: float = 0.0


@dataclass(frozen=True)
class FrameBatch:
    """Decoded frames with the times they are displayed at.

    Attributes:
        frames: ``(T, H, W, 3)`` uint8 RGB.
        times: ``(T,)`` float64 presentation times in seconds (relative to the stream start).
        indices: ``(T,)`` int64 frame indices in display order.
    """

    frames: np.ndarray
    times: np.ndarray
    indices: np.ndarray

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3:
            raise ValueError(f"frames must be (T, H, W, 3), got {self.frames.shape}")
        if not (len(self.frames) == len(self.times) == len(self.indices)):
            raise ValueError("frames, times and indices must have the same length")

    def __len__(self) -> int:
        return len(self.frames)
