"""Motion quality features: what happens between consecutive frames.

The video is decoded at a small analysis size (default 144 rows) and every step
between consecutive frames is measured once (:class:`FrameSteps`); the steps are then
summarized per span of time (:func:`motion_features`), e.g. the second after each
keyframe.

Measures per step:

* mean absolute luma difference, split into a global (DC) part, the signed mean
  difference, and the rest;
* global translation by phase correlation (Kuglin & Hines, "The phase correlation image
  alignment method", IEEE Cybernetics and Society 1975; sub-pixel peak by a parabola
  through the neighbours);
* mean optical-flow magnitude by single-scale Lucas–Kanade (Lucas & Kanade, IJCAI 1981,
  eq. 5 solved per pixel on a 7x7 window) at half the motion size.

Summaries per span: stutter (repeated pictures, longest freeze, irregular or missing
presentation times), flicker (the share of frame differences that are a global luma
change, and the fast oscillation of mean luma) and shake (jitter of the global
translation around its smoothed path; medians, so that a scene cut does not count).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

import numpy as np
from scipy import ndimage

MOTION_HEIGHT = 144
"""Rows of the frames the motion measures run on, pixels (smaller videos keep theirs)."""

REPEAT_RELATIVE = 0.2
"""A step repeats the previous picture when its difference is below this share of the
local reference difference (75th percentile of the steps within +-1 s)."""

REPEAT_ABSOLUTE = 0.05
"""...or below this many luma levels, whatever the reference."""

_LK_WINDOW = 7
_LK_MIN_EIG = 1e-2


@dataclass(frozen=True)
class FrameSteps:
    """Measures of each step between consecutive frames.

    All arrays are ``(S,)`` float64 with ``S = T - 1`` for ``T`` frames; step ``i`` goes
    from frame ``i`` to frame ``i + 1``.

    Attributes:
        time: presentation time of the later frame, seconds.
        dt: presentation-time step, seconds.
        diff: mean absolute luma difference, levels (0-255).
        dc: signed mean luma difference (global brightness change), levels.
        ac: mean absolute difference after removing ``dc``, levels.
        shift_x, shift_y: global translation by phase correlation, pixels at the
            analysis size (positive = content moves right / down).
        flow: mean Lucas–Kanade flow magnitude, pixels at the analysis size.
        luma: mean luma of the later frame, levels.
    """

    time: np.ndarray
    dt: np.ndarray
    diff: np.ndarray
    dc: np.ndarray
    ac: np.ndarray
    shift_x: np.ndarray
    shift_y: np.ndarray
    flow: np.ndarray
    luma: np.ndarray

    def __len__(self) -> int:
        return len(self.time)

    @staticmethod
    def concat(parts: list[FrameSteps]) -> FrameSteps:
        """Join step measures of consecutive chunks (in order)."""
        names = [f.name for f in fields(FrameSteps)]
        if not parts:
            return FrameSteps(*(np.zeros(0) for _ in names))
        return FrameSteps(*(np.concatenate([getattr(p, n) for p in parts]) for n in names))


@dataclass(frozen=True)
class MotionFeatures:
    """Temporal quality measures of a span of a video.

    Attributes:
        frame_diff: mean absolute luma difference between consecutive frames, levels.
        diff_cv: coefficient of variation of those differences (uneven motion).
        repeat_share: share of steps that repeat the previous picture, ``[0, 1]``.
        longest_freeze: longest run of repeated pictures, seconds.
        pts_jitter: standard deviation of the presentation-time steps over the nominal
            frame duration.
        max_gap: longest presentation-time step over the nominal frame duration (1 for a
            regular video; 2 when one frame is missing).
        picture_rate: new pictures per second (steps that are not repeats, over the
            span's duration); low values mean choppy motion.
        dc_share: mean over steps of ``|dc| / (|dc| + ac)``: how much of the change is a
            global brightness change, ``[0, 1]``.
        luma_oscillation: median absolute second difference of mean luma, levels.
        flow: mean optical-flow magnitude, pixels per frame at the analysis size.
        global_motion: mean global translation, pixels per frame at the analysis size.
        shake: median distance of the global translation from its 5-step moving
            average, pixels (medians keep scene cuts from counting as shake or flicker).
    """

    frame_diff: float
    diff_cv: float
    repeat_share: float
    longest_freeze: float
    pts_jitter: float
    max_gap: float
    picture_rate: float
    dc_share: float
    luma_oscillation: float
    flow: float
    global_motion: float
    shake: float

    @staticmethod
    def names() -> list[str]:
        """Names of the entries of :meth:`vector`, in order."""
        return [f.name for f in fields(MotionFeatures)]

    def vector(self) -> np.ndarray:
        """``(12,)`` float64 feature vector in the order of :meth:`names`."""
        return np.asarray(astuple(self), dtype=np.float64)


def motion_size(width: int, height: int, target: int = MOTION_HEIGHT) -> tuple[int, int]:
    """``(w, h)`` analysis size for motion: ``target`` rows (never more than the video),
    even dimensions, aspect ratio kept."""
    h = min(height, target)
    w = max(round(width * h / height), 2)
    return w // 2 * 2, max(h // 2 * 2, 2)


def _phase_shift(
    prev_f: np.ndarray, cur_f: np.ndarray, shape: tuple[int, int]
) -> tuple[float, float]:
    """Global translation ``(dx, dy)`` from two windowed spectra (phase correlation)."""
    cross = cur_f * np.conj(prev_f)
    cross /= np.maximum(np.abs(cross), 1e-9)
    surface = np.fft.irfft2(cross, s=shape)
    h, w = surface.shape
    iy, ix = np.unravel_index(int(np.argmax(surface)), surface.shape)

    def refine(c_m: float, c_0: float, c_p: float) -> float:
        den = c_m - 2.0 * c_0 + c_p
        return 0.5 * (c_m - c_p) / den if abs(den) > 1e-12 else 0.0

    dy = iy + refine(surface[iy - 1, ix], surface[iy, ix], surface[(iy + 1) % h, ix])
    dx = ix + refine(surface[iy, ix - 1], surface[iy, ix], surface[iy, (ix + 1) % w])
    dy = dy - h if dy > h / 2 else dy
    dx = dx - w if dx > w / 2 else dx
    return float(dx), float(dy)


def _lk_prepare(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-resolution smoothed frame and its x / y gradients, for :func:`_lk_flow`."""
    h, w = grey.shape
    half = grey[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    smooth = ndimage.gaussian_filter(half, 1.0)
    return smooth, ndimage.sobel(smooth, axis=1) / 8.0, ndimage.sobel(smooth, axis=0) / 8.0


def _lk_flow(prev: tuple[np.ndarray, ...], cur: tuple[np.ndarray, ...]) -> float:
    """Mean Lucas–Kanade flow magnitude between two prepared frames (see
    :func:`_lk_prepare`), in pixels of the full motion size."""
    ix = 0.5 * (prev[1] + cur[1])
    iy = 0.5 * (prev[2] + cur[2])
    it = cur[0] - prev[0]
    win = _LK_WINDOW
    sxx = ndimage.uniform_filter(ix * ix, win)
    syy = ndimage.uniform_filter(iy * iy, win)
    sxy = ndimage.uniform_filter(ix * iy, win)
    sxt = ndimage.uniform_filter(ix * it, win)
    syt = ndimage.uniform_filter(iy * it, win)
    det = sxx * syy - sxy * sxy
    trace = sxx + syy
    min_eig = 0.5 * (trace - np.sqrt(np.maximum(trace * trace - 4.0 * det, 0.0)))
    ok = min_eig > _LK_MIN_EIG
    if not ok.any():
        return 0.0
    u = (-syy * sxt + sxy * syt)[ok] / det[ok]
    v = (sxy * sxt - sxx * syt)[ok] / det[ok]
    return float(2.0 * np.mean(np.hypot(u, v)))


def frame_steps(
    grey: np.ndarray,
    times: np.ndarray,
    previous: np.ndarray | None = None,
    previous_time: float | None = None,
) -> FrameSteps:
    """Measure every step between consecutive frames.

    Args:
        grey: ``(T, h, w)`` luma frames (levels 0-255) at the motion analysis size.
        times: ``(T,)`` presentation times, seconds, increasing.
        previous: the ``(h, w)`` frame just before ``grey[0]`` when the video is
            processed in chunks (its step to ``grey[0]`` is measured too), else None.
        previous_time: presentation time of ``previous``, seconds.

    Returns:
        ``FrameSteps`` with ``T - 1`` steps (``T`` with ``previous``).

    Raises:
        ValueError: shapes disagree, or ``previous`` is given without its time.
    """
    grey = np.asarray(grey, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if grey.ndim != 3 or len(grey) != len(times):
        raise ValueError(f"grey must be (T, h, w) with T = len(times), got {grey.shape}")
    if previous is not None:
        if previous_time is None:
            raise ValueError("previous_time is required with previous")
        grey = np.concatenate([np.asarray(previous, dtype=np.float64)[None], grey])
        times = np.concatenate([[previous_time], times])
    n = len(grey) - 1
    out = {name: np.zeros(max(n, 0)) for name in ("diff", "dc", "ac", "shift_x", "shift_y", "flow")}
    if n > 0:
        h, w = grey.shape[1:]
        window = np.outer(np.hanning(h), np.hanning(w))
        spectra = [np.fft.rfft2(grey[0] * window)]
        prepared = [_lk_prepare(grey[0])]
        for i in range(n):
            delta = grey[i + 1] - grey[i]
            dc = delta.mean()
            out["diff"][i] = np.abs(delta).mean()
            out["dc"][i] = dc
            out["ac"][i] = np.abs(delta - dc).mean()
            spectra.append(np.fft.rfft2(grey[i + 1] * window))
            out["shift_x"][i], out["shift_y"][i] = _phase_shift(spectra[-2], spectra[-1], (h, w))
            spectra.pop(0)
            prepared.append(_lk_prepare(grey[i + 1]))
            out["flow"][i] = _lk_flow(prepared[0], prepared[1])
            prepared.pop(0)
    return FrameSteps(
        time=times[1:],
        dt=np.diff(times),
        luma=grey[1:].mean(axis=(1, 2)) if n > 0 else np.zeros(0),
        **out,
    )


def repeated_steps(steps: FrameSteps, fps: float) -> np.ndarray:
    """Which steps repeat the previous picture.

    A step repeats when its difference is below ``REPEAT_ABSOLUTE`` levels, or below
    ``REPEAT_RELATIVE`` times the 75th percentile of the differences within +-1 s
    (``round(fps)`` steps each side) when that reference shows motion (> 0.5 levels).

    Args:
        steps: the step measures of the whole video.
        fps: nominal frames per second.

    Returns:
        ``(S,)`` bool.
    """
    diff = steps.diff
    if diff.size == 0:
        return np.zeros(0, dtype=bool)
    radius = max(int(round(fps)), 1)
    ref = ndimage.percentile_filter(diff, 75, size=2 * radius + 1, mode="nearest")
    relative = (ref > 0.5) & (diff < REPEAT_RELATIVE * ref)
    return relative | (diff < REPEAT_ABSOLUTE)


def _longest_run(mask: np.ndarray, dt: np.ndarray) -> float:
    """Longest total duration (seconds) of consecutive True entries."""
    best = run = 0.0
    for flag, step in zip(mask, dt, strict=True):
        run = run + step if flag else 0.0
        best = max(best, run)
    return float(best)


def nominal_frame_duration(times: np.ndarray, fps: float) -> float:
    """Nominal frame duration of a video, seconds: the 5th percentile of its
    presentation-time steps (robust to dropped frames, which only lengthen steps), or
    ``1 / fps`` for a single frame.

    Args:
        times: ``(N,)`` presentation times, seconds, increasing.
        fps: average frames per second (fallback).
    """
    steps = np.diff(np.asarray(times, dtype=np.float64))
    steps = steps[steps > 0]
    return float(np.percentile(steps, 5)) if steps.size else 1.0 / fps


def motion_features(
    steps: FrameSteps, repeats: np.ndarray, start: float, end: float, frame_duration: float
) -> MotionFeatures:
    """Summarize the steps whose later frame is shown in ``[start, end)`` seconds.

    Args:
        steps: step measures of the whole video (see :func:`frame_steps`).
        repeats: ``(S,)`` bool from :func:`repeated_steps`.
        start, end: the span, seconds.
        frame_duration: nominal frame duration, seconds (see :func:`nominal_frame_duration`).

    Returns:
        The span's :class:`MotionFeatures`; all zeros (``max_gap`` 1) when it holds no
        step.
    """
    sel = (steps.time >= start) & (steps.time < end)
    if not sel.any():
        return MotionFeatures(0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    diff, dt = steps.diff[sel], steps.dt[sel]
    shifts = np.stack([steps.shift_x, steps.shift_y], axis=1)
    smooth = ndimage.uniform_filter1d(shifts, 5, axis=0, mode="nearest")
    jitter = np.linalg.norm(shifts - smooth, axis=1)[sel]
    luma = steps.luma
    accel = np.zeros_like(luma)
    if luma.size >= 3:
        accel[1:-1] = luma[2:] - 2.0 * luma[1:-1] + luma[:-2]
    dc = np.abs(steps.dc[sel])
    return MotionFeatures(
        frame_diff=float(diff.mean()),
        diff_cv=float(diff.std() / diff.mean()) if diff.mean() > 1e-9 else 0.0,
        repeat_share=float(repeats[sel].mean()),
        longest_freeze=_longest_run(repeats[sel], dt),
        pts_jitter=float(dt.std() / frame_duration),
        max_gap=float(dt.max() / frame_duration),
        picture_rate=float(np.sum(~repeats[sel]) / max(dt.sum(), 1e-9)),
        dc_share=float(np.mean(dc / np.maximum(dc + steps.ac[sel], 1e-9))),
        luma_oscillation=float(np.median(np.abs(accel[sel]))),
        flow=float(steps.flow[sel].mean()),
        global_motion=float(np.hypot(steps.shift_x[sel], steps.shift_y[sel]).mean()),
        shake=float(np.median(jitter)),
    )
