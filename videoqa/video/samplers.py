"""Frame samplers: which moments of a video a model looks at.

A sampler is a pure function of the video's timing (duration, frame rate, frame count)
and a frame budget ``n``; it returns sorted timestamps in seconds on ``[0, duration)``.
The decoder maps each timestamp to the frame displayed at that time, so samplers never
touch pixels and can be tested exhaustively.

All samplers live in one registry, :data:`SAMPLERS`; call them through
:func:`sample_times`::

    timing = VideoTiming.from_info(reader.info)
    times = sample_times("uniform", timing, 16)            # (16,) seconds
    times = sample_times("fps", timing, 0, rate=1.0)       # one frame per second, no cap
    times = sample_times("clips", timing, 4, frames_per_clip=8, stride=2)   # (32,)

Frame grid. Frame ``k`` of the video is displayed on ``[k / fps, (k + 1) / fps)``; the
video has :attr:`VideoTiming.frame_count` frames (the frames that start before
``duration``, capped by ``num_frames``). Samplers that pick whole frames return the
centre of the frame interval (``(k + 0.5) / fps``; the middle of the visible part for a
last frame cut short by ``duration``), so that rounding in the decoder cannot land on a
neighbour. Two returned times never fall in the same frame interval (``floor(t * fps)``)
unless more frames are asked for than the video has; then frames repeat, evenly spread,
and the output keeps its length.

A new sampler is a function ``(timing: VideoTiming, n: int, *, option=default, ...) ->
np.ndarray`` registered with ``@SAMPLERS.register("name")``; :func:`sample_times` checks
the option names and the output.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from videoqa.errors import UnsupportedVideoError, UsageError
from videoqa.registry import Registry
from videoqa.video.types import VideoInfo

SamplerFn = Callable[..., np.ndarray]

SAMPLERS: Registry[SamplerFn] = Registry("sampler")
"""Sampler name → function ``(timing, n, **options) -> (n',) float64 seconds``."""

# A last frame whose visible part is shorter than this fraction of a frame is ignored:
# it comes from rounding in the container's duration, not from a real frame.
_PARTIAL_FRAME_TOLERANCE = 1e-6


@dataclass(frozen=True)
class VideoTiming:
    """The timing facts a sampler needs.

    Attributes:
        duration: seconds, from the first frame to the end of the last one (> 0).
        fps: average frames per second (> 0).
        num_frames: number of frames in the stream, 0 when unknown (then the count is
            derived from ``duration * fps``).

    Raises:
        UsageError: non-finite or non-positive ``duration``/``fps``, negative
            ``num_frames``.
    """

    duration: float
    fps: float
    num_frames: int

    def __post_init__(self) -> None:
        for name in ("duration", "fps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise UsageError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value <= 0:
                raise UsageError(f"{name} must be a finite positive number, got {value!r}")
        frames = self.num_frames
        if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 0:
            raise UsageError(f"num_frames must be an integer >= 0, got {frames!r}")

    @classmethod
    def from_info(cls, info: VideoInfo) -> VideoTiming:
        """Timing of a probed video (give it the exact ``info`` of a reader after
        ``frame_times()``: a header's frame count can be wrong).

        Raises:
            UnsupportedVideoError: the video has no frames or a zero (or non-finite)
                duration: there is nothing to sample (exit code 3, like other bad videos).
        """
        duration, fps = float(info.duration), float(info.fps)
        if not (math.isfinite(duration) and duration > 0) or not math.isfinite(fps):
            raise UnsupportedVideoError(
                f"{info.path}: nothing to sample (duration {duration} s, "
                f"{info.num_frames} frames)",
                info.path,
            )
        return cls(duration=duration, fps=fps, num_frames=int(info.num_frames))

    @property
    def frame_count(self) -> int:
        """Number of frames a sampler may pick (>= 1): the frames whose interval starts
        before ``duration`` (ignoring a sliver under 1e-6 of a frame), capped by
        ``num_frames`` when that is known."""
        span = self.duration * self.fps
        count = max(1, math.ceil(span - _PARTIAL_FRAME_TOLERANCE))
        if self.num_frames > 0:
            count = min(count, self.num_frames)
        return count


def frame_centres(timing: VideoTiming, indices: np.ndarray) -> np.ndarray:
    """Timestamps safely inside the given frames.

    Args:
        timing: the video timing.
        indices: ``(k,)`` integer frame indices in ``[0, timing.frame_count)``.

    Returns:
        ``(k,)`` float64 seconds: ``(i + 0.5) / fps``, or for a last frame cut short by
        ``duration`` the middle of its visible part; always ``floor(t * fps) == i`` and
        ``0 <= t < duration``.
    """
    idx = np.asarray(indices, dtype=np.int64)
    start = idx / timing.fps
    centre = (idx + 0.5) / timing.fps
    return np.where(centre < timing.duration, centre, (start + timing.duration) / 2.0)


def spread_indices(count: int, total: int) -> np.ndarray:
    """Evenly spread frame indices: the frame under each of ``count`` segment centres.

    Returns:
        ``(count,)`` int64 ``floor((i + 0.5) * total / count)``, computed exactly in
        integers; distinct when ``count <= total``, repeated evenly otherwise.
    """
    i = np.arange(count, dtype=np.int64)
    return ((2 * i + 1) * total) // (2 * count)


def _require_count(n: int, what: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise UsageError(f"{what} must be an integer, got {n!r}")
    if n < 1:
        raise UsageError(f"{what} must be >= 1, got {n}")
    return int(n)


def _int_option(value: object, name: str, minimum: int) -> int:
    """An integer option; integer-valued floats (from JSON or a CLI) are accepted."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise UsageError(f"option {name} must be an integer, got {value!r}")
    if not float(value).is_integer() or value < minimum:
        raise UsageError(f"option {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@SAMPLERS.register("uniform")
def uniform(timing: VideoTiming, n: int) -> np.ndarray:
    """``n`` segment centres: the video is cut into ``n`` equal segments and the middle
    of each is taken, ``t_i = (i + 0.5) * duration / n`` (the segment-based sampling of
    Wang et al. 2016, "Temporal Segment Networks", as used at test time).

    Returns:
        ``(n,)`` float64 seconds. When two centres would fall in the same frame although
        the video has ``>= n`` frames (a duration that is not a whole number of frames),
        or a centre falls past the last counted frame, the centres of the frames under
        the centres of ``n`` equal segments of the frame grid are returned instead.

    Raises:
        UsageError: ``n < 1``.
    """
    n = _require_count(n)
    total = timing.frame_count
    times = (np.arange(n, dtype=np.float64) + 0.5) * timing.duration / n
    idx = np.floor(times * timing.fps).astype(np.int64)
    inside = bool(np.all(idx < total))
    if inside and (n > total or bool(np.all(np.diff(idx) > 0))):
        return times
    return frame_centres(timing, spread_indices(n, total))


def _split_head_tail(n: int, head_size: int, tail_size: int) -> tuple[int, int]:
    """Frames drawn from each half: half of ``n`` each (the head takes the odd one),
    moving the excess to the other half when one half is too short."""
    n_head = min(n - n // 2, head_size)
    n_tail = min(n - n_head, tail_size)
    n_head = min(n - n_tail, head_size)
    return n_head, n_tail


@SAMPLERS.register("head-tail")
def head_tail(timing: VideoTiming, n: int, *, seed: int = 0) -> np.ndarray:
    """Sparse head–tail sampling of MCG (Yu et al. 2024, "Multi-granularity Contrastive
    Cross-modal Collaborative Generation for End-to-End Long-term Video Question
    Answering", arXiv:2410.09379; the Intra-Video Module of its Joint Unimodal Modeling
    feeds the TimeSformer frames drawn this way).

    The paper names the scheme without a formula; its released code (video-loader
    strategy ``headtail``) splits the frames into a head half ``[0, F // 2)`` and a tail half
    ``[F // 2, F)`` and draws ``n / 2`` distinct frames at random from each, sorted. That
    is what is implemented here, with the randomness made explicit: the draw is a pure
    function of ``seed`` (pass a new seed per epoch/sample for augmentation; the default
    makes repeated calls identical). With an odd ``n`` the head gets the extra frame; if
    one half is too short the other half makes up the difference. A draw of segment
    centres instead of random frames would equal ``"uniform"`` for even ``n``, so the
    random draw is what distinguishes this sampler. In the released code it is a
    training-time choice; evaluation there always switches to uniform sampling.

    Args:
        timing: the video timing.
        n: number of frames, >= 1.
        seed: seed of the ``numpy.random.default_rng`` draw.

    Returns:
        ``(n,)`` float64 seconds at frame centres; with fewer than ``n`` frames in the
        video, the frames are spread evenly with repeats (as ``"uniform"``).

    Raises:
        UsageError: ``n < 1``, or a seed that is not an integer >= 0.
    """
    n = _require_count(n)
    seed = _int_option(seed, "seed", 0)
    total = timing.frame_count
    if n > total:
        return frame_centres(timing, spread_indices(n, total))
    half = total // 2
    n_head, n_tail = _split_head_tail(n, half, total - half)
    rng = np.random.default_rng(seed)
    head = rng.choice(half, size=n_head, replace=False) if n_head else np.empty(0, np.int64)
    tail = half + rng.choice(total - half, size=n_tail, replace=False)
    return frame_centres(timing, np.sort(np.concatenate([head, tail])))


@SAMPLERS.register("fps")
def fixed_rate(timing: VideoTiming, n: int, *, rate: float = 1.0) -> np.ndarray:
    """Fixed-rate sampling: the frame shown at each tick ``k / rate`` seconds, as VQA²
    (Jia et al. 2024, "VQA²: Visual Question Answering for Video Quality Assessment")
    samples keyframes at 1 frame per second.

    Each tick is mapped to the frame displayed at it, ``floor(k * fps / rate)``, and the
    frame's centre is returned (``k / rate`` plus half a frame when ticks fall on frame
    starts). Ticks that land in the same frame (``rate > fps``) count once.

    Args:
        timing: the video timing.
        n: cap on the number of frames; ``n <= 0`` means no cap. When there are more
            ticks than ``n``, ``n`` evenly spread ticks are kept.
        rate: ticks per second, > 0.

    Returns:
        ``(m,)`` float64 seconds, ``1 <= m``; ``m <= n`` when capped.

    Raises:
        UsageError: non-positive or non-finite ``rate``; non-integer ``n``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise UsageError(f"n must be an integer, got {n!r}")
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.number)):
        raise UsageError(f"option rate must be a number, got {rate!r}")
    if not math.isfinite(rate) or rate <= 0:
        raise UsageError(f"option rate must be a finite positive number, got {rate!r}")
    total = timing.frame_count
    ticks = math.ceil(timing.duration * rate)  # ticks k / rate < duration
    k = np.arange(max(ticks, 1), dtype=np.float64)
    frames = np.floor(k * (timing.fps / rate) + 1e-9).astype(np.int64)
    frames = frames[frames < total]
    frames = frames[np.concatenate([[True], np.diff(frames) > 0])]  # sorted: drop repeats
    if n > 0 and frames.size > n:
        frames = frames[spread_indices(n, frames.size)]
    return frame_centres(timing, frames)


def _clip_starts(bounds: np.ndarray, span: int) -> np.ndarray:
    """Start frame of a ``span``-frame clip centred in each segment ``[b_i, b_{i+1})``,
    clamped into the segment."""
    centres = (bounds[:-1] + bounds[1:]) / 2.0
    starts = np.floor(centres - span / 2.0 + 0.5).astype(np.int64)
    return np.clip(starts, bounds[:-1], bounds[1:] - span)


@SAMPLERS.register("clips")
def clips(timing: VideoTiming, n: int, *, frames_per_clip: int = 4, stride: int = 1) -> np.ndarray:
    """``n`` short clips of ``K = frames_per_clip`` frames each, ``stride`` frames apart,
    at uniformly spaced centres (the sparse clip sampling of ClipBERT, Lei et al. 2021,
    "Less is More: ClipBERT for Video-and-Language Learning via Sparse Sampling").

    The frame grid is cut into ``n`` equal segments (integer bounds
    ``floor(i * F / n)``); each clip is centred on its segment and clamped into it, so
    clips never overlap and stay inside the video. When a clip at the requested stride
    does not fit in its segment the stride is reduced (down to 1, which always fits
    when ``n * K <= F``).

    Args:
        timing: the video timing.
        n: number of clips, >= 1.
        frames_per_clip: frames per clip ``K``, >= 1.
        stride: distance between consecutive frames of a clip, in frames, >= 1.

    Returns:
        ``(n * K,)`` float64 seconds at frame centres, clip by clip (sorted). When the
        video has fewer than ``n * K`` frames, ``n * K`` evenly spread frames with repeats.

    Raises:
        UsageError: ``n < 1``, ``frames_per_clip < 1`` or ``stride < 1``.
    """
    n = _require_count(n)
    per_clip = _int_option(frames_per_clip, "frames_per_clip", 1)
    stride = _int_option(stride, "stride", 1)
    total = timing.frame_count
    if n * per_clip > total:
        return frame_centres(timing, spread_indices(n * per_clip, total))
    bounds = (np.arange(n + 1, dtype=np.int64) * total) // n
    shortest = int(np.min(np.diff(bounds)))
    if per_clip > 1:
        stride = max(1, min(stride, (shortest - 1) // (per_clip - 1)))
    span = (per_clip - 1) * stride + 1
    starts = _clip_starts(bounds, span)
    indices = starts[:, None] + stride * np.arange(per_clip, dtype=np.int64)[None, :]
    return frame_centres(timing, indices.reshape(-1))


def _check_options(name: str, fn: SamplerFn, options: dict[str, object]) -> None:
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [p.name for p in params.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        known = ", ".join(accepted) or "(none)"
        raise UsageError(f"sampler {name!r} has no option {', '.join(unknown)}; options: {known}")


def sample_times(name: str, timing: VideoTiming, n: int, **options: object) -> np.ndarray:
    """Timestamps chosen by the sampler registered as ``name``.

    Args:
        name: a :data:`SAMPLERS` name (``"uniform"``, ``"head-tail"``, ``"fps"``,
            ``"clips"``, or one registered by a plug-in).
        timing: the video timing.
        n: the frame budget; its meaning per sampler is in the sampler's docstring
            (frames, clips, or a cap).
        **options: the sampler's keyword options (e.g. ``rate=1.0`` for ``"fps"``).

    Returns:
        ``(n',)`` float64 seconds, sorted, each in ``[0, timing.duration)``.

    Raises:
        UnknownNameError: no sampler of that name.
        UsageError: invalid ``n``, unknown option or bad option value.
        ValueError: the sampler returned times that are unsorted or outside the video
            (a bug in a plug-in sampler).
    """
    fn = SAMPLERS.get(name)
    _check_options(name, fn, options)
    times = np.asarray(fn(timing, n, **options), dtype=np.float64)
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"sampler {name!r} returned an array of shape {times.shape}")
    if np.any(np.diff(times) < 0) or times[0] < 0 or times[-1] >= timing.duration:
        raise ValueError(f"sampler {name!r} returned unsorted times or times outside the video")
    return times


def list_samplers() -> list[str]:
    """Sorted names of the registered samplers."""
    return SAMPLERS.names()
