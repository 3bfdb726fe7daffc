"""The reader on damaged and hostile files: typed errors naming the file, truncation
detected, damaged frames never returned, guards before allocation, a time limit.

Fixtures are written at test time with PyAV (small, deterministic) and then damaged
byte-wise the way a broken download or disk would.
"""

from __future__ import annotations

import os
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import videoqa.video.reader as reader_module
from videoqa.errors import (
    CorruptVideoError,
    UnsupportedVideoError,
    UsageError,
    VideoError,
    VideoTimeoutError,
)
from videoqa.video.fuzz import ffmpeg_path, make_seeds
from videoqa.video.reader import VideoReader, probe, read_frames, time_limit
from videoqa.video.samplers import VideoTiming, sample_times

from .conftest import _x264, make_video, read_barcode


def _reads_alone(path: Path) -> dict[int, np.ndarray | str]:
    """Each frame read alone by a fresh single-threaded reader: pixels or the error class."""
    out: dict[int, np.ndarray | str] = {}
    with VideoReader(path, threads=False) as reader:
        for i in range(len(reader.frame_times())):
            try:
                out[i] = reader.read_indices([i]).frames[0]
            except VideoError as err:
                out[i] = type(err).__name__
    return out


# ---------------------------------------------------------------- metadata, demuxer bugs
def test_latin1_tags_open_leniently(tmp_path: Path) -> None:
    path = tmp_path / "latin1.mkv"
    out = av.open(str(path), "w", metadata_encoding="latin-1")
    out.metadata["title"] = "Café"  # written as the Latin-1 byte 0xE9: not UTF-8
    stream = out.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    for i in range(5):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 40, np.uint8), format="rgb24")
        out.mux(stream.encode(frame))
    out.mux(stream.encode())
    out.close()
    with pytest.raises(UnicodeDecodeError):
        av.open(str(path))  # what PyAV does with such a file by default
    assert probe(path).num_frames == 5
    assert read_frames(path, [0.0, 0.1]).frames.shape == (2, 48, 64, 3)


def test_untyped_demuxer_errors_become_corrupt_video_errors(
    bframes_video, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        """A container whose demuxer fails the way PyAV does on a damaged MPEG-TS."""

        def __init__(self, real: av.container.InputContainer) -> None:
            self._real = real

        def demux(self, *args: object) -> object:
            def packets():  # noqa: ANN202
                yield from ()
                raise IndexError("index out of range")

            return packets()

        def __getattr__(self, name: str) -> object:
            return getattr(self._real, name)

    with VideoReader(bframes_video.path) as reader:
        real_live = VideoReader._live
        monkeypatch.setattr(VideoReader, "_live", lambda self: Broken(real_live(self)))
        with pytest.raises(CorruptVideoError, match="IndexError") as caught:
            reader.frame_times()
    assert str(bframes_video.path) in str(caught.value)
    assert caught.value.path == str(bframes_video.path)


def test_resolution_change_mid_stream_keeps_one_shape(tmp_path: Path) -> None:
    """Two VP8 clips (64x48, then 96x64) remuxed into one WebM stream."""
    parts = []
    for k, size in enumerate([(64, 48), (96, 64)]):
        opts = {"deadline": "realtime", "cpu-used": "8"}
        parts.append(make_video(tmp_path / f"p{k}.webm", 10, size=size, codec="libvpx",
                                options=opts))  # fmt: skip
    path = tmp_path / "switch.webm"
    with av.open(str(parts[0].path)) as first:
        out = av.open(str(path), "w")
        stream = out.add_stream_from_template(first.streams.video[0])
        offset = 0
        for part in parts:
            with av.open(str(part.path)) as src:
                for packet in src.demux(video=0):
                    if packet.size == 0:
                        continue
                    packet.pts += offset
                    packet.dts += offset
                    packet.stream = stream
                    out.mux(packet)
            offset += 400  # 10 frames of 40 ms (time base 1/1000)
        out.close()
    with av.open(str(path)) as check:
        sizes = {(f.width, f.height) for f in check.decode(video=0)}
    assert sizes == {(64, 48), (96, 64)}  # the damage this test is about
    with VideoReader(path) as reader:
        assert (reader.info.width, reader.info.height) == (64, 48)
        whole = reader.read_all()
        some = reader.read_indices([3, 15])
    assert whole.frames.shape == (20, 48, 64, 3) and some.frames.shape == (2, 48, 64, 3)
    np.testing.assert_array_equal(whole.frames[[3, 15]], some.frames)


# ---------------------------------------------------------------- truncation
def _packets(path: Path) -> list[av.Packet]:
    with av.open(str(path)) as container:
        return [p for p in container.demux(video=0) if p.size]


@pytest.fixture(scope="module")
def ts_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ts") / "clip.ts"
    opts = _x264("keyint=12:min-keyint=12:scenecut=0:bframes=2")
    return make_video(path, 30, options=opts, fmt="mpegts").path


def test_truncated_mpegts_mkv_webm_are_corrupt(ts_video: Path, tmp_path: Path) -> None:
    webm = make_video(tmp_path / "c.webm", 30, codec="libvpx-vp9",
                      options={"deadline": "realtime", "cpu-used": "8"}).path  # fmt: skip
    mkv = make_video(tmp_path / "c.mkv", 30, fmt="matroska").path
    for source in (ts_video, webm, mkv):
        data = source.read_bytes()
        for fraction in (0.5, 0.9, 0.999):
            cut = tmp_path / f"cut{source.suffix}"
            size = int(len(data) * fraction)
            size += 1 if size % 188 == 0 else 0  # not on a TS packet boundary
            cut.write_bytes(data[:size])
            with VideoReader(cut) as reader, pytest.raises(CorruptVideoError, match="truncated"):
                reader.frame_times()
            with pytest.raises(CorruptVideoError, match=str(cut)):
                read_frames(cut, [0.0])
        assert len(VideoReader(source).frame_times()) == 30  # the whole files are fine


def test_mpegts_cut_at_a_packet_boundary_never_returns_the_partial_frame(
    ts_video: Path, tmp_path: Path
) -> None:
    """Cut inside the last keyframe, on a TS packet boundary (invisible to the demuxer):
    the partial frame raises on every read path; the other frames read identically."""
    last_key = [p for p in _packets(ts_video) if p.is_keyframe][-1]
    cut_at = (last_key.pos + last_key.size // 2) // 188 * 188
    path = tmp_path / "cut188.ts"
    path.write_bytes(ts_video.read_bytes()[:cut_at])
    alone = _reads_alone(path)
    bad = [i for i, v in alone.items() if isinstance(v, str)]
    assert bad == [max(alone)] and alone[bad[0]] == "CorruptVideoError"
    good = [i for i in alone if i not in bad]
    with VideoReader(path) as reader:
        batch = reader.read_indices(good)
        with pytest.raises(CorruptVideoError, match="damaged|could not be decoded"):
            reader.read_all()
        with pytest.raises(CorruptVideoError, match=str(path)):
            reader.read_indices(good[-3:] + bad)
    for k, i in enumerate(good):
        assert np.array_equal(batch.frames[k], alone[i]), f"frame {i} differs"
        assert read_barcode(batch.frames[k]) == i


@pytest.mark.skipif(ffmpeg_path() is None, reason="needs the ffmpeg command line")
@pytest.mark.parametrize("name", ["mpeg2.mpg", "mpeg2_open_gop.mpg"])
def test_mpeg_ps_cuts_never_return_a_partial_frame(tmp_path: Path, name: str) -> None:
    source = make_seeds(tmp_path, names=[name])[name]  # MPEG-2 in MPEG-PS, 30 frames
    data = source.read_bytes()
    path = tmp_path / "cut.mpg"
    noticed = 0
    for cut in range(len(data) // 2, len(data), 331):
        path.write_bytes(data[:cut])
        alone = _reads_alone(path)
        good = [i for i, v in alone.items() if not isinstance(v, str)]
        assert len(good) >= len(alone) - 4  # only the frames at the cut are refused
        with VideoReader(path) as reader:
            batch = reader.read_indices(good)
        for k, i in enumerate(good):
            assert np.array_equal(batch.frames[k], alone[i]), f"cut {cut}: frame {i} differs"
        noticed += len(good) < len(alone)
    assert noticed > 0  # cuts inside a frame are seen (those in padding packs do no harm)


# ---------------------------------------------------------------- guards
@pytest.mark.parametrize(("width", "height"), [(9000, 9000), (20000, 16), (16384, 16384)])
def test_absurd_frame_sizes_are_refused_before_allocation(
    tmp_path: Path, width: int, height: int
) -> None:
    path = tmp_path / "huge.y4m"  # raw YUV: the header alone sets the frame size
    head = f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\nFRAME\n".encode()
    path.write_bytes(head + bytes(4608))
    with pytest.raises(VideoError, match=str(path)) as caught:
        probe(path)
    if width * height < 2**28:  # FFmpeg opens these: the reader's own guard refuses them
        assert isinstance(caught.value, UnsupportedVideoError)
        assert f"{width}x{height}" in str(caught.value)


def test_absurd_durations_are_refused(tmp_path: Path) -> None:
    path = make_video(tmp_path / "long.mkv", 10, fmt="matroska").path
    data = bytearray(path.read_bytes())
    at = data.find(b"\x44\x89\x88")  # Segment Info / Duration, an 8-byte float in ms
    data[at + 3 : at + 11] = struct.pack(">d", 1e12)  # 10^9 s
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptVideoError, match="duration of 1e\\+09 s"):
        probe(path)


def test_lying_frame_counts_are_not_used_to_read(tmp_path: Path) -> None:
    path = make_video(tmp_path / "lie.avi", 30, codec="mjpeg", pix_fmt="yuvj420p", fmt="avi").path
    data = bytearray(path.read_bytes())
    avih = data.find(b"avih") + 8
    data[avih + 16 : avih + 20] = struct.pack("<I", 431)  # dwTotalFrames
    strh = data.find(b"strh") + 8
    data[strh + 32 : strh + 36] = struct.pack("<I", 431)  # dwLength
    path.write_bytes(bytes(data))
    assert probe(path).num_frames == 431  # the header's claim
    with VideoReader(path) as reader:
        assert len(reader.frame_times()) == 30 and reader.info.num_frames == 30
        times = sample_times("uniform", VideoTiming.from_info(reader.info), 16)
        batch = reader.read_at(times)
    assert [read_barcode(f) for f in batch.frames] == batch.indices.tolist()
    assert batch.indices.max() < 30 and len(set(batch.indices.tolist())) == 16


def test_one_frame_and_zero_frame_videos(tmp_path: Path) -> None:
    one = make_video(tmp_path / "one.mp4", 1).path
    with VideoReader(one) as reader:
        reader.frame_times()
        timing = VideoTiming.from_info(reader.info)
        batch = reader.read_at(sample_times("uniform", timing, 16))
    assert batch.frames.shape == (16, 48, 64, 3) and set(batch.indices.tolist()) == {0}
    empty = tmp_path / "zero.mp4"
    out = av.open(str(empty), "w")
    stream = out.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    stream.codec_context.time_base = Fraction(1, 25)
    out.mux(stream.encode())
    out.close()
    with pytest.raises(VideoError, match=str(empty)) as caught:
        with VideoReader(empty) as reader:
            reader.frame_times()
            VideoTiming.from_info(reader.info)
    assert caught.value.exit_code == 3


def test_special_files_are_refused_without_blocking(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedVideoError, match="empty"):
        probe(empty)
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes
    with pytest.raises(UnsupportedVideoError, match="regular file"):
        probe(fifo)


def test_a_read_too_large_for_memory_is_refused(
    bframes_video, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "MAX_BATCH_BYTES", 96 * 64 * 3 * 10)
    with VideoReader(bframes_video.path) as reader:
        assert reader.read_indices(list(range(10))).frames.shape == (10, 64, 96, 3)
        with pytest.raises(UsageError, match="GiB"):
            reader.read_all()
        assert reader.read_indices(list(range(20)), size=(48, 32)).frames.shape[0] == 20


# ---------------------------------------------------------------- time limit
def test_time_limit(bframes_video) -> None:
    with time_limit(1e-9), pytest.raises(VideoTimeoutError) as caught:
        read_frames(bframes_video.path, [0.0])
    assert str(bframes_video.path) in str(caught.value) and caught.value.exit_code == 3
    with time_limit(60):
        assert len(read_frames(bframes_video.path, [0.0, 1.0])) == 2
        with time_limit(1e-9), pytest.raises(VideoTimeoutError):  # the earlier deadline wins
            read_frames(bframes_video.path, [0.0])
        with time_limit(1e-9), time_limit(3600), pytest.raises(VideoTimeoutError):
            read_frames(bframes_video.path, [0.0])
    with time_limit(None), time_limit(0):
        assert len(read_frames(bframes_video.path, [0.0])) == 1
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(UsageError), time_limit(bad):
            pass


def test_a_decoder_stuck_in_ffmpeg_is_abandoned_at_the_limit(
    bframes_video, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FFmpeg's frame-threaded HEVC decoder can deadlock on damaged data inside one call;
    under a time limit the read gives up on it (simulated here by a call that blocks)."""
    import threading

    release = threading.Event()
    real = VideoReader._decode

    def stuck(self, packet):  # noqa: ANN001, ANN202
        release.wait()  # blocks without holding the GIL, as PyAV does in FFmpeg
        return real(self, packet)

    with VideoReader(bframes_video.path) as reader:
        reader.frame_times()
        monkeypatch.setattr(VideoReader, "_decode", stuck)
        try:
            with time_limit(0.05), pytest.raises(VideoTimeoutError, match="stuck") as caught:
                reader.read_at([1.0])
        finally:
            release.set()
        assert str(bframes_video.path) in str(caught.value)
        with pytest.raises(UsageError, match="closed"):  # the abandoned reader is unusable
            reader.read_at([1.0])
    monkeypatch.setattr(VideoReader, "_decode", real)
    with time_limit(60):  # a new reader of the same file works
        assert len(read_frames(bframes_video.path, [1.0])) == 1
