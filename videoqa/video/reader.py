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

Time convention: seconds on the video's own timeline, ``(pts - first_pts) * time_base``,
so the first displayed frame is at 0.0; ``VideoInfo.start_time`` keeps the offset.

References: ITU-T H.264 (04/2017) §3.62 and §8.2.4 (reference and non-reference
pictures, decoding vs. display order); FFmpeg ``AVCodecContext.skip_frame`` and
``av_seek_frame`` documentation; ``../shared/notes/decoding.md`` for the measurements
that motivated the design.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from types import TracebackType

import av
import av.error
import numpy as np

from videoqa.errors import (
    CorruptVideoError,
    UnsupportedVideoError,
    UsageError,
    VideoError,
    VideoNotFoundError,
)
from videoqa.video.types import FrameBatch, VideoInfo

__all__ = ["ReaderStats", "VideoReader", "probe", "read_frames"]

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


def _open(path: str, threads: bool) -> tuple[av.container.InputContainer, av.VideoStream]:
    """Open ``path`` and return the container and its first real video stream.

    Other streams are set to be discarded by the demuxer. Raises the typed errors of
    :func:`_open_error` and UnsupportedVideoError when there is no decodable video stream.
    """
    try:
        container = av.open(path, mode="r")
    except av.FFmpegError as exc:
        raise _open_error(path, exc) from exc
    try:
        stream = _select_video_stream(path, container)
        for other in container.streams:
            if other.index != stream.index:
                other.discard = av.stream.Discard.all
        stream.thread_type = "AUTO" if threads else "SLICE"
        stream.thread_count = 0 if threads else 1
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
    frames = stream.frames if stream.frames > 0 else round(duration * float(rate))
    width, height = stream.codec_context.width, stream.codec_context.height
    if width <= 0 or height <= 0:
        raise UnsupportedVideoError(f"unknown frame size for {path}", path)
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
        UnsupportedVideoError: not a media file, no video stream, or no decoder.
        CorruptVideoError: the container cannot be opened.

    Construction reads the header only; the rotation is taken from the first decoded
    frame (see :attr:`info`).
    """

    def __init__(self, path: str | os.PathLike, *, threads: bool = True) -> None:
        self._path = _check_path(path)
        self._threads = threads
        self.stats = ReaderStats()
        self._index: _Index | None = None
        self._rotation: int | None = None  # known once a frame has been decoded
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

    def close(self) -> None:
        """Close the container (idempotent)."""
        container = getattr(self, "_container", None)
        if container is not None:
            container.close()
            self._container = None

    @property
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
        self._container, self._stream = _open(self._path, self._threads)
        self._fresh = True

    def _packets(self) -> Iterator[av.Packet]:
        """Video packets from the current position; typed errors; no empty packets."""
        demux = self._live().demux(self._stream)
        self._fresh = False
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                return
            except av.FFmpegError as exc:
                raise CorruptVideoError(
                    f"demuxing failed: {self._path}: {exc}", self._path
                ) from exc
            if packet.size > 0:  # PyAV ends with empty "flush" packets; never send those
                yield packet

    def _decode(self, packet: av.Packet | None) -> list[av.VideoFrame]:
        """Send one packet (``None`` drains the decoder) and return the frames it gives."""
        try:
            frames = self._stream.decode(packet)
        except av.FFmpegError as exc:
            raise CorruptVideoError(f"decoding failed: {self._path}: {exc}", self._path) from exc
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
    def frame_times(self) -> np.ndarray:
        """Exact presentation times of all frames.

        Returns:
            ``(N,)`` float64 seconds, display order, first frame at 0.0. Computed once by
            a demux-only pass (no decoding) and cached; afterwards :attr:`info` holds the
            exact ``num_frames`` and ``duration``.

        Raises:
            CorruptVideoError: demuxing fails, the file is truncated (its last packet is
                cut short, or an MP4/MOV holds fewer packets than its header declares),
                there is no keyframe, or timestamps repeat.
            UnsupportedVideoError: packets carry no timestamps (raw elementary streams
                such as ``.h264``).
        """
        return self._ensure_index().times

    def keyframe_indices(self) -> np.ndarray:
        """Display indices of the keyframes, ``(K,)`` int64 ascending (see frame_times)."""
        index = self._ensure_index()
        found = np.searchsorted(index.pts, index.key_pts)
        shown = (found < len(index.pts)) & (
            index.pts[np.minimum(found, len(index.pts) - 1)] == index.key_pts
        )
        return found[shown].astype(np.int64)

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
            self._index = index
            self._info = self._info.model_copy(update=self._exact_fields(index))
        return self._index

    def _exact_fields(self, index: _Index) -> dict[str, float | int]:
        tb = self._tb
        return {
            "num_frames": len(index.pts),
            "duration": float((index.end_ts - int(index.pts[0])) * tb),
            "start_time": float(int(index.pts[0]) * tb),
        }

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

        Signs of truncation: the last packet was cut short (the demuxer flags it corrupt),
        or, in MP4/MOV whose sample tables count the frames exactly, fewer packets than
        the header declares.
        """
        declared = self._stream.frames
        exact_count = "mov" in self._live().format.name.split(",")
        if last_cut or (exact_count and 0 < packets < declared):
            raise CorruptVideoError(
                f"truncated video {self._path}: {packets} packets could be read"
                + (f" of the {declared} the header declares" if declared else ""),
                self._path,
            )

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
            one = round(1 / (self._info.fps * self._tb))
            last = int(np.median(np.diff(pts))) if len(pts) > 1 else one
        keys = np.flatnonzero(key & (pos >= first_key))
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
        )

    # ------------------------------------------------------------------ reading
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
        decoded: dict[int, np.ndarray] = {}
        for key_k, targets in self._plan(np.unique(wanted)):
            self._decode_gop(key_k, targets, out_size, decoded)
        return self._batch(wanted, decoded, out_size)

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
        """Convert the wanted frames (matched by exact pts) and store them by display index."""
        for frame in frames:
            i = wanted.get(frame.pts)
            if i is not None and i not in decoded:
                decoded[i] = self._to_rgb(frame, size)

    def _to_rgb(self, frame: av.VideoFrame, size: tuple[int, int] | None) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB, upright, of size ``size`` = (width, height) if given.

        The rotation of the first converted frame is kept for the whole video.
        """
        if self._rotation is None:
            self._set_rotation(_rotation_ccw(frame, self._stream))
        quarter_turns = self._info.rotation // 90
        width = height = None
        if size is not None:
            width, height = size if quarter_turns % 2 == 0 else (size[1], size[0])
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
