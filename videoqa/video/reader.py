"""Frame-exact video reading with PyAV: metadata, exact frame times, sparse sampling.

The reader answers "which frame is displayed at time ``t``" from the exact presentation
timestamps (pts) of every frame, read in one demux-only pass (no decoding), and decodes
only what is needed to produce the requested frames:

1. each requested frame is assigned to the GOP that holds it (the last keyframe at or
   before it in display order);
2. for each such GOP the container is seeked once, to its keyframe, and packets are fed
   to the decoder from the keyframe to the last requested frame of the GOP in decoding
   order; packets that are not requested are decoded with ``skip_frame = "NONREF"`` so
   that non-reference (B) frames in between are never reconstructed;
3. decoded frames are matched to the requests by their exact pts, converted to RGB (and
   resized) by libswscale, and rotated upright following the display matrix.

A request is therefore always answered with the same pixels a full sequential decode
gives at that pts (:meth:`VideoReader.read_all`), for constant and variable frame rate,
B-frames, open GOPs, edit lists and containers without a seek index (checked on H.264,
HEVC, VP8, VP9, AV1, MPEG-2, MPEG-4 and MJPEG in MP4, MOV, MKV, WebM, FLV, AVI, MPEG-TS
and MPEG-PS).

Not handled: raw elementary streams without timestamps (UnsupportedVideoError); AVI
files with DivX/Xvid "packed B-frames", whose timestamps FFmpeg itself gets wrong; the
flip part of display matrices (only the rotation is applied).

Damaged files. Every failure to read a file is one of the typed errors of
:mod:`videoqa.errors` and its message names the file and what was wrong: whatever PyAV,
FFmpeg or numpy raise on a damaged file (``UnicodeDecodeError``, ``IndexError``, ...) is
turned into :class:`~videoqa.errors.CorruptVideoError`. The policy, in order:

- Metadata tags that are not valid UTF-8 are decoded as Latin-1, so a legacy file with,
  say, a Latin-1 title opens normally (the reader uses no tag but ``rotate``).
- Guards before anything is allocated: a header declaring frames of more than
  :data:`MAX_FRAME_PIXELS` pixels or a side over :data:`MAX_FRAME_SIDE` pixels is
  UnsupportedVideoError; a declared duration, or timestamps spanning, more than
  :data:`MAX_DURATION` seconds is CorruptVideoError; a request whose output would exceed
  :data:`MAX_BATCH_BYTES` bytes is UsageError. Frame counts declared by a container are
  never used to read: the index, and ``num_frames`` after :meth:`VideoReader.frame_times`,
  count the packets actually demuxed.
- Truncation (the end of the file is missing): the whole file is refused with
  CorruptVideoError ("truncated") when the demux pass can tell, i.e. the demuxer flags the
  last packet as incomplete (MP4, MOV, AVI, FLV ...); an MP4/MOV holds fewer packets than
  its sample tables declare; an MKV/WebM segment of declared size ends past the end of
  the file; an MPEG-TS file is not a whole number of TS packets. Where it cannot tell (an
  MPEG-TS cut at a packet boundary, MPEG-PS, an MKV of unknown size), the incomplete last
  frame is caught by the next rule.
- Damaged frames are never returned, as far as FFmpeg lets the reader see the damage.
  The decoders of intra-only codecs, MPEG-4 part 2, H.263/FLV1, VP8, VP9 and AV1, and of
  H.264, HEVC and MPEG-2 in files without open GOPs, run in strict mode
  (``err_detect=explode``): a bitstream error fails the read instead of being concealed
  (concealed pixels depend on what the decoder happened to decode before, so they would
  differ between read paths). A frame the decoder flags as corrupt
  (``AV_FRAME_FLAG_CORRUPT``), a keyframe that does not decode as one, and an incomplete
  keyframe sent last to the decoder (checked alone, strictly) make the read that decodes
  them raise CorruptVideoError naming the frame; reads of other frames work as usual.
  VP8 is decoded on one thread without skipping frames (its threaded decoder and its
  non-reference frames are not reliable on damaged data).
- Same pixels on every read path: always for undamaged files; for damaged files, for
  every frame the rules above accept, with a residual that FFmpeg gives no signal for: a
  picture decoded only in part without any reported error (e.g. a zeroed slice, or a
  reference picture whose damaged header marks it as non-reference, which sparse reads
  skip) is completed from leftover decoder buffers, which depend on what was decoded
  before. Measured by ``benchmarks/fuzz_reader.py`` (2 x 10,000 mutants): 5 and 3 of
  ~1,850 damaged files that read at all (H.264 4:4:4, HEVC, MPEG-2, H.264 in MPEG-TS);
  for VP8 and for H.264/HEVC/MPEG-2 with open GOPs, whose errors must be concealed
  (strict mode fails on legitimate open-GOP streams after a seek), 16 of ~720.
- One frame size: frames come out at the size the header declares (or ``size``); when the
  decoded size changes mid-stream (damaged or adaptive streams) those frames are scaled
  to it (libswscale, area), so a batch is always ``(T, H, W, 3)`` with the probed H, W.
- Time limit: :func:`time_limit` bounds the wall-clock time of all reading done in its
  scope (VideoTimeoutError), checked between packets; batch jobs set it per file. Under
  a limit the reader's calls run on a watchdog thread, so that a call stuck inside FFmpeg
  (the frame-threaded HEVC decoder deadlocks on some damaged streams) is abandoned 1 s
  after the deadline (its decoder is never freed; the reader is unusable afterwards).
  Without a limit such a call blocks forever.

Time convention: seconds on the video's own timeline, ``(pts - first_pts) * time_base``,
so the first displayed frame is at 0.0; ``VideoInfo.start_time`` keeps the offset.

References: ITU-T H.264 (04/2017) §3.62 and §8.2.4 (reference and non-reference
pictures, decoding vs. display order); FFmpeg ``AVCodecContext.skip_frame`` and
``av_seek_frame`` documentation; ``../shared/notes/decoding.md`` for the measurements
that motivated the design.
"""

from __future__ import annotations

import contextvars
import functools
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from types import TracebackType
from typing import ParamSpec, TypeVar

import av
import av.error
import numpy as np

from videoqa.errors import (
    CorruptVideoError,
    UnsupportedVideoError,
    UsageError,
    VideoError,
    VideoNotFoundError,
    VideoQAError,
    VideoTimeoutError,
)
from videoqa.video.types import FrameBatch, VideoInfo

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_DURATION",
    "MAX_FRAME_PIXELS",
    "MAX_FRAME_SIDE",
    "ReaderStats",
    "VideoReader",
    "probe",
    "read_frames",
    "time_limit",
]

MAX_FRAME_PIXELS = 8192 * 8192
"""Largest accepted frame area in pixels (67 Mpx; 8K UHD is 33 Mpx)."""
MAX_FRAME_SIDE = 16384
"""Largest accepted frame width or height in pixels."""
MAX_DURATION = 30 * 24 * 3600.0
"""Largest accepted duration in seconds (30 days), declared or spanned by timestamps."""
MAX_BATCH_BYTES = 4 << 30
"""Largest output of one read, ``T * H * W * 3`` bytes (4 GiB)."""

# Demuxers that turn text files into "video" (ANSI art rendering); not media files.
_TEXT_FORMATS = frozenset({"tty"})
# First bytes of common containers: an unreadable file that starts like this is a damaged
# video (CorruptVideoError), anything else is not a media file (UnsupportedVideoError).
_CONTAINER_MAGIC = (
    (4, b"ftyp"),  # ISO BMFF: mp4, mov, m4v, 3gp
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"free"),
    (4, b"wide"),
    (0, b"\x1a\x45\xdf\xa3"),  # EBML: mkv, webm
    (0, b"RIFF"),  # avi
    (0, b"OggS"),
    (0, b"FLV"),
    (0, b"\x00\x00\x01\xba"),  # MPEG-PS
    (0, b"\x30\x26\xb2\x75"),  # ASF / wmv
)
_MAX_SEEK_BACKOFFS = 6  # re-seek 1, 2, 4, ... 32 s earlier before restarting from the top
# Decoders that fail on a bitstream error instead of concealing it (besides intra-only
# codecs): concealment draws on whatever the decoder decoded before, so a damaged picture
# would differ between read paths. H.264/HEVC/MPEG-2 join them only for files without
# open GOPs (see VideoReader._set_strictness): after a seek into an open GOP their strict
# mode also fails on legitimate streams (leading pictures whose references are missing).
_STRICT_DECODERS = frozenset({"flv", "h263", "h263p", "mpeg4", "vp8", "vp9", "libdav1d", "av1"})
_STRICT_IF_CLOSED_GOPS = frozenset({"h264", "hevc", "mpeg2video", "mpeg1video"})
# VP8: threaded decoding of a damaged stream differs from a single-threaded one without
# reporting an error, and a frame marked as not a reference can still update the entropy
# probabilities that later frames use: one thread, and non-reference frames never skipped.
_SINGLE_THREAD_DECODERS = frozenset({"vp8"})
_NEVER_SKIP_DECODERS = frozenset({"vp8"})
_TS_PACKET_SIZES = (188, 192, 204)  # MPEG-TS, M2TS (4-byte prefix), TS with Reed-Solomon
_EBML_MAGIC, _MKV_SEGMENT = b"\x1a\x45\xdf\xa3", b"\x18\x53\x80\x67"

# Deadline of the reading done in the current context: (monotonic deadline, limit in s).
_DEADLINE: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "videoqa_reader_deadline", default=None
)

_P = ParamSpec("_P")
_R = TypeVar("_R")


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Bound the wall-clock time of all video reading done in this scope (this thread).

    Every :class:`VideoReader` operation inside the ``with`` block checks the deadline
    between packets and raises :class:`~videoqa.errors.VideoTimeoutError` naming the file
    once it has passed. Nested limits keep the earlier deadline. ``None`` or ``0``: no
    limit. The check is cooperative: one call into FFmpeg (opening a file, demuxing or
    decoding one packet) is not interrupted.

    Args:
        seconds: the limit in seconds (> 0), or ``None``/``0`` for none.

    Raises:
        UsageError: a negative or non-finite limit.
    """
    if seconds is None or seconds == 0:
        yield
        return
    if not (isinstance(seconds, int | float) and np.isfinite(seconds) and seconds > 0):
        raise UsageError(f"a time limit must be a positive number of seconds, got {seconds!r}")
    deadline = time.monotonic() + float(seconds)
    current = _DEADLINE.get()
    if current is not None and current[0] <= deadline:
        yield
        return
    token = _DEADLINE.set((deadline, float(seconds)))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


# Decoders abandoned while stuck in FFmpeg (see _Watchdog): kept alive forever, since
# freeing them under the thread that is still inside them would crash the process.
_ABANDONED: list[object] = []
_STUCK_GRACE = 1.0  # seconds past the deadline before a stuck call is abandoned


class _DecoderStuck(Exception):
    """A decoder call did not return before the deadline."""


class _Watchdog:
    """Runs a reader's calls on a daemon thread, so that the caller can give up on one
    that never returns (FFmpeg's frame-threaded HEVC decoder deadlocks on some damaged
    streams, inside one call that the cooperative deadline check cannot interrupt; PyAV
    releases the GIL while it waits). Used only under :func:`time_limit`."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="videoqa-decode", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, arg, box, done = job
            try:
                box.append((True, fn(arg)))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                box.append((False, exc))
            done.set()

    @property
    def is_current(self) -> bool:
        """Whether the calling thread is the watchdog's own."""
        return threading.current_thread() is self._thread

    def call(self, fn: Callable[[object], _R], arg: object, timeout: float) -> _R:
        """``fn(arg)`` on the thread; raises _DecoderStuck after ``timeout`` seconds."""
        box: list[tuple[bool, object]] = []
        done = threading.Event()
        self._jobs.put((fn, arg, box, done))
        if not done.wait(max(0.0, timeout)):
            raise _DecoderStuck
        ok, value = box[0]
        if not ok:
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    def stop(self) -> None:
        self._jobs.put(None)


def _check_deadline(path: str) -> None:
    """Raise VideoTimeoutError when the deadline of :func:`time_limit` has passed."""
    current = _DEADLINE.get()
    if current is not None and time.monotonic() > current[0]:
        raise VideoTimeoutError(
            f"reading {path} took longer than the limit of {current[1]:g} s", path
        )


def _typed(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn any untyped exception of a reader method into CorruptVideoError naming the file.

    videoqa's own errors pass through; ``MemoryError`` becomes a plain VideoError.
    """

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            if method.__name__ != "__init__" and _DEADLINE.get() is not None:
                return args[0]._watched(method, *args, **kwargs)  # type: ignore[attr-defined]
            return method(*args, **kwargs)
        except VideoQAError:
            raise
        except MemoryError as exc:
            path = getattr(args[0], "_path", "?")
            raise VideoError(f"out of memory while reading {path}", path) from exc
        except Exception as exc:
            path = getattr(args[0], "_path", "?")
            raise CorruptVideoError(
                f"cannot read {path}: {type(exc).__name__}: {exc}", path
            ) from exc

    return wrapper


@dataclass
class ReaderStats:
    """Debug counters of the decoding work done by a :class:`VideoReader`.

    Attributes:
        decoded_frames: frames output by the decoder (skipped non-reference frames are
            not decoded and not counted).
        sent_packets: packets fed to the decoder.
        seeks: container seeks made (including back-offs).
    """

    decoded_frames: int = 0
    sent_packets: int = 0
    seeks: int = 0


@dataclass(frozen=True)
class _Index:
    """Result of the demux-only pass (all arrays in stream ``time_base`` units).

    Attributes:
        pts: ``(N,)`` int64 pts of the displayable frames, display order (ascending).
        times: ``(N,)`` float64 seconds, ``(pts - pts[0]) * time_base``.
        dec_pos: ``(N,)`` int64 decoding-order position of each displayed frame's packet.
        key_pts: ``(K,)`` int64 pts of the keyframe packets, ascending.
        key_dts: ``(K,)`` int64 dts of the same packets (pts when the dts is unknown).
        key_pos: ``(K,)`` int64 decoding-order positions of the same packets.
        key_size: ``(K,)`` int64 sizes in bytes of the same packets.
        pos_of_ts: packet timestamp -> decoding-order position, for every packet.
        end_ts: pts at which the last frame stops being displayed.
        open_gops: some keyframe is followed, in decoding order, by a frame displayed
            before it (a leading picture of an open GOP).
    """

    pts: np.ndarray
    times: np.ndarray
    dec_pos: np.ndarray
    key_pts: np.ndarray
    key_dts: np.ndarray
    key_pos: np.ndarray
    key_size: np.ndarray
    pos_of_ts: dict[int, int]
    end_ts: int
    open_gops: bool = False


def _packet_ts(packet: av.Packet) -> int | None:
    """Presentation timestamp of a packet, its decoding timestamp when the pts is unset."""
    return packet.pts if packet.pts is not None else packet.dts


def _looks_like_container(path: str) -> bool:
    """Whether the file starts with the signature of a common video container."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    return any(head[off : off + len(magic)] == magic for off, magic in _CONTAINER_MAGIC)


def _check_path(path: str | os.PathLike) -> str:
    """Return ``path`` as a string; raise VideoNotFoundError / UnsupportedVideoError early."""
    text = os.fspath(path)
    if not os.path.exists(text):
        raise VideoNotFoundError(f"video not found: {text}", text)
    if os.path.isdir(text):
        raise UnsupportedVideoError(f"not a video file (a directory): {text}", text)
    if not os.path.isfile(text):  # a FIFO or a device could block or never end
        raise UnsupportedVideoError(f"not a regular file: {text}", text)
    if os.path.getsize(text) == 0:
        raise UnsupportedVideoError(f"empty file (0 bytes): {text}", text)
    return text


def _open_error(path: str, exc: av.FFmpegError) -> VideoError:
    """Typed error for a failure of ``av.open``."""
    if isinstance(exc, av.error.FileNotFoundError):
        return VideoNotFoundError(f"video not found: {path}", path)
    if isinstance(exc, av.error.PermissionError):
        return VideoError(f"permission denied: {path}", path)
    if isinstance(exc, av.error.InvalidDataError | av.error.EOFError) and not (
        _looks_like_container(path)
    ):
        return UnsupportedVideoError(f"not a media file: {path} ({exc})", path)
    return CorruptVideoError(f"cannot open video {path}: {exc}", path)


def _open(
    path: str, threads: bool, strict: bool | None = None
) -> tuple[av.container.InputContainer, av.VideoStream]:
    """Open ``path`` and return the container and its first real video stream.

    Other streams are set to be discarded by the demuxer. ``strict``: the decoder fails on
    any bitstream error (``err_detect=explode``) instead of concealing it; ``None``: for
    intra-only codecs and :data:`_STRICT_DECODERS`. Raises the typed errors of
    :func:`_open_error` and UnsupportedVideoError when there is no decodable video stream.
    """
    try:
        try:
            container = av.open(path, mode="r")
        except UnicodeDecodeError:  # a tag that is not UTF-8: legacy files use Latin-1
            container = av.open(path, mode="r", metadata_encoding="latin-1")
    except av.FFmpegError as exc:
        raise _open_error(path, exc) from exc
    except Exception as exc:
        raise CorruptVideoError(
            f"cannot open video {path}: {type(exc).__name__}: {exc}", path
        ) from exc
    try:
        stream = _select_video_stream(path, container)
        for other in container.streams:
            if other.index != stream.index:
                other.discard = av.stream.Discard.all
        codec = stream.codec_context.codec
        threads = threads and codec.name not in _SINGLE_THREAD_DECODERS
        stream.thread_type = "AUTO" if threads else "SLICE"
        stream.thread_count = 0 if threads else 1
        if strict is None:
            strict = codec.intra_only or codec.name in _STRICT_DECODERS
        if strict:
            stream.codec_context.options = {"err_detect": "explode"}
    except BaseException:
        container.close()
        raise
    return container, stream


def _select_video_stream(path: str, container: av.container.InputContainer) -> av.VideoStream:
    """First video stream that is not a cover picture and has a decoder."""
    if container.format.name in _TEXT_FORMATS:
        raise UnsupportedVideoError(f"not a media file (text): {path}", path)
    for stream in container.streams.video:
        if stream.disposition & av.stream.Disposition.attached_pic:
            continue
        if stream.codec_context is None:
            raise UnsupportedVideoError(f"no decoder for the video stream of {path}", path)
        return stream
    raise UnsupportedVideoError(f"no video stream in {path}", path)


def _rotation_ccw(frame: av.VideoFrame, stream: av.VideoStream) -> int:
    """Counter-clockwise display rotation (0/90/180/270) of a decoded frame.

    Uses the frame's display matrix (``av_display_rotation_get``, rounded to a multiple of
    90 degrees; flips are ignored), else the legacy ``rotate`` stream tag, which holds the
    clockwise angle.
    """
    degrees = frame.rotation
    if degrees == 0:
        tag = stream.metadata.get("rotate")
        if tag is not None and tag.lstrip("-").isdigit():
            degrees = -int(tag)
    return (int(round(degrees / 90.0)) * 90) % 360


def _header_info(
    path: str, container: av.container.InputContainer, stream: av.VideoStream
) -> VideoInfo:
    """VideoInfo from the container header only (rotation left at 0)."""
    tb = stream.time_base or Fraction(1, av.time_base)
    if tb <= 0:
        raise UnsupportedVideoError(f"invalid time base {tb} in {path}", path)
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0:
        raise UnsupportedVideoError(f"no frame rate known for {path}", path)
    start = stream.start_time if stream.start_time is not None else 0
    if stream.duration is not None and stream.duration > 0:
        duration = float(stream.duration * tb)
    elif container.duration is not None and container.duration > 0:
        offset = float(start * tb) - (container.start_time or 0) / av.time_base
        duration = max(0.0, container.duration / av.time_base - offset)
    else:
        duration = 0.0
    if not duration <= MAX_DURATION:  # also NaN
        raise CorruptVideoError(
            f"the header of {path} declares a duration of {duration:.4g} s "
            f"(the reader's limit is {MAX_DURATION:.4g} s)",
            path,
        )
    frames = stream.frames if stream.frames > 0 else round(duration * float(rate))
    width, height = stream.codec_context.width, stream.codec_context.height
    if width <= 0 or height <= 0:
        raise UnsupportedVideoError(f"unknown frame size for {path}", path)
    if width * height > MAX_FRAME_PIXELS or max(width, height) > MAX_FRAME_SIDE:
        raise UnsupportedVideoError(
            f"the header of {path} declares {width}x{height} pixel frames (the reader's "
            f"limit is {MAX_FRAME_PIXELS} pixels and {MAX_FRAME_SIDE} per side)",
            path,
        )
    return VideoInfo(
        path=path,
        duration=duration,
        fps=float(rate),
        num_frames=frames,
        width=width,
        height=height,
        codec=stream.codec_context.name,
        has_audio=len(container.streams.audio) > 0,
        start_time=float(start * tb),
    )


def _read_vint(data: bytes, pos: int) -> tuple[int, int, bool] | None:
    """EBML variable-size integer at ``pos``: (value, next position, all-ones "unknown")."""
    if pos >= len(data) or data[pos] == 0:
        return None
    length = 8 - data[pos].bit_length() + 1
    if pos + length > len(data):
        return None
    value = data[pos] & (0xFF >> length)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, pos + length, value == (1 << (7 * length)) - 1


def _matroska_cut(path: str, file_size: int) -> str | None:
    """Why an MKV/WebM file is truncated: its Segment declares a size past the end of file."""
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head.startswith(_EBML_MAGIC):
        return None
    header = _read_vint(head, len(_EBML_MAGIC))
    if header is None:
        return None
    pos = header[1] + header[0]
    if head[pos : pos + 4] != _MKV_SEGMENT:
        return None
    segment = _read_vint(head, pos + 4)
    if segment is None or segment[2]:  # size unknown (live recording): cannot tell
        return None
    end = segment[1] + segment[0]
    if end > file_size:
        return f"its segment declares {end} bytes, the file has {file_size}"
    return None


def _mpegts_cut(path: str, file_size: int) -> str | None:
    """Why an MPEG-TS file is truncated: its size is not a whole number of TS packets."""
    with open(path, "rb") as handle:
        head = handle.read(3 * 204 + 8)
    for size in _TS_PACKET_SIZES:
        offset = 4 if size == 192 else 0
        if all(head[offset + k * size : offset + k * size + 1] == b"\x47" for k in range(3)):
            if file_size % size:
                return f"{file_size} bytes is not a whole number of {size}-byte TS packets"
            return None
    return None


def _as_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    """Validate an output ``(width, height)`` in pixels."""
    if size is None:
        return None
    if len(size) != 2 or not all(isinstance(v, int | np.integer) for v in size) or min(size) <= 0:
        raise UsageError(f"size must be (width, height) positive integers, got {size!r}")
    return int(size[0]), int(size[1])


class VideoReader:
    """Random access to the frames of one video file (a context manager).

    The container is opened once; :meth:`frame_times` makes one demux-only pass (cached)
    that gives the exact pts of every frame and the keyframe positions; the ``read_*``
    methods decode only the GOPs holding requested frames (see the module docstring).

    Args:
        path: video file.
        threads: decode with FFmpeg frame+slice threading (``thread_type = "AUTO"``);
            ``False`` decodes on one thread. Output pixels are identical either way.

    Attributes:
        stats: :class:`ReaderStats` counters of the decoding work done so far.

    Raises:
        VideoNotFoundError: the path does not exist.
        UnsupportedVideoError: not a media file (a directory, a FIFO or device, an empty
            file), no video stream, no decoder, or frames over the size guard.
        CorruptVideoError: the container cannot be opened, or its header is damaged (an
            absurd duration).

    Construction reads the header only; the rotation is taken from the first decoded
    frame (see :attr:`info`). Damaged files: see the module docstring for the policy;
    every method raises only videoqa's typed errors.
    """

    @_typed
    def __init__(self, path: str | os.PathLike, *, threads: bool = True) -> None:
        self._path = _check_path(path)
        self._threads = threads
        self.stats = ReaderStats()
        self._index: _Index | None = None
        self._final_key_damaged: bool | None = None  # see _is_damaged_final_keyframe
        self._key_set: frozenset[int] | None = None
        self._rotation: int | None = None  # known once a frame has been decoded
        self._strict: bool | None = None  # decided by the codec, then by the index
        self._container, self._stream = _open(self._path, threads)
        self._fresh = True  # nothing read from the container yet
        try:
            self._info = _header_info(self._path, self._container, self._stream)
        except BaseException:
            self.close()
            raise
        self._tb = self._stream.time_base

    # ------------------------------------------------------------------ basics
    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _watched(self, method: Callable[..., _R], *args: object, **kwargs: object) -> _R:
        """Run a public method on the watchdog thread (in this context, so with its
        deadline); when it is still stuck in FFmpeg 1 s after the deadline, abandon the
        container and decoder (never freed) and raise VideoTimeoutError."""
        watchdog = getattr(self, "_watchdog", None)
        if watchdog is not None and watchdog.is_current:
            return method(*args, **kwargs)
        if watchdog is None:
            watchdog = self._watchdog = _Watchdog()
        deadline, limit = _DEADLINE.get() or (time.monotonic(), 0.0)
        context = contextvars.copy_context()
        try:
            return watchdog.call(
                lambda _: context.run(method, *args, **kwargs), None,
                deadline + _STUCK_GRACE - time.monotonic(),
            )  # fmt: skip
        except _DecoderStuck:
            _ABANDONED.append((self._container, self._stream, watchdog))
            self._container = None
            self._watchdog = None
            raise VideoTimeoutError(
                f"reading {self._path} did not return within the limit of {limit:g} s (the "
                "decoder is stuck on damaged data and was abandoned)",
                self._path,
            ) from None

    def close(self) -> None:
        """Close the container (idempotent)."""
        watchdog = getattr(self, "_watchdog", None)
        if watchdog is not None:
            watchdog.stop()
            self._watchdog = None
        container = getattr(self, "_container", None)
        if container is not None:
            container.close()
            self._container = None

    @property
    @_typed
    def info(self) -> VideoInfo:
        """Metadata; ``num_frames`` and ``duration`` are exact once :meth:`frame_times` ran.

        The rotation comes from the first decoded frame: reading it the first time may
        decode the first keyframe (a few milliseconds).

        Raises:
            CorruptVideoError: no frame can be decoded.
        """
        if self._rotation is None:
            self._set_rotation(self._first_frame_rotation())
        return self._info

    def _set_rotation(self, rotation: int) -> None:
        self._rotation = rotation
        self._info = self._info.model_copy(update={"rotation": rotation})

    @property
    def path(self) -> str:
        """The video file as given."""
        return self._path

    def _live(self) -> av.container.InputContainer:
        if self._container is None:
            raise UsageError(f"the reader of {self._path} is closed")
        return self._container

    def _reopen(self) -> None:
        """Start again from the top of the file with a fresh container and decoder."""
        if self._fresh:
            return
        self._live().close()
        self._container, self._stream = _open(self._path, self._threads, self._strict)
        self._fresh = True

    def _packets(self) -> Iterator[av.Packet]:
        """Video packets from the current position; typed errors; no empty packets."""
        demux = self._live().demux(self._stream)
        self._fresh = False
        while True:
            _check_deadline(self._path)
            try:
                packet = next(demux)
            except StopIteration:
                return
            except Exception as exc:  # FFmpegError, and IndexError etc. on damaged files
                raise CorruptVideoError(
                    f"demuxing failed: {self._path}: {type(exc).__name__}: {exc}", self._path
                ) from exc
            if packet.size > 0:  # PyAV ends with empty "flush" packets; never send those
                yield packet

    def _decode(self, packet: av.Packet | None) -> list[av.VideoFrame]:
        """Send one packet (``None`` drains the decoder) and return the frames it gives."""
        _check_deadline(self._path)
        try:
            frames = self._stream.decode(packet)
        except Exception as exc:  # FFmpegError, and anything else PyAV raises on bad data
            raise CorruptVideoError(
                f"decoding failed: {self._path}: {type(exc).__name__}: {exc}", self._path
            ) from exc
        if packet is not None:
            self.stats.sent_packets += 1
        self.stats.decoded_frames += len(frames)
        return frames

    def _first_frame_rotation(self) -> int:
        """Rotation of the first displayed keyframe, decoded alone (sent, decoder drained).

        When an edit list hides every keyframe, decodes from the top until a frame shows.
        """
        frames: list[av.VideoFrame] = []
        self._reopen()
        for packet in self._packets():
            if packet.is_keyframe and not packet.is_discard:
                frames = self._decode(packet) + self._decode(None)
                break
        else:
            self._fresh = False
            self._reopen()
            for packet in self._packets():
                frames = self._decode(packet)
                if frames:
                    break
            else:
                frames = self._decode(None)
        if not frames:
            raise CorruptVideoError(f"no frame could be decoded from {self._path}", self._path)
        return _rotation_ccw(frames[0], self._stream)

    # ------------------------------------------------------------------ index
    @_typed
    def frame_times(self) -> np.ndarray:
        """Exact presentation times of all frames.

        Returns:
            ``(N,)`` float64 seconds, display order, first frame at 0.0. Computed once by
            a demux-only pass (no decoding) and cached; afterwards :attr:`info` holds the
            exact ``num_frames`` and ``duration``, and ``fps`` becomes
            ``num_frames / duration`` when the header's rate differs from it by more than
            1 % (a header that lies).

        Raises:
            CorruptVideoError: demuxing fails, the file is truncated (its last packet is
                cut short, an MP4/MOV holds fewer packets than its header declares, an
                MKV/WebM segment or an MPEG-TS packet runs past the end of the file),
                there is no keyframe, timestamps repeat, or they span more than
                :data:`MAX_DURATION` seconds.
            UnsupportedVideoError: packets carry no timestamps (raw elementary streams
                such as ``.h264``).
        """
        return self._ensure_index().times

    @_typed
    def keyframe_indices(self) -> np.ndarray:
        """Display indices of the keyframes, ``(K,)`` int64 ascending (see frame_times)."""
        index = self._ensure_index()
        found = np.searchsorted(index.pts, index.key_pts)
        shown = (found < len(index.pts)) & (
            index.pts[np.minimum(found, len(index.pts) - 1)] == index.key_pts
        )
        return found[shown].astype(np.int64)

    @_typed
    def index_at(self, times: np.ndarray | list[float] | float) -> np.ndarray:
        """Frame displayed at each time: the last frame with pts <= t, clamped into the video.

        Args:
            times: ``(T,)`` seconds on the video timeline; times before 0 give frame 0,
                times past the end the last frame.

        Returns:
            ``(T,)`` int64 display indices.

        Raises:
            UsageError: NaN times or a non 1-D array.
        """
        index = self._ensure_index()
        query = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if query.ndim != 1:
            raise UsageError(f"times must be 1-D, got shape {query.shape}")
        if np.isnan(query).any():
            raise UsageError("times contain NaN")
        found = np.searchsorted(index.times, query, side="right") - 1
        return np.clip(found, 0, len(index.times) - 1).astype(np.int64)

    def _ensure_index(self) -> _Index:
        if self._index is None:
            self._reopen()
            index = self._demux_index()
            self._info = self._info.model_copy(update=self._exact_fields(index))
            self._index = index
            self._set_strictness(index)
        return self._index

    def _set_strictness(self, index: _Index) -> None:
        """Make H.264/HEVC/MPEG-2 decoding strict when the file has no open GOP.

        Called right after the demux pass, before the (reopened) decoder has decoded
        anything, so that the option still applies.
        """
        codec = self._stream.codec_context.codec
        strict = codec.intra_only or codec.name in _STRICT_DECODERS
        strict = strict or (codec.name in _STRICT_IF_CLOSED_GOPS and not index.open_gops)
        self._strict = strict
        if strict:
            self._stream.codec_context.options = {"err_detect": "explode"}

    def _exact_fields(self, index: _Index) -> dict[str, float | int]:
        tb = self._tb
        duration = float((index.end_ts - int(index.pts[0])) * tb)
        if not duration <= MAX_DURATION:
            raise CorruptVideoError(
                f"the timestamps of {self._path} span {duration:.4g} s "
                f"(the reader's limit is {MAX_DURATION:.4g} s)",
                self._path,
            )
        exact = {
            "num_frames": len(index.pts),
            "duration": duration,
            "start_time": float(int(index.pts[0]) * tb),
        }
        rate = len(index.pts) / duration if duration > 0 else 0.0
        if rate > 0 and abs(rate - self._info.fps) > 0.01 * self._info.fps:
            exact["fps"] = rate  # the header's rate contradicts the frames: trust the frames
        return exact

    def _demux_index(self) -> _Index:
        """One pass over the packets of the video stream, no decoding."""
        rows = []  # (timestamp, dts, keyframe, discard, duration, size) in decoding order
        last_cut = False
        for packet in self._packets():
            stamp = _packet_ts(packet)
            if stamp is None:
                raise UnsupportedVideoError(
                    f"packets without timestamps in {self._path}", self._path
                )
            dts = packet.dts if packet.dts is not None else stamp
            row = (stamp, dts, packet.is_keyframe, packet.is_discard, packet.duration or 0)
            rows.append((*row, packet.size))
            last_cut = packet.is_corrupt
        self._check_complete(len(rows), last_cut)
        if not rows:
            raise CorruptVideoError(f"no video packet in {self._path}", self._path)
        return self._build_index(np.array(rows, dtype=np.int64).T)

    def _check_complete(self, packets: int, last_cut: bool) -> None:
        """Raise CorruptVideoError for a truncated file.

        Signs of truncation: the last packet was cut short (the demuxer flags it corrupt);
        in MP4/MOV, whose sample tables count the frames exactly, fewer packets than the
        header declares; in MKV/WebM, a segment of declared size that ends past the end
        of the file; in MPEG-TS, a file that is not a whole number of TS packets.
        """
        declared = self._stream.frames
        formats = self._live().format.name.split(",")
        exact_count = "mov" in formats
        if last_cut or (exact_count and 0 < packets < declared):
            raise CorruptVideoError(
                f"truncated video {self._path}: {packets} packets could be read"
                + (f" of the {declared} the header declares" if declared else ""),
                self._path,
            )
        file_size = os.path.getsize(self._path)
        cut = None
        if "matroska" in formats or "webm" in formats:
            cut = _matroska_cut(self._path, file_size)
        elif "mpegts" in formats:
            cut = _mpegts_cut(self._path, file_size)
        if cut is not None:
            raise CorruptVideoError(f"truncated video {self._path}: {cut}", self._path)

    def _build_index(self, columns: np.ndarray) -> _Index:
        """Display-order arrays from the ``(6, P)`` per-packet columns (decoding order)."""
        ts, dts, key, discard, dur, size = columns
        key, discard = key.astype(bool), discard.astype(bool)
        if not key.any():
            raise CorruptVideoError(f"no keyframe in {self._path}", self._path)
        first_key = int(np.argmax(key))
        pos = np.arange(len(ts))
        # Frames before the first keyframe (in decoding or display order) cannot be decoded.
        shown = (pos >= first_key) & ~discard & (ts >= ts[first_key])
        order = np.argsort(ts[shown], kind="stable")
        pts = ts[shown][order]
        if len(pts) == 0:
            raise CorruptVideoError(f"no displayable frame in {self._path}", self._path)
        if (np.diff(pts) == 0).any():
            raise CorruptVideoError(f"repeated frame timestamps in {self._path}", self._path)
        dec_pos = pos[shown][order]
        last = int(dur[dec_pos[-1]])
        if last <= 0:
            one = max(1, round(1 / (self._info.fps * self._tb)))
            last = int(np.median(np.diff(pts))) if len(pts) > 1 else one
        keys = np.flatnonzero(key & (pos >= first_key))
        later_min = np.minimum.accumulate(ts[::-1])[::-1]  # min ts from each position on
        later_min = np.append(later_min[1:], np.iinfo(np.int64).max)
        open_gops = bool(np.any(later_min[keys] < ts[keys]))
        keys = keys[np.argsort(ts[keys], kind="stable")]
        tb = self._tb
        return _Index(
            pts=pts,
            times=(pts - pts[0]).astype(np.float64) * tb.numerator / tb.denominator,
            dec_pos=dec_pos,
            key_pts=ts[keys],
            key_dts=dts[keys],
            key_pos=keys,
            key_size=size[keys],
            pos_of_ts={int(t): int(p) for p, t in enumerate(ts)},
            end_ts=int(pts[-1]) + last,
            open_gops=open_gops,
        )

    # ------------------------------------------------------------------ reading
    @_typed
    def read_at(
        self, times: np.ndarray | list[float] | float, *, size: tuple[int, int] | None = None
    ) -> FrameBatch:
        """Frames displayed at the given times (see :meth:`index_at`).

        Args:
            times: ``(T,)`` seconds on the video timeline; order is kept, duplicates are
                decoded once, out-of-range times clamp to the first/last frame.
            size: output ``(width, height)`` in pixels of the upright frames (resized by
                libswscale, area interpolation); ``None`` keeps the display size.

        Returns:
            FrameBatch with ``frames`` ``(T, H, W, 3)`` uint8 RGB upright, ``times`` the
            exact pts (seconds) and ``indices`` the display indices of the frames.

        Raises:
            UsageError: bad times or size. CorruptVideoError: a requested frame cannot be
            decoded (or demuxing/decoding fails).
        """
        return self.read_indices(self.index_at(times), size=size)

    @_typed
    def read_indices(
        self, indices: np.ndarray | list[int], *, size: tuple[int, int] | None = None
    ) -> FrameBatch:
        """Frames at the given display indices ``(T,)`` (see :meth:`read_at`).

        Raises:
            UsageError: indices outside ``[0, N)``, not integers, or a bad size.
            CorruptVideoError: a requested frame cannot be decoded.
        """
        index = self._ensure_index()
        out_size = _as_size(size)
        wanted = np.atleast_1d(np.asarray(indices))
        if wanted.ndim != 1 or (wanted.size and not np.issubdtype(wanted.dtype, np.integer)):
            raise UsageError(
                f"indices must be a 1-D integer array, got {wanted.dtype} {wanted.shape}"
            )
        wanted = wanted.astype(np.int64)
        if wanted.size and (wanted.min() < 0 or wanted.max() >= len(index.pts)):
            raise UsageError(
                f"frame indices must be in [0, {len(index.pts)}), got {wanted.min()}..{wanted.max()}"
            )
        self._check_batch_bytes(len(wanted), out_size)
        decoded: dict[int, np.ndarray] = {}
        for key_k, targets in self._plan(np.unique(wanted)):
            self._decode_gop(key_k, targets, out_size, decoded)
        return self._batch(wanted, decoded, out_size)

    @_typed
    def read_all(self, *, size: tuple[int, int] | None = None) -> FrameBatch:
        """Decode every frame sequentially (the reference for :meth:`read_at`).

        Memory is ``N * H * W * 3`` bytes: meant for short videos and tests.

        Returns:
            FrameBatch of all N frames in display order (see :meth:`read_at`).

        Raises:
            UsageError: bad size. CorruptVideoError: demuxing/decoding fails or a frame
            listed by the demux pass is not produced by the decoder.
        """
        index = self._ensure_index()
        out_size = _as_size(size)
        self._check_batch_bytes(len(index.pts), out_size)
        self._reopen()
        wanted = {int(t): i for i, t in enumerate(index.pts)}
        decoded: dict[int, np.ndarray] = {}
        for packet in self._packets():
            self._keep(self._decode(packet), wanted, out_size, decoded)
        self._keep(self._decode(None), wanted, out_size, decoded)
        return self._batch(np.arange(len(index.pts), dtype=np.int64), decoded, out_size)

    def _batch(
        self, wanted: np.ndarray, decoded: dict[int, np.ndarray], size: tuple[int, int] | None
    ) -> FrameBatch:
        missing = sorted(set(wanted.tolist()) - decoded.keys())
        if missing:
            raise CorruptVideoError(
                f"{len(missing)} frame(s) could not be decoded from {self._path} "
                f"(display indices {missing[:5]}...)",
                self._path,
            )
        if wanted.size:
            frames = np.stack([decoded[int(i)] for i in wanted])
        else:
            width, height = size or self._display_size()
            frames = np.empty((0, height, width, 3), np.uint8)
        index = self._ensure_index()
        return FrameBatch(frames=frames, times=index.times[wanted].copy(), indices=wanted)

    def _check_batch_bytes(self, count: int, size: tuple[int, int] | None) -> None:
        """UsageError when ``count`` frames of the output size exceed MAX_BATCH_BYTES."""
        width, height = size or (self._info.width, self._info.height)
        need = count * width * height * 3
        if need > MAX_BATCH_BYTES:
            raise UsageError(
                f"reading {count} frames of {width}x{height} from {self._path} needs "
                f"{need / 2**30:.1f} GiB (limit {MAX_BATCH_BYTES / 2**30:.1f} GiB): "
                "ask for fewer frames or a smaller size"
            )

    def _display_size(self) -> tuple[int, int]:
        info = self.info
        if info.rotation in (90, 270):
            return info.height, info.width
        return info.width, info.height

    def _plan(self, targets: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Group display indices by the keyframe to decode them from, in file order.

        A frame's keyframe is the last one displayed at or before it (its GOP), moved
        back while that keyframe comes after the frame in decoding order.
        """
        index = self._ensure_index()
        key_k = np.searchsorted(index.key_pts, index.pts[targets], side="right") - 1
        key_k = np.maximum(key_k, 0)
        for j, target in enumerate(targets):
            while key_k[j] > 0 and index.key_pos[key_k[j]] > index.dec_pos[target]:
                key_k[j] -= 1
        return [(int(k), targets[key_k == k]) for k in np.unique(key_k)]

    def _decode_gop(
        self,
        key_k: int,
        targets: np.ndarray,
        size: tuple[int, int] | None,
        decoded: dict[int, np.ndarray],
        skip_nonref: bool = True,
    ) -> None:
        """Decode from keyframe ``key_k`` up to the last of ``targets`` (decoding order).

        Non-reference frames that are not targets are skipped; if a target is then
        missing (e.g. MPEG-4 "packed B-frames", where a B-frame travels in the packet of a
        reference frame) the GOP is decoded again without skipping.
        """
        index = self._ensure_index()
        wanted = {int(index.pts[i]): int(i) for i in targets}
        end_pos = int(index.dec_pos[targets].max())
        skip_nonref = skip_nonref and self._stream.codec_context.name not in _NEVER_SKIP_DECODERS
        for packet in self._packets_from_key(key_k):
            stamp = _packet_ts(packet)
            skip = skip_nonref and stamp not in wanted
            self._stream.codec_context.skip_frame = "NONREF" if skip else "DEFAULT"
            self._keep(self._decode(packet), wanted, size, decoded)
            if index.pos_of_ts.get(stamp, -1) >= end_pos:
                break
        self._stream.codec_context.skip_frame = "DEFAULT"
        self._keep(self._decode(None), wanted, size, decoded)
        if skip_nonref and not all(i in decoded for i in wanted.values()):
            self._decode_gop(key_k, targets, size, decoded, skip_nonref=False)

    def _seek_targets(self, key_k: int) -> Iterator[int | None]:
        """Timestamps to seek to for keyframe ``key_k``; ``None`` means restart the file."""
        index = self._ensure_index()
        pts, dts = int(index.key_pts[key_k]), int(index.key_dts[key_k])
        yield pts
        if dts < pts:
            yield dts  # demuxers that index by decoding time (mp4)
        second = max(1, round(1 / self._tb))
        for step in range(_MAX_SEEK_BACKOFFS):
            yield min(pts, dts) - second * (1 << step)
        yield None

    def _packets_from_key(self, key_k: int) -> Iterator[av.Packet]:
        """Packets in decoding order starting exactly at the packet of keyframe ``key_k``.

        Seeks (backward) to the keyframe; when the demuxer lands after it (index by dts,
        no index at all) or inside it (a partial packet, as in MPEG-PS without an index),
        seeks again earlier, finally reads from the top of the file. Packets before the
        keyframe are read but not decoded.
        """
        index = self._ensure_index()
        start, size = int(index.key_pos[key_k]), int(index.key_size[key_k])
        for target in self._seek_targets(key_k):
            self._seek(target)
            packets = self._packets()
            for packet in packets:
                pos = index.pos_of_ts.get(_packet_ts(packet))
                if pos is None or pos < start:
                    continue
                if pos > start or packet.size != size:
                    break  # landed after the keyframe or inside it: back off
                yield packet
                yield from packets
                return
        raise CorruptVideoError(
            f"cannot reach the keyframe at pts {index.key_pts[key_k]} in {self._path}", self._path
        )

    def _seek(self, target: int | None) -> None:
        """Seek backward to ``target`` (stream time base); ``None`` or a failed seek restarts."""
        self.stats.seeks += 1
        if target is not None:
            self._fresh = False
            try:
                self._live().seek(target, stream=self._stream, backward=True, any_frame=False)
                return
            except av.FFmpegError:
                pass  # not seekable (or out of range): read from the top instead
        self._reopen()

    def _keep(
        self,
        frames: list[av.VideoFrame],
        wanted: dict[int, int],
        size: tuple[int, int] | None,
        decoded: dict[int, np.ndarray],
    ) -> None:
        """Convert the wanted frames (matched by exact pts) and store them by display index.

        Raises:
            CorruptVideoError: a wanted frame is flagged corrupt by the decoder, or a
                frame the container marks as a keyframe decodes as another kind of
                picture (a damaged keyframe: what follows it would depend on what was
                decoded before).
        """
        keys = self._key_pts_set()
        for frame in frames:
            if frame.pts in keys and not (frame.key_frame or int(frame.pict_type) == 1):
                raise CorruptVideoError(
                    f"the keyframe at pts {frame.pts} of {self._path} does not decode as "
                    "a keyframe (damaged)",
                    self._path,
                )
            i = wanted.get(frame.pts)
            if i is not None and i not in decoded:
                if frame.is_corrupt or self._is_damaged_final_keyframe(i):
                    seconds = float(self._ensure_index().times[i])
                    raise CorruptVideoError(
                        f"frame {i} (at {seconds:.3f} s) of {self._path} is damaged: the "
                        "decoder reports an incomplete or invalid picture",
                        self._path,
                    )
                decoded[i] = self._to_rgb(frame, size)

    def _key_pts_set(self) -> frozenset[int]:
        """The pts of the keyframe packets (cached)."""
        if self._key_set is None:
            self._key_set = frozenset(self._ensure_index().key_pts.tolist())
        return self._key_set

    def _is_damaged_final_keyframe(self, i: int) -> bool:
        """Whether display frame ``i`` is a keyframe sent last to the decoder and damaged.

        The last packet of a file cut short at a packet boundary of a container that does
        not see the cut (MPEG-TS, MPEG-PS) is incomplete. When it is a P/B frame the
        decoder flags the frame corrupt whichever way it was reached; a keyframe is
        concealed without that flag after a seek, but with it in a sequential decode (the
        concealment draws on the previous GOP). So the last keyframe is checked alone, once,
        by a decoder that fails on any bitstream error (``err_detect=explode``).
        """
        index = self._ensure_index()
        final = int(index.dec_pos[i]) == len(index.pos_of_ts) - 1
        if not final or int(index.pts[i]) not in self._key_pts_set():
            return False
        if self._final_key_damaged is None:
            self._final_key_damaged = self._decode_fails_strictly(int(index.pts[i]))
        return self._final_key_damaged

    def _decode_fails_strictly(self, stamp: int) -> bool:
        """Decode the keyframe packet of timestamp ``stamp`` alone in a fresh decoder that
        fails on any bitstream error; True if it fails (or the packet cannot be found)."""
        container, stream = _open(self._path, threads=False)
        stream.codec_context.options = {"err_detect": "explode"}
        try:
            for restart in (False, True):
                if restart:
                    container.close()
                    container, stream = _open(self._path, threads=False)
                    stream.codec_context.options = {"err_detect": "explode"}
                else:
                    try:
                        container.seek(stamp, stream=stream, backward=True, any_frame=False)
                    except av.FFmpegError:
                        continue
                for packet in container.demux(stream):
                    _check_deadline(self._path)
                    if packet.size and _packet_ts(packet) == stamp:
                        try:
                            stream.decode(packet)
                            stream.decode(None)
                        except Exception:  # noqa: BLE001 - any failure means damaged
                            return True
                        return False
            return True
        finally:
            container.close()

    def _to_rgb(self, frame: av.VideoFrame, size: tuple[int, int] | None) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB, upright, of size ``size`` = (width, height) if given.

        Without ``size``, a frame whose decoded size differs from the header's (a
        resolution change mid-stream) is scaled to the header's size. The rotation of the
        first converted frame is kept for the whole video.
        """
        if self._rotation is None:
            self._set_rotation(_rotation_ccw(frame, self._stream))
        quarter_turns = self._info.rotation // 90
        width = height = None
        if size is not None:
            width, height = size if quarter_turns % 2 == 0 else (size[1], size[0])
        elif (frame.width, frame.height) != (self._info.width, self._info.height):
            width, height = self._info.width, self._info.height
        rgb = frame.reformat(
            width=width, height=height, format="rgb24", interpolation="AREA", threads=1
        ).to_ndarray()
        if quarter_turns:
            rgb = np.rot90(rgb, k=quarter_turns)
        return np.ascontiguousarray(rgb)


def probe(path: str | os.PathLike) -> VideoInfo:
    """Metadata of a video from its header (and its first keyframe, for the rotation).

    ``num_frames`` is the container's count, else ``round(duration * fps)``; use
    ``VideoReader(path).frame_times()`` for exact values. Costs a few milliseconds.

    Raises:
        VideoNotFoundError, UnsupportedVideoError, CorruptVideoError: see VideoReader.
    """
    with VideoReader(path, threads=False) as reader:
        return reader.info


def read_frames(
    path: str | os.PathLike,
    times: np.ndarray | list[float] | float,
    *,
    size: tuple[int, int] | None = None,
) -> FrameBatch:
    """Open ``path``, read the frames displayed at ``times`` (seconds), close.

    See :meth:`VideoReader.read_at` for shapes and errors.
    """
    with VideoReader(path) as reader:
        return reader.read_at(times, size=size)
