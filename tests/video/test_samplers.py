"""Frame samplers: golden values worked out by hand, and properties every sampler keeps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from videoqa.errors import UnknownNameError, UnsupportedVideoError, UsageError
from videoqa.video.samplers import (
    SAMPLERS,
    VideoTiming,
    frame_centres,
    list_samplers,
    sample_times,
    spread_indices,
)
from videoqa.video.types import VideoInfo


def frames_of(timing: VideoTiming, times: np.ndarray) -> np.ndarray:
    return np.floor(times * timing.fps).astype(np.int64)


# --- VideoTiming -------------------------------------------------------------------


def test_from_info_copies_timing() -> None:
    info = VideoInfo(
        path="v.mp4", duration=10.0, fps=25.0, num_frames=250, width=64, height=48, codec="h264"
    )
    assert VideoTiming.from_info(info) == VideoTiming(10.0, 25.0, 250)


def test_from_info_rejects_zero_duration() -> None:
    info = VideoInfo(
        path="v.mp4", duration=0.0, fps=25.0, num_frames=0, width=8, height=8, codec="h264"
    )
    with pytest.raises(UnsupportedVideoError, match="duration") as caught:
        VideoTiming.from_info(info)
    assert caught.value.exit_code == 3 and caught.value.path == "v.mp4"  # a bad video


@pytest.mark.parametrize(
    ("duration", "fps", "num_frames"),
    [
        (0.0, 30.0, 0),
        (-1.0, 30.0, 0),
        (math.nan, 30.0, 0),
        (math.inf, 30.0, 0),
        (1.0, 0.0, 0),
        (1.0, -5.0, 0),
        (1.0, 30.0, -1),
        (1.0, 30.0, 2.5),
    ],
)
def test_timing_rejects_bad_values(duration: float, fps: float, num_frames: int) -> None:
    with pytest.raises(UsageError):
        VideoTiming(duration, fps, num_frames)


@pytest.mark.parametrize(
    ("duration", "fps", "num_frames", "expected"),
    [
        (10.0, 30.0, 0, 300),  # whole number of frames
        (10.0, 30.0, 299, 299),  # the container's count caps it
        (10.0, 30.0, 500, 300),  # a count beyond the duration does not extend it
        (1.05, 1.0, 0, 2),  # a last frame cut short by the duration still counts
        (10.0 + 1e-9, 30.0, 0, 300),  # a rounding sliver is not a frame
        (0.01, 30.0, 0, 1),  # shorter than one frame
    ],
)
def test_frame_count(duration: float, fps: float, num_frames: int, expected: int) -> None:
    assert VideoTiming(duration, fps, num_frames).frame_count == expected


def test_frame_centres_and_cut_last_frame() -> None:
    timing = VideoTiming(1.05, 1.0, 0)  # frame 1 is visible on [1, 1.05)
    np.testing.assert_allclose(frame_centres(timing, np.array([0, 1])), [0.5, 1.025])


def test_spread_indices_exact() -> None:
    # floor((i + 0.5) * total / count)
    assert spread_indices(4, 10).tolist() == [1, 3, 6, 8]
    assert spread_indices(3, 3).tolist() == [0, 1, 2]
    assert spread_indices(5, 3).tolist() == [0, 0, 1, 2, 2]


# --- golden values -----------------------------------------------------------------


def test_registered_names() -> None:
    assert list_samplers() == ["clips", "fps", "head-tail", "uniform"]


def test_uniform_golden() -> None:
    times = sample_times("uniform", VideoTiming(10.0, 30.0, 300), 4)
    np.testing.assert_allclose(times, [1.25, 3.75, 6.25, 8.75])
    assert times.dtype == np.float64


def test_uniform_falls_back_to_frame_grid_on_collision() -> None:
    # 1.05 s at 1 fps: the centres 0.2625 and 0.7875 are both in frame 0, but the video
    # has 2 frames, so the two frames are taken (frame 1 at the middle of [1, 1.05)).
    np.testing.assert_allclose(sample_times("uniform", VideoTiming(1.05, 1.0, 0), 2), [0.5, 1.025])


def test_uniform_short_video_keeps_n_times() -> None:
    # 2 frames, 4 asked: the exact centres, two per frame.
    times = sample_times("uniform", VideoTiming(2.0, 1.0, 2), 4)
    np.testing.assert_allclose(times, [0.25, 0.75, 1.25, 1.75])


def test_fps_golden_one_per_second() -> None:
    timing = VideoTiming(10.0, 30.0, 300)
    times = sample_times("fps", timing, 0, rate=1.0)
    np.testing.assert_allclose(times, np.arange(10) + 1 / 60)
    capped = sample_times("fps", timing, 4, rate=1.0)  # ticks 1, 3, 6, 8 of 0..9
    np.testing.assert_allclose(capped, np.array([1, 3, 6, 8]) + 1 / 60)


def test_fps_golden_ntsc() -> None:
    # At 29.97 fps the frame shown at t = 1 s is frame 29 ([0.96763, 1.00100)).
    times = sample_times("fps", VideoTiming(2.5, 29.97, 0), 0)
    np.testing.assert_allclose(times, np.array([0.5, 29.5, 59.5]) / 29.97)


def test_fps_rate_above_frame_rate_dedupes() -> None:
    # 10 ticks per second on a 5 fps video: each frame is hit twice, counted once.
    times = sample_times("fps", VideoTiming(1.0, 5.0, 5), 0, rate=10.0)
    np.testing.assert_allclose(times, [0.1, 0.3, 0.5, 0.7, 0.9])


def test_fps_half_rate() -> None:
    # ticks every 0.5 s = 12.5 frames: frames 0, 12, 25, 37, 50, 62 (t = 0.5 lies in
    # frame 12, [0.48, 0.52)), returned at their centres.
    times = sample_times("fps", VideoTiming(3.0, 25.0, 75), 0, rate=2.0)
    np.testing.assert_allclose(times, [0.02, 0.5, 1.02, 1.5, 2.02, 2.5])


def test_clips_golden() -> None:
    timing = VideoTiming(10.0, 10.0, 100)
    # segments [0, 50) and [50, 100), centres 25 and 75: frames 23..26 and 73..76
    times = sample_times("clips", timing, 2, frames_per_clip=4)
    np.testing.assert_allclose(times, [2.35, 2.45, 2.55, 2.65, 7.35, 7.45, 7.55, 7.65])
    # stride 3: span 10 frames, start 25 - 5 = 20: frames 20, 23, 26, 29 and 70..79
    strided = sample_times("clips", timing, 2, frames_per_clip=4, stride=3)
    np.testing.assert_allclose(strided, [2.05, 2.35, 2.65, 2.95, 7.05, 7.35, 7.65, 7.95])


def test_clips_stride_shrinks_to_fit() -> None:
    # 12 frames, 3 clips of 4: segments of 4 frames hold stride 1 only.
    times = sample_times("clips", VideoTiming(12.0, 1.0, 12), 3, frames_per_clip=4, stride=5)
    np.testing.assert_allclose(times, np.arange(12) + 0.5)


def test_clips_clamped_into_segments() -> None:
    # 10 frames, 2 clips of 3 at stride 2 (span 5 = the segment): frames 0,2,4 and 5,7,9.
    times = sample_times("clips", VideoTiming(10.0, 1.0, 10), 2, frames_per_clip=3, stride=2)
    np.testing.assert_allclose(times, [0.5, 2.5, 4.5, 5.5, 7.5, 9.5])


def test_clips_default_four_frames_and_float_option() -> None:
    timing = VideoTiming(60.0, 30.0, 1800)
    assert sample_times("clips", timing, 3).shape == (12,)
    np.testing.assert_array_equal(
        sample_times("clips", timing, 3, frames_per_clip=8.0),
        sample_times("clips", timing, 3, frames_per_clip=8),
    )


def test_head_tail_takes_every_frame_when_n_equals_frames() -> None:
    np.testing.assert_allclose(
        sample_times("head-tail", VideoTiming(4.0, 1.0, 4), 4), [0.5, 1.5, 2.5, 3.5]
    )
    # 5 frames: halves of 2 and 3 frames; the head cannot hold 3, the tail makes up.
    np.testing.assert_allclose(
        sample_times("head-tail", VideoTiming(5.0, 1.0, 5), 5), [0.5, 1.5, 2.5, 3.5, 4.5]
    )


def test_head_tail_short_video_repeats_evenly() -> None:
    times = sample_times("head-tail", VideoTiming(3.0, 1.0, 3), 5)
    np.testing.assert_allclose(times, [0.5, 0.5, 1.5, 2.5, 2.5])


@pytest.mark.parametrize(("n", "head"), [(2, 1), (3, 2), (8, 4)])
def test_head_tail_splits_between_halves(n: int, head: int) -> None:
    timing = VideoTiming(10.0, 1.0, 10)  # head frames 0..4, tail frames 5..9
    for seed in range(50):
        frames = frames_of(timing, sample_times("head-tail", timing, n, seed=seed))
        assert int(np.sum(frames < 5)) == head
        assert len(frames) == n


def test_head_tail_seed_draws_cover_each_half() -> None:
    timing = VideoTiming(10.0, 1.0, 10)
    draws = [tuple(sample_times("head-tail", timing, 2, seed=s)) for s in range(200)]
    assert len(set(draws)) > 10  # the seed changes the draw
    heads = {int(d[0]) for d in draws}
    tails = {int(d[1]) for d in draws}
    assert heads == {0, 1, 2, 3, 4}
    assert tails == {5, 6, 7, 8, 9}
    assert sample_times("head-tail", timing, 2).tolist() == list(draws[0])  # default seed 0


# --- errors --------------------------------------------------------------------------


def test_unknown_sampler() -> None:
    with pytest.raises(UnknownNameError, match="uniform"):
        sample_times("random", VideoTiming(1.0, 1.0, 1), 4)


@pytest.mark.parametrize("name", ["uniform", "head-tail", "clips"])
@pytest.mark.parametrize("n", [0, -3, 2.0, True])
def test_bad_n(name: str, n: int) -> None:
    with pytest.raises(UsageError):
        sample_times(name, VideoTiming(10.0, 30.0, 300), n)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("uniform", {"rate": 1.0}),
        ("fps", {"rate": 0.0}),
        ("fps", {"rate": -1.0}),
        ("fps", {"rate": math.nan}),
        ("fps", {"frames_per_clip": 2}),
        ("clips", {"frames_per_clip": 0}),
        ("clips", {"frames_per_clip": 2.5}),
        ("clips", {"stride": 0}),
        ("head-tail", {"seed": -1}),
        ("head-tail", {"seed": "a"}),
    ],
)
def test_bad_options(name: str, options: dict) -> None:
    with pytest.raises(UsageError):
        sample_times(name, VideoTiming(10.0, 30.0, 300), 4, **options)


def test_unknown_option_message_lists_options() -> None:
    with pytest.raises(UsageError, match="frames_per_clip, stride"):
        sample_times("clips", VideoTiming(10.0, 30.0, 300), 4, size=3)


def test_plugin_output_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SAMPLERS._items, "backwards", lambda timing, n: np.array([2.0, 1.0]))
    monkeypatch.setitem(SAMPLERS._items, "too-late", lambda timing, n: np.array([timing.duration]))
    timing = VideoTiming(10.0, 30.0, 300)
    with pytest.raises(ValueError, match="backwards"):
        sample_times("backwards", timing, 2)
    with pytest.raises(ValueError, match="too-late"):
        sample_times("too-late", timing, 1)


# --- properties of every sampler -----------------------------------------------------


@st.composite
def timings(draw: st.DrawFn) -> VideoTiming:
    fps = draw(
        st.one_of(
            st.sampled_from([1.0, 23.976, 24.0, 25.0, 29.97, 30.0, 60.0]), st.floats(0.5, 120.0)
        )
    )
    duration = draw(st.floats(0.01, 7200.0))
    exact = math.ceil(duration * fps)
    num_frames = draw(st.sampled_from([0, exact, max(1, round(duration * fps)), exact + 7]))
    return VideoTiming(duration, fps, num_frames)


OPTIONS = {
    "uniform": st.just({}),
    "head-tail": st.fixed_dictionaries({"seed": st.integers(0, 2**32)}),
    "fps": st.fixed_dictionaries({"rate": st.floats(0.01, 100.0)}),
    "clips": st.fixed_dictionaries(
        {"frames_per_clip": st.integers(1, 8), "stride": st.integers(1, 6)}
    ),
}


def expected_length(name: str, n: int, options: dict) -> int | None:
    if name == "clips":
        return n * options["frames_per_clip"]
    if name == "fps":
        return None
    return n


@pytest.mark.parametrize("name", sorted(OPTIONS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_sampler_properties(name: str, data: st.DataObject) -> None:
    timing = data.draw(timings())
    n = data.draw(st.integers(0 if name == "fps" else 1, 64))
    options = data.draw(OPTIONS[name])
    times = sample_times(name, timing, n, **options)

    assert times.dtype == np.float64 and times.ndim == 1 and times.size >= 1
    assert np.all(np.diff(times) >= 0), "sorted"
    assert times[0] >= 0 and times[-1] < timing.duration, "inside the video"
    frames = frames_of(timing, times)
    assert frames.max() < timing.frame_count, "inside a frame of the video"
    want = expected_length(name, n, options)
    if want is not None:
        assert times.size == want
        if want <= timing.frame_count:
            assert np.all(np.diff(frames) > 0), "distinct frames"
    else:
        assert np.all(np.diff(frames) > 0), "distinct frames"
        if n > 0:
            assert times.size <= n
    np.testing.assert_array_equal(times, sample_times(name, timing, n, **options))


@settings(max_examples=100, deadline=None)
@given(timing=timings(), n=st.integers(1, 64))
def test_uniform_is_exact_segment_centres_when_frames_allow(timing: VideoTiming, n: int) -> None:
    times = sample_times("uniform", timing, n)
    centres = (np.arange(n) + 0.5) * timing.duration / n
    frames = frames_of(timing, centres)
    if np.unique(frames).size == n and frames.max() < timing.frame_count:
        np.testing.assert_allclose(times, centres, rtol=1e-12)
    # either way each time is within one segment of its centre
    assert np.all(np.abs(times - centres) <= timing.duration / n + 1.0 / timing.fps)


@settings(max_examples=100, deadline=None)
@given(timing=timings(), n=st.integers(1, 16), per_clip=st.integers(1, 6), stride=st.integers(1, 4))
def test_clips_are_consecutive_runs(
    timing: VideoTiming, n: int, per_clip: int, stride: int
) -> None:
    if n * per_clip > timing.frame_count:
        return
    times = sample_times("clips", timing, n, frames_per_clip=per_clip, stride=stride)
    frames = frames_of(timing, times).reshape(n, per_clip)
    steps = np.diff(frames, axis=1)
    if per_clip > 1:
        assert np.all(steps == steps[0, 0]) and 1 <= steps[0, 0] <= stride
    # clip i stays in segment i of the frame grid
    bounds = (np.arange(n + 1) * timing.frame_count) // n
    assert np.all(frames[:, 0] >= bounds[:-1]) and np.all(frames[:, -1] < bounds[1:])
