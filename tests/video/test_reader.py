"""Tests of the PyAV video reader: exact times, frame-exact sparse reads, typed errors."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.video.conftest import MadeVideo, read_barcode
from videoqa.errors import (
    CorruptVideoError,
    UnsupportedVideoError,
    UsageError,
    VideoNotFoundError,
)
from videoqa.video.reader import VideoReader, probe, read_frames
from videoqa.video.samples import sample_video
from videoqa.video.types import FrameBatch

MADE = [
    "bframes_video",
    "vfr_video",
    "long_gop_video",
    "open_gop_video",
    "odd_size_video",
    "audio_video",
    "mpegts_video",
    "webm_video",
    "rotated_pattern_video",
]
# Reference decodes of the large sample videos are made at a reduced size to save memory.
SAMPLE_SIZES = {
    "bikes": None,
    "bigbuckbunny": (640, 360),
    "carphone_pristine": None,
    "carphone_distorted": None,
}


@cache
def reference(path: Path, size: tuple[int, int] | None = None) -> FrameBatch:
    """Full sequential decode (cached per file and size)."""
    with VideoReader(path) as reader:
        return reader.read_all(size=size)


def upright_barcode(frame: np.ndarray, rotation: int) -> int:
    """Frame number of a :func:`pattern` frame returned upright for a rotated video."""
    return read_barcode(np.rot90(frame, k=-(rotation // 90)))


def query_times(duration: float, seed: int) -> np.ndarray:
    """Random times (some outside the video), a uniform grid and repeats."""
    rng = np.random.default_rng(seed)
    random = rng.uniform(-0.5, duration + 0.5, 16)
    uniform = (np.arange(8) + 0.5) / 8 * duration
    return np.concatenate([random, uniform, random[:3]])


def assert_matches_reference(reader: VideoReader, batch: FrameBatch, ref: FrameBatch) -> None:
    times = reader.frame_times()
    np.testing.assert_array_equal(batch.times, times[batch.indices])
    np.testing.assert_array_equal(batch.times, ref.times[batch.indices])
    for k, i in enumerate(batch.indices):
        assert np.array_equal(batch.frames[k], ref.frames[i]), f"frame {i} differs"


# ---------------------------------------------------------------- probe and times
@pytest.mark.parametrize(
    ("name", "size", "fps", "frames", "duration", "audio"),
    [
        ("bikes", (640, 272), 25.0, 250, 10.0, False),
        ("bigbuckbunny", (1280, 720), 25.0, 132, 5.28, True),
        ("carphone_pristine", (176, 144), 30000 / 1001, 120, 4.004, False),
        ("carphone_distorted", (176, 144), 30000 / 1001, 120, 4.004, False),
    ],
)
def test_probe_sample_videos(name, size, fps, frames, duration, audio):
    info = probe(sample_video(name))
    assert (info.width, info.height) == size
    assert info.fps == pytest.approx(fps, abs=1e-9)
    assert info.num_frames == frames
    assert info.duration == pytest.approx(duration, abs=1e-9)
    assert info.codec == "h264"
    assert info.has_audio is audio
    assert info.rotation == 0
    assert info.start_time == 0.0
    with VideoReader(sample_video(name)) as reader:
        reader.frame_times()
        assert reader.info == info  # exact values agree with the header here


def test_bikes_frame_times_and_index_at():
    with VideoReader(sample_video("bikes")) as reader:
        times = reader.frame_times()
        np.testing.assert_allclose(times, np.arange(250) * 0.04, rtol=0, atol=1e-12)
        query = [-1.0, 0.0, 0.0399, 0.04, 0.041, 5.0, 9.96, 9.999, 10.5, np.inf]
        expected = [0, 0, 0, 1, 1, 125, 249, 249, 249, 249]
        np.testing.assert_array_equal(reader.index_at(query), expected)
        assert reader.index_at(times).tolist() == list(range(250))
        assert reader.keyframe_indices().dtype == np.int64


@pytest.mark.parametrize("fixture", MADE)
def test_frame_times_are_the_written_times(fixture, request):
    made: MadeVideo = request.getfixturevalue(fixture)
    with VideoReader(made.path) as reader:
        times = reader.frame_times()
        assert times.dtype == np.float64
        np.testing.assert_allclose(times, made.times, rtol=0, atol=1e-9)
        assert reader.info.num_frames == made.num_frames
        expected_keys = np.arange(0, made.num_frames, made.keyint or made.num_frames)
        np.testing.assert_array_equal(reader.keyframe_indices(), expected_keys)


def test_vfr_index_at_between_frames(vfr_video):
    with VideoReader(vfr_video.path) as reader:
        times = reader.frame_times()
        assert len(np.unique(np.round(np.diff(times), 3))) > 3  # really variable
        middle = (times[:-1] + times[1:]) / 2
        np.testing.assert_array_equal(reader.index_at(middle), np.arange(len(times) - 1))
        np.testing.assert_array_equal(reader.index_at(times), np.arange(len(times)))
        np.testing.assert_array_equal(reader.index_at(times[1:] - 1e-6), np.arange(len(times) - 1))


def test_mpegts_start_offset(mpegts_video):
    info = probe(mpegts_video.path)
    assert info.start_time > 0
    with VideoReader(mpegts_video.path) as reader:
        assert reader.frame_times()[0] == 0.0
        assert reader.info.start_time == pytest.approx(info.start_time)


def test_webm_frame_count_exact_after_demux(webm_video):
    info = probe(webm_video.path)  # the WebM header has no frame count
    assert info.codec == "vp9"
    assert info.num_frames == round(info.duration * info.fps)
    with VideoReader(webm_video.path) as reader:
        reader.frame_times()
        assert reader.info.num_frames == 45
        assert reader.info.duration == pytest.approx(45 * 0.04)


def test_probe_audio_and_odd_size(audio_video, odd_size_video):
    assert probe(audio_video.path).has_audio is True
    info = probe(odd_size_video.path)
    assert (info.width, info.height, info.has_audio) == (175, 97, False)


# ---------------------------------------------------------------- frame-exact reads
@pytest.mark.parametrize("fixture", MADE)
def test_read_at_equals_full_decode_on_fixtures(fixture, request):
    made: MadeVideo = request.getfixturevalue(fixture)
    ref = reference(made.path)
    assert [upright_barcode(f, made.rotation) for f in ref.frames] == list(range(made.num_frames))
    with VideoReader(made.path) as reader:
        times = query_times(reader.info.duration, seed=len(fixture))
        batch = reader.read_at(times)
        np.testing.assert_array_equal(batch.indices, reader.index_at(times))
        assert_matches_reference(reader, batch, ref)
        codes = [upright_barcode(f, made.rotation) for f in batch.frames]
        assert codes == batch.indices.tolist()


@pytest.mark.parametrize("name", list(SAMPLE_SIZES))
def test_read_at_equals_full_decode_on_samples(name):
    path, size = sample_video(name), SAMPLE_SIZES[name]
    ref = reference(path, size)
    with VideoReader(path) as reader:
        times = query_times(reader.info.duration, seed=3)
        batch = reader.read_at(times, size=size)
        assert_matches_reference(reader, batch, ref)


def test_order_and_duplicates_are_kept(bframes_video):
    with VideoReader(bframes_video.path) as reader:
        batch = reader.read_indices([7, 2, 7, 0, 2, 95])
        assert batch.indices.tolist() == [7, 2, 7, 0, 2, 95]
        assert [read_barcode(f) for f in batch.frames] == [7, 2, 7, 0, 2, 95]
        np.testing.assert_array_equal(batch.frames[0], batch.frames[2])
        np.testing.assert_allclose(batch.times, np.array([7, 2, 7, 0, 2, 95]) * 0.04)


def test_duplicates_are_decoded_once(bframes_video):
    counts = []
    for request in ([30], [30, 30, 30, 30]):
        with VideoReader(bframes_video.path) as reader:
            reader.frame_times()
            before = reader.stats.decoded_frames
            reader.read_indices(request)
            counts.append(reader.stats.decoded_frames - before)
    assert counts[0] == counts[1]


def test_out_of_range_times_clamp(bframes_video):
    with VideoReader(bframes_video.path) as reader:
        batch = reader.read_at([-3.0, 1e6, np.inf, -np.inf, 3.84])
        assert batch.indices.tolist() == [0, 95, 95, 0, 95]
        assert [read_barcode(f) for f in batch.frames] == [0, 95, 95, 0, 95]


def test_size_resizes_like_the_full_decode(odd_size_video):
    with VideoReader(odd_size_video.path) as reader:
        batch = reader.read_at([0.1, 0.5, 1.1], size=(40, 30))
        assert batch.frames.shape == (3, 30, 40, 3)
        assert_matches_reference(reader, batch, reference(odd_size_video.path, (40, 30)))
        assert reader.read_at([0.1]).frames.shape == (1, 97, 175, 3)


def test_empty_request(bframes_video):
    with VideoReader(bframes_video.path) as reader:
        batch = reader.read_at([])
        assert batch.frames.shape == (0, 64, 96, 3)
        assert reader.read_indices(np.array([], np.int64), size=(8, 6)).frames.shape == (0, 6, 8, 3)


def test_single_thread_gives_the_same_pixels(bframes_video):
    times = query_times(3.84, seed=11)
    with VideoReader(bframes_video.path, threads=False) as single:
        one = single.read_at(times)
    with VideoReader(bframes_video.path) as threaded:
        many = threaded.read_at(times)
    np.testing.assert_array_equal(one.frames, many.frames)


def test_read_frames_convenience(vfr_video):
    times = [0.0, 1.0, 2.5]
    with VideoReader(vfr_video.path) as reader:
        expected = reader.read_at(times)
    got = read_frames(vfr_video.path, times)
    np.testing.assert_array_equal(got.frames, expected.frames)
    np.testing.assert_array_equal(got.indices, expected.indices)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.floats(-1.0, 6.0, allow_nan=False), min_size=1, max_size=12))
def test_any_times_match_full_decode_vfr(vfr_video, times):
    with VideoReader(vfr_video.path) as reader:
        batch = reader.read_at(times)
        assert_matches_reference(reader, batch, reference(vfr_video.path))


# ---------------------------------------------------------------- seeking paths
def test_back_off_when_a_seek_lands_too_late(vfr_video, monkeypatch):
    """A seek that lands after the keyframe (as on MP4 indexed by dts) is retried earlier."""
    original = VideoReader._seek_targets
    end = 10**12  # far past the last keyframe: the demuxer lands on the last one

    def late_first(self, key_k):
        yield end
        yield from original(self, key_k)

    monkeypatch.setattr(VideoReader, "_seek_targets", late_first)
    with VideoReader(vfr_video.path) as reader:
        batch = reader.read_at([0.3, 2.0, 4.0])
        assert reader.stats.seeks > 3
        assert_matches_reference(reader, batch, reference(vfr_video.path))


def test_restart_when_seeking_is_impossible(open_gop_video, monkeypatch):
    monkeypatch.setattr(VideoReader, "_seek_targets", lambda self, key_k: iter([None]))
    with VideoReader(open_gop_video.path) as reader:
        batch = reader.read_at([0.5, 2.0, 3.5])
        assert [read_barcode(f) for f in batch.frames] == batch.indices.tolist()
        assert_matches_reference(reader, batch, reference(open_gop_video.path))


# ---------------------------------------------------------------- decoding work
def _is_reference_packet(data: bytes) -> bool:
    """H.264 AVCC packet (4-byte NAL lengths): is its first slice a reference picture?"""
    offset = 0
    while offset + 5 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        header = data[offset + 4]
        if header & 0x1F in (1, 5):  # coded slice (non-IDR / IDR)
            return (header >> 5) & 3 != 0
        offset += 4 + length
    raise AssertionError("no slice in packet")


def _expected_decodes(path: Path, targets: list[int], keyint: int) -> int:
    """Frames the needed-GOP plan decodes: per GOP, from its keyframe to its last target,
    the reference pictures plus the targets (decoding order from an independent demux)."""
    with av.open(str(path)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
    pts = np.array([p.pts for p in packets])
    display = np.argsort(np.argsort(pts))  # display index of each packet
    total = 0
    for gop in sorted({t // keyint for t in targets}):
        wanted = {t for t in targets if t // keyint == gop}
        start = int(np.flatnonzero(display == gop * keyint)[0])
        end = max(int(np.flatnonzero(display == t)[0]) for t in wanted)
        for pos in range(start, end + 1):
            total += display[pos] in wanted or _is_reference_packet(bytes(packets[pos]))
    return total


@pytest.mark.parametrize("targets", [[0], [23], [5, 30, 31], [10, 50, 70, 94]])
def test_decodes_only_the_needed_frames(bframes_video, targets):
    expected = _expected_decodes(bframes_video.path, targets, keyint=24)
    with VideoReader(bframes_video.path) as reader:
        reader.frame_times()
        before = reader.stats.decoded_frames
        batch = reader.read_indices(targets)
        assert reader.stats.decoded_frames - before == expected
    assert [read_barcode(f) for f in batch.frames] == targets


def test_sparse_sampling_decodes_far_fewer_frames(bframes_video, long_gop_video):
    with VideoReader(sample_video("bikes")) as reader:
        reader.frame_times()
        before = reader.stats.decoded_frames
        reader.read_at((np.arange(8) + 0.5) / 8 * 10.0)  # 8 targets in 5 of the 6 GOPs
        assert reader.stats.decoded_frames - before < 250 / 2
    with VideoReader(bframes_video.path) as reader:
        reader.frame_times()
        before = reader.stats.decoded_frames
        reader.read_indices([0, 24, 48, 72])  # the 4 keyframes: nothing else is decoded
        assert reader.stats.decoded_frames - before == 4
    with VideoReader(long_gop_video.path) as reader:
        reader.frame_times()
        before = reader.stats.decoded_frames
        reader.read_at([0.0])  # the keyframe alone, out of 200 frames in one GOP
        assert reader.stats.decoded_frames - before == 1


def test_opening_decodes_nothing_and_info_one_keyframe(rotated_pattern_video):
    with VideoReader(rotated_pattern_video.path) as reader:
        assert reader.stats.decoded_frames == 0  # header only
        assert reader.info.rotation == 90  # needs the first keyframe, decoded alone
        assert reader.stats.decoded_frames == 1
        assert reader.info.rotation == 90
        assert reader.stats.decoded_frames == 1


# ---------------------------------------------------------------- rotation
CORNERS = {90: "bottom_left", 180: "bottom_right", 270: "top_right"}


def _bright_corner(frame: np.ndarray) -> str:
    h, w = frame.shape[0] // 4, frame.shape[1] // 4
    corners = {
        "top_left": frame[:h, :w],
        "top_right": frame[:h, -w:],
        "bottom_left": frame[-h:, :w],
        "bottom_right": frame[-h:, -w:],
    }
    return max(corners, key=lambda k: corners[k].mean())


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotation_gives_upright_frames(rotated_videos, degrees):
    made = rotated_videos[degrees]
    info = probe(made.path)
    assert (info.width, info.height, info.rotation) == (64, 32, degrees)
    with VideoReader(made.path) as reader:
        frame = reader.read_at([0.0]).frames[0]
        resized = reader.read_at([0.0], size=(16, 24)).frames[0]
    assert frame.shape == ((32, 64, 3) if degrees == 180 else (64, 32, 3))
    assert resized.shape == (24, 16, 3)
    assert _bright_corner(frame) == CORNERS[degrees]
    assert _bright_corner(resized) == CORNERS[degrees]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg CLI not installed")
@pytest.mark.parametrize("degrees", [90, 270])
def test_rotation_agrees_with_ffmpeg_autorotate(rotated_videos, degrees):
    path = rotated_videos[degrees].path
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1"]
        + ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout
    ffmpeg_frame = np.frombuffer(raw, np.uint8).reshape(64, 32, 3)
    ours = read_frames(path, [0.0]).frames[0]
    assert np.abs(ours.astype(int) - ffmpeg_frame.astype(int)).mean() < 8


# ---------------------------------------------------------------- errors
def test_missing_file(tmp_path):
    missing = tmp_path / "nope.mp4"
    for call in (
        lambda: probe(missing),
        lambda: VideoReader(missing),
        lambda: read_frames(missing, [0]),
    ):
        with pytest.raises(VideoNotFoundError) as caught:
            call()
        assert isinstance(caught.value, FileNotFoundError)
        assert caught.value.exit_code == 3


@pytest.mark.parametrize("fixture", ["text_file", "random_bytes_file", "audio_only_file"])
def test_non_video_files_are_unsupported(fixture, request):
    path = request.getfixturevalue(fixture)
    with pytest.raises(UnsupportedVideoError):
        probe(path)
    with pytest.raises(UnsupportedVideoError):
        read_frames(path, [0.0])


def test_directory_is_unsupported(tmp_path):
    with pytest.raises(UnsupportedVideoError):
        probe(tmp_path)


def test_truncated_files_are_corrupt(
    truncated_video, truncated_no_index_video, truncated_avi_video
):
    with pytest.raises(CorruptVideoError):
        probe(truncated_no_index_video)
    assert probe(truncated_video).num_frames == 60  # the header survived
    with (
        VideoReader(truncated_video) as reader,
        pytest.raises(CorruptVideoError, match="truncated"),
    ):
        reader.frame_times()
    with pytest.raises(CorruptVideoError):
        read_frames(truncated_video, [0.0])
    with (
        VideoReader(truncated_avi_video) as reader,
        pytest.raises(CorruptVideoError, match="truncated"),
    ):
        reader.frame_times()


def test_usage_errors(bframes_video):
    reader = VideoReader(bframes_video.path)
    with pytest.raises(UsageError):
        reader.read_at([0.0], size=(0, 10))
    with pytest.raises(UsageError):
        reader.read_at([np.nan])
    with pytest.raises(UsageError):
        reader.read_indices([96])
    with pytest.raises(UsageError):
        reader.read_indices([-1])
    with pytest.raises(UsageError):
        reader.read_indices([1.5])
    reader.close()
    reader.close()  # idempotent
    with pytest.raises(UsageError):
        reader.read_at([0.0])
