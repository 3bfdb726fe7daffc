"""Per-second quality features of a video: keyframes at 1 fps plus the motion between.

VQA² (Jia et al. 2024, "VQA²: Visual Question Answering for Video Quality Assessment",
§4.1) samples keyframes at one frame per second for spatial quality and feeds the motion
of the full-rate video between them as separate tokens. Here each keyframe starts a
*unit*: the keyframe's spatial features (:mod:`.spatial`) and the motion features of
the steps shown until the next keyframe (:mod:`.motion`).

Decoding: the keyframes are read at their coded size (blockiness needs the coding grid),
and every frame is read at the motion size (default 144 rows) in chunks of
``chunk_frames`` frames, so memory stays bounded on long videos.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videoqa.errors import UnsupportedVideoError
from videoqa.perception.quality.motion import (
    MOTION_HEIGHT,
    FrameSteps,
    MotionFeatures,
    frame_steps,
    motion_features,
    motion_size,
    nominal_frame_duration,
    repeated_steps,
)
from videoqa.perception.quality.natural_scene import to_luma
from videoqa.perception.quality.spatial import ANALYSIS_HEIGHT, SpatialFeatures, spatial_features
from videoqa.video.reader import VideoReader
from videoqa.video.samplers import VideoTiming, sample_times
from videoqa.video.types import VideoInfo

KEYFRAME_RATE = 1.0
"""Keyframes per second (the VQA² sampling)."""

MIN_SIDE = 16
"""Smallest frame side the spatial measures accept, pixels."""

MIN_UNIT_SECONDS = 0.5
"""A last unit shorter than this joins the one before it, seconds."""


@dataclass(frozen=True)
class QualityUnit:
    """One keyframe and the motion until the next one.

    Attributes:
        index: position in the video, 0-based.
        start, end: the span the unit covers, seconds (``[start, end)``).
        keyframe_time: presentation time of the keyframe, seconds.
        spatial: the keyframe's spatial features.
        motion: the span's motion features.
    """

    index: int
    start: float
    end: float
    keyframe_time: float
    spatial: SpatialFeatures
    motion: MotionFeatures

    def vector(self) -> np.ndarray:
        """``(59,)`` float64: spatial (47) then motion (12) features."""
        return np.concatenate([self.spatial.vector(), self.motion.vector()])


def unit_feature_names() -> list[str]:
    """Names of the 59 entries of :meth:`QualityUnit.vector`."""
    return [f"spatial.{n}" for n in SpatialFeatures.names()] + [
        f"motion.{n}" for n in MotionFeatures.names()
    ]


@dataclass(frozen=True)
class VideoQualityFeatures:
    """The quality features of a whole video.

    Attributes:
        path: the video as given.
        info: its metadata (exact frame count and duration).
        units: the per-second units, in time order (at least one).
        compute_seconds: wall time the extraction took, seconds.
    """

    path: str
    info: VideoInfo
    units: tuple[QualityUnit, ...]
    compute_seconds: float

    def matrix(self) -> np.ndarray:
        """``(U, 59)`` float64 unit feature vectors."""
        return np.stack([u.vector() for u in self.units])


def unit_bounds(key_times: np.ndarray, frame_duration: float, duration: float) -> np.ndarray:
    """Unit boundaries, seconds: each keyframe's frame start, then the video end.

    Args:
        key_times: ``(K,)`` presentation times of the keyframes, seconds, increasing.
        frame_duration: nominal frame duration, seconds.
        duration: video duration, seconds.

    Returns:
        ``(U + 1,)`` boundaries, ``U = K`` or ``K - 1``: a last unit shorter than
        :data:`MIN_UNIT_SECONDS` is merged into the previous one.
    """
    starts = np.maximum(key_times - 0.5 * frame_duration, 0.0)
    starts[0] = 0.0
    bounds = np.append(starts, max(duration, starts[-1] + frame_duration))
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < MIN_UNIT_SECONDS:
        bounds = np.delete(bounds, -2)
    return bounds


def _all_steps(reader: VideoReader, size: tuple[int, int], chunk_frames: int) -> FrameSteps:
    """Step measures over every frame, decoded at ``size`` in chunks."""
    total = len(reader.frame_times())
    parts: list[FrameSteps] = []
    prev: np.ndarray | None = None
    prev_time: float | None = None
    for first in range(0, total, chunk_frames):
        batch = reader.read_indices(np.arange(first, min(first + chunk_frames, total)), size=size)
        grey = np.stack([to_luma(f) for f in batch.frames])
        parts.append(frame_steps(grey, batch.times, prev, prev_time))
        prev, prev_time = grey[-1], float(batch.times[-1])
    return FrameSteps.concat(parts)


def extract_quality_features(
    path: str | Path,
    *,
    rate: float = KEYFRAME_RATE,
    analysis_height: int = ANALYSIS_HEIGHT,
    motion_height: int = MOTION_HEIGHT,
    chunk_frames: int = 256,
) -> VideoQualityFeatures:
    """Per-second spatial and motion quality features of a video.

    Args:
        path: the video file.
        rate: keyframes per second (units per second).
        analysis_height: rows the spatial measures run at (see :mod:`.spatial`).
        motion_height: rows the motion measures run at (see :mod:`.motion`).
        chunk_frames: frames decoded at once for the motion pass.

    Returns:
        The video's :class:`VideoQualityFeatures` (one unit per keyframe).

    Raises:
        VideoNotFoundError, UnsupportedVideoError, CorruptVideoError: the video cannot
            be read (from :class:`~videoqa.video.reader.VideoReader`).
        UnsupportedVideoError: frames smaller than 16x16 pixels.
    """
    began = time.perf_counter()
    with VideoReader(path) as reader:
        frame_times = reader.frame_times()
        info = reader.info
        frame_duration = nominal_frame_duration(frame_times, info.fps)
        key_times = sample_times("fps", VideoTiming.from_info(info), 0, rate=rate)
        keyframes = reader.read_at(key_times)
        height, width = keyframes.frames.shape[1:3]
        if min(height, width) < MIN_SIDE:
            raise UnsupportedVideoError(
                f"frames of {width}x{height} pixels are too small for quality analysis "
                f"(at least {MIN_SIDE}x{MIN_SIDE})",
                str(path),
            )
        steps = _all_steps(reader, motion_size(width, height, motion_height), chunk_frames)
    repeats = repeated_steps(steps, 1.0 / frame_duration)
    bounds = unit_bounds(keyframes.times, frame_duration, info.duration)
    units = []
    for i in range(len(bounds) - 1):
        units.append(
            QualityUnit(
                index=i,
                start=float(bounds[i]),
                end=float(bounds[i + 1]),
                keyframe_time=float(keyframes.times[i]),
                spatial=spatial_features(keyframes.frames[i], analysis_height),
                motion=motion_features(steps, repeats, bounds[i], bounds[i + 1], frame_duration),
            )
        )
    return VideoQualityFeatures(
        path=str(path),
        info=info,
        units=tuple(units),
        compute_seconds=time.perf_counter() - began,
    )
