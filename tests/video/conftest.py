"""Small test videos written with PyAV (session-scoped, a few kB each).

Every frame carries its frame number as an 8-bit barcode: 8 black/white blocks across
the top sixth of the coded picture (bit 7 first), so a test can read back which frame it
got independently of the reader. The rest of the picture is a moving gradient, so that
frames differ and motion compensation is exercised.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest


@dataclass(frozen=True)
class MadeVideo:
    """A written test video and what was put in it.

    Attributes:
        path: the file.
        times: ``(N,)`` float64 seconds at which the frames were written, first at 0.0.
        size: coded ``(width, height)`` in pixels.
        rotation: counter-clockwise display rotation written in the display matrix.
        keyint: distance between keyframes (frames) requested from the encoder.
    """

    path: Path
    times: np.ndarray
    size: tuple[int, int]
    rotation: int = 0
    keyint: int = 0

    @property
    def num_frames(self) -> int:
        return len(self.times)


def pattern(i: int, width: int, height: int) -> np.ndarray:
    """``(H, W, 3)`` uint8 frame ``i``: barcode of ``i`` on top, moving gradient below."""
    y, x = np.mgrid[0:height, 0:width]
    frame = np.empty((height, width, 3), np.uint8)
    frame[..., 0] = (x * 3 + i * 5) % 256
    frame[..., 1] = (y * 4 + i * 3) % 256
    frame[..., 2] = ((x + y) * 2 + i * 7) % 256
    bar_h, bar_w = max(4, height // 6), width // 8
    for bit in range(8):
        on = (i >> (7 - bit)) & 1
        frame[:bar_h, bit * bar_w : (bit + 1) * bar_w] = 255 * on
    return frame


def read_barcode(frame: np.ndarray) -> int:
    """Frame number from a decoded, upright, unrotated ``(H, W, 3)`` frame of :func:`pattern`."""
    height, width = frame.shape[:2]
    bar_h, bar_w = max(4, height // 6), width // 8
    value = 0
    for bit in range(8):
        block = frame[1 : bar_h - 1, bit * bar_w + 1 : (bit + 1) * bar_w - 1]
        value = (value << 1) | int(block.mean() > 128)
    return value


def marker_frame(width: int, height: int) -> np.ndarray:
    """Black frame with a white square in the top-left corner (rotation tests)."""
    frame = np.zeros((height, width, 3), np.uint8)
    frame[: height // 4, : height // 4] = 255
    return frame


def make_video(
    path: Path,
    num_frames: int,
    *,
    size: tuple[int, int] = (64, 48),
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    options: dict[str, str] | None = None,
    times_ms: np.ndarray | None = None,
    rotation: int = 0,
    audio: bool = False,
    container_options: dict[str, str] | None = None,
    fmt: str | None = None,
    frames: np.ndarray | None = None,
    keyint: int = 0,
) -> MadeVideo:
    """Encode ``num_frames`` frames of :func:`pattern` (or ``frames``) at 25 fps or ``times_ms``."""
    width, height = size
    if times_ms is None:
        times_ms = np.arange(num_frames) * 40
    out = av.open(str(path), "w", format=fmt, options=container_options or {})
    stream = out.add_stream(codec, rate=25, options=options or {})
    stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
    stream.codec_context.time_base = Fraction(1, 1000)
    if codec in ("libvpx-vp9", "mpeg4") and keyint:
        stream.codec_context.gop_size = keyint
    if rotation:
        stream.set_display_rotation(rotation)
    tone = out.add_stream("aac", rate=16000, layout="mono") if audio else None
    for i in range(num_frames):
        image = frames[i] if frames is not None else pattern(i, width, height)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = int(times_ms[i]), Fraction(1, 1000)
        out.mux(stream.encode(frame))
    out.mux(stream.encode())
    if tone is not None:
        _write_tone(out, tone, seconds=float(times_ms[-1]) / 1000 + 0.04)
    out.close()
    times = (np.asarray(times_ms, np.float64) - times_ms[0]) / 1000
    return MadeVideo(Path(path), times, size, rotation, keyint)


def _write_tone(out: av.container.OutputContainer, stream: av.AudioStream, seconds: float) -> None:
    """Encode about ``seconds`` s of a 440 Hz tone into ``stream`` (mono 16 kHz AAC)."""
    samples = 1024
    for k in range(int(seconds * 16000) // samples + 1):
        t = (np.arange(samples) + k * samples) / 16000
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 16000, k * samples
        out.mux(stream.encode(frame))
    out.mux(stream.encode())


def _x264(params: str) -> dict[str, str]:
    return {"preset": "veryfast", "x264-params": params}


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="session")
def bframes_video(video_dir: Path) -> MadeVideo:
    """96 frames, 25 fps, B-frames (3, pyramid), a keyframe every 24 frames."""
    opts = _x264("keyint=24:min-keyint=24:scenecut=0:bframes=3:b-pyramid=normal")
    return make_video(video_dir / "bframes.mp4", 96, size=(96, 64), options=opts, keyint=24)


@pytest.fixture(scope="session")
def vfr_video(video_dir: Path) -> MadeVideo:
    """90 frames at irregular intervals (20-100 ms), B-frames, keyframe every 15 frames."""
    steps = np.random.default_rng(7).choice([20, 33, 40, 67, 100], size=89)
    times_ms = np.concatenate([[0], np.cumsum(steps)])
    opts = _x264("keyint=15:min-keyint=15:scenecut=0:bframes=2")
    return make_video(video_dir / "vfr.mp4", 90, options=opts, times_ms=times_ms, keyint=15)


@pytest.fixture(scope="session")
def long_gop_video(video_dir: Path) -> MadeVideo:
    """200 frames with a single keyframe."""
    opts = _x264("keyint=1000:min-keyint=1000:scenecut=0:bframes=3")
    return make_video(video_dir / "long_gop.mp4", 200, options=opts, keyint=1000)


@pytest.fixture(scope="session")
def open_gop_video(video_dir: Path) -> MadeVideo:
    """96 frames, open GOPs every 16 frames (leading B-frames reference the previous GOP)."""
    opts = _x264("keyint=16:min-keyint=16:scenecut=0:bframes=3:open-gop=1")
    return make_video(video_dir / "open_gop.mp4", 96, options=opts, keyint=16)


@pytest.fixture(scope="session")
def odd_size_video(video_dir: Path) -> MadeVideo:
    """175x97 pixels (odd sizes need 4:4:4 in H.264), 30 frames."""
    opts = _x264("keyint=10:min-keyint=10:scenecut=0")
    return make_video(
        video_dir / "odd.mp4", 30, size=(175, 97), pix_fmt="yuv444p", options=opts, keyint=10
    )


@pytest.fixture(scope="session")
def audio_video(video_dir: Path) -> MadeVideo:
    """50 frames of video plus an AAC audio stream."""
    opts = _x264("keyint=25:min-keyint=25:scenecut=0")
    return make_video(video_dir / "audio.mp4", 50, options=opts, audio=True, keyint=25)


@pytest.fixture(scope="session")
def mpegts_video(video_dir: Path) -> MadeVideo:
    """MPEG-TS (no seek index, non-zero start time), B-frames, keyframe every 12 frames."""
    opts = _x264("keyint=12:min-keyint=12:scenecut=0:bframes=2")
    return make_video(video_dir / "stream.ts", 60, options=opts, fmt="mpegts", keyint=12)


@pytest.fixture(scope="session")
def webm_video(video_dir: Path) -> MadeVideo:
    """VP9 in WebM (the header declares no frame count), keyframe every 15 frames."""
    opts = {"deadline": "realtime", "cpu-used": "8"}
    return make_video(video_dir / "clip.webm", 45, codec="libvpx-vp9", options=opts, keyint=15)


@pytest.fixture(scope="session")
def rotated_videos(video_dir: Path) -> dict[int, MadeVideo]:
    """Counter-clockwise rotation (90, 180, 270) -> 64x32 coded video of :func:`marker_frame`."""
    frames = np.stack([marker_frame(64, 32)] * 6)
    made = {}
    for degrees in (90, 180, 270):
        path = video_dir / f"rot{degrees}.mp4"
        made[degrees] = make_video(
            path, 6, size=(64, 32), rotation=degrees, frames=frames, options=_x264("bframes=0")
        )
    return made


@pytest.fixture(scope="session")
def rotated_pattern_video(video_dir: Path) -> MadeVideo:
    """:func:`pattern` frames with a 90 degree display rotation, keyframe every 8 frames."""
    opts = _x264("keyint=8:min-keyint=8:scenecut=0:bframes=2")
    return make_video(video_dir / "rot90_pattern.mp4", 24, rotation=90, options=opts, keyint=8)


def _noise_video(path: Path, **kwargs: object) -> Path:
    """60 frames of random pixels (large packets), keyframe every 10 frames."""
    frames = np.random.default_rng(3).integers(0, 256, (60, 48, 64, 3), dtype=np.uint8)
    make_video(path, 60, frames=frames, **kwargs)
    return path


def _truncate(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


@pytest.fixture(scope="session")
def truncated_video(video_dir: Path) -> Path:
    """An MP4 with the index first (faststart), cut in the middle of its media data."""
    faststart = {"movflags": "faststart"}
    path = _noise_video(
        video_dir / "truncated_faststart.mp4",
        options=_x264("keyint=10"),
        container_options=faststart,
    )
    return _truncate(path, 0.5)


@pytest.fixture(scope="session")
def truncated_no_index_video(video_dir: Path) -> Path:
    """An MP4 with the index at the end, cut in the middle (the index is lost)."""
    return _truncate(_noise_video(video_dir / "truncated.mp4", options=_x264("keyint=10")), 0.5)


@pytest.fixture(scope="session")
def truncated_avi_video(video_dir: Path) -> Path:
    """MPEG-4 Part 2 in AVI cut in the middle of a packet (AVI's frame count is not exact)."""
    path = _noise_video(video_dir / "truncated.avi", codec="mpeg4", fmt="avi", keyint=10)
    return _truncate(path, 0.55)


@pytest.fixture(scope="session")
def text_file(video_dir: Path) -> Path:
    """A text file (FFmpeg's ``tty`` demuxer would render it as ANSI-art "video")."""
    path = video_dir / "notes.txt"
    path.write_text("not a video\n" * 50)
    return path


@pytest.fixture(scope="session")
def random_bytes_file(video_dir: Path) -> Path:
    """Random bytes with a video extension."""
    path = video_dir / "noise.mp4"
    path.write_bytes(np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


@pytest.fixture(scope="session")
def audio_only_file(video_dir: Path) -> Path:
    """An M4A file with an AAC stream and no video stream."""
    path = video_dir / "tone.m4a"
    out = av.open(str(path), "w", format="mp4")
    _write_tone(out, out.add_stream("aac", rate=16000, layout="mono"), seconds=0.5)
    out.close()
    return path
