"""Motion measures: translation, repeats, gaps, flicker, chunking invariance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from videoqa.perception.quality.motion import (
    FrameSteps,
    MotionFeatures,
    frame_steps,
    motion_features,
    motion_size,
    nominal_frame_duration,
    repeated_steps,
)


def _texture(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.normal(128, 40, (h + 40, w + 40)), 1.5)


def _moving(n: int, dx: float, dy: float) -> np.ndarray:
    base = _texture()
    return np.stack(
        [ndimage.shift(base, (dy * i, dx * i), mode="wrap")[20:-20, 20:-20] for i in range(n)]
    )


def test_phase_correlation_recovers_a_global_translation():
    steps = frame_steps(_moving(5, 3.0, -2.0), np.arange(5) / 25.0)
    assert np.allclose(steps.shift_x, 3.0, atol=0.15)
    assert np.allclose(steps.shift_y, -2.0, atol=0.15)
    assert np.all(steps.flow > 1.0)  # local flow sees the motion too


def test_steps_of_a_still_video_are_zero():
    still = np.repeat(_texture()[None, 20:-20, 20:-20], 4, axis=0)
    steps = frame_steps(still, np.arange(4) / 30.0)
    assert len(steps) == 3
    assert np.allclose(steps.diff, 0.0) and np.allclose(steps.flow, 0.0)
    assert np.allclose(steps.shift_x, 0.0, atol=1e-6)


def test_chunked_steps_equal_one_pass():
    frames = _moving(9, 1.0, 0.5)
    times = np.arange(9) / 25.0
    whole = frame_steps(frames, times)
    first = frame_steps(frames[:4], times[:4])
    second = frame_steps(frames[4:], times[4:], previous=frames[3], previous_time=times[3])
    joined = FrameSteps.concat([first, second])
    for name in ("time", "dt", "diff", "dc", "shift_x", "flow", "luma"):
        assert np.allclose(getattr(joined, name), getattr(whole, name)), name
    with pytest.raises(ValueError):
        frame_steps(frames[4:], times[4:], previous=frames[3])


def _steps(
    diff: list[float],
    times: list[float] | None = None,
    dc: list[float] | None = None,
    luma: list[float] | None = None,
) -> FrameSteps:
    n = len(diff)
    t = np.asarray(times if times is not None else np.arange(1, n + 1) / 25.0, dtype=np.float64)
    prev = np.concatenate([[0.0], t[:-1]])
    zeros = np.zeros(n)
    dcs = np.asarray(dc if dc is not None else zeros, dtype=np.float64)
    return FrameSteps(
        time=t,
        dt=t - prev,
        diff=np.asarray(diff, dtype=np.float64),
        dc=dcs,
        ac=np.asarray(diff, dtype=np.float64) - np.abs(dcs),
        shift_x=zeros,
        shift_y=zeros,
        flow=zeros,
        luma=np.asarray(luma if luma is not None else zeros, dtype=np.float64),
    )


def test_repeats_picture_rate_and_longest_freeze():
    # 25 fps, every other step repeats the picture: 12.5 new pictures per second.
    diff = [4.0, 0.0] * 25
    steps = _steps(diff)
    rep = repeated_steps(steps, 25.0)
    assert rep.tolist() == [False, True] * 25
    feats = motion_features(steps, rep, 0.0, 10.0, 1 / 25)
    assert feats.repeat_share == pytest.approx(0.5)
    assert feats.picture_rate == pytest.approx(12.5)
    assert feats.longest_freeze == pytest.approx(1 / 25)
    frozen = _steps([4.0] * 10 + [0.01] * 5 + [4.0] * 10)
    rep = repeated_steps(frozen, 25.0)
    assert motion_features(frozen, rep, 0, 10, 1 / 25).longest_freeze == pytest.approx(5 / 25)


def test_pts_gaps_give_max_gap_and_jitter():
    times = [0.04, 0.08, 0.16, 0.20, 0.24]  # one frame missing at 0.12
    steps = _steps([3.0] * 5, times)
    feats = motion_features(steps, repeated_steps(steps, 25), 0.0, 1.0, 0.04)
    assert feats.max_gap == pytest.approx(2.0)
    assert feats.pts_jitter == pytest.approx(np.std([1, 1, 2, 1, 1]))
    assert nominal_frame_duration(np.array([0.0, *times]), 25.0) == pytest.approx(0.04)
    assert nominal_frame_duration(np.array([0.0]), 30.0) == pytest.approx(1 / 30)


def test_flicker_golden():
    # Mean luma alternates m + a, m - a: the second difference is +-4a; all change is DC.
    a = 3.0
    luma = [100 + a * (-1) ** i for i in range(20)]
    dc = [2 * a * (-1) ** i for i in range(20)]
    steps = _steps([2 * a] * 20, dc=dc, luma=luma)
    feats = motion_features(steps, repeated_steps(steps, 25), 0.0, 10.0, 0.04)
    assert feats.luma_oscillation == pytest.approx(4 * a)
    assert feats.dc_share == pytest.approx(1.0)


def test_empty_span_and_vector():
    steps = _steps([1.0, 2.0])
    feats = motion_features(steps, repeated_steps(steps, 25), 5.0, 6.0, 0.04)
    assert feats.max_gap == 1.0 and feats.frame_diff == 0.0
    assert feats.vector().shape == (len(MotionFeatures.names()),) == (12,)


def test_motion_size():
    assert motion_size(1280, 720) == (256, 144)
    assert motion_size(176, 144) == (176, 144)
    assert motion_size(640, 272) == (338, 144)
    assert motion_size(101, 51) == (100, 50)
