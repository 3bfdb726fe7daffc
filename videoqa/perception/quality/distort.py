"""Synthetic distortions of real videos at five levels each (VQA² stage 1 data).

A pristine clip (a time window, optionally a crop, of a real video) is decoded with
PyAV, distorted frame by frame and written as H.264 with libx264. Blur is FFmpeg's
``gblur`` filter run through a PyAV filter graph, low resolution is a libswscale
down-and-up scaling, compression is the x264 constant rate factor; noise, exposure,
flicker, shake and stutter are exact NumPy operations so that their strength is known in
luma levels, pixels or frames. Every other kind is encoded nearly losslessly (CRF
:data:`PRISTINE_CRF`), like the pristine reference, so that it adds no compression of its
own.

Levels run from 1 (just visible) to 5 (severe); parameters that are sizes in pixels
scale with the frame height relative to 360 rows (:func:`height_scale`), so a level looks
alike on small and large videos. The parameters are in :data:`LEVEL_PARAMETERS`.
"""

from __future__ import annotations

import fractions
from collections.abc import Iterator, Sequence
from enum import Enum
from pathlib import Path

import av
import av.filter
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from videoqa.errors import CorruptVideoError, UsageError, VideoNotFoundError


class DistortionKind(str, Enum):
    """The distortion types of stage 1 (plus ``none`` for pristine videos)."""

    NONE = "none"
    BLUR = "blur"
    NOISE = "noise"
    COMPRESSION = "compression"
    LOW_RESOLUTION = "low_resolution"
    UNDEREXPOSURE = "underexposure"
    OVEREXPOSURE = "overexposure"
    STUTTER = "stutter"
    FLICKER = "flicker"
    SHAKE = "shake"


DISTORTION_KINDS: tuple[DistortionKind, ...] = tuple(
    k for k in DistortionKind if k is not DistortionKind.NONE
)
"""The nine distortion kinds (without ``none``)."""

NUM_LEVELS = 5
PRISTINE_CRF = 12
"""x264 CRF for the pristine reference and every non-compression distortion."""

LEVEL_PARAMETERS: dict[DistortionKind, tuple[float, ...]] = {
    # Gaussian blur sigma, pixels at 360 rows.
    DistortionKind.BLUR: (0.7, 1.2, 2.0, 3.2, 5.0),
    # Additive Gaussian noise sigma per RGB channel, levels (0-255).
    DistortionKind.NOISE: (3.0, 6.0, 10.0, 16.0, 25.0),
    # x264 constant rate factor.
    DistortionKind.COMPRESSION: (32.0, 37.0, 41.0, 45.0, 51.0),
    # Downscaling factor before scaling back up.
    DistortionKind.LOW_RESOLUTION: (1.6, 2.2, 3.0, 4.5, 6.5),
    # Gain on the gamma-encoded RGB values.
    DistortionKind.UNDEREXPOSURE: (0.78, 0.62, 0.48, 0.36, 0.25),
    # Gain on the gamma-encoded RGB values; an offset of 20 * (gain - 1) levels is added.
    DistortionKind.OVEREXPOSURE: (1.25, 1.5, 1.8, 2.2, 2.8),
    # Frames each picture is held for (the frames in between are dropped).
    DistortionKind.STUTTER: (2.0, 2.0, 3.0, 5.0, 8.0),
    # Peak relative brightness change of the flicker.
    DistortionKind.FLICKER: (0.03, 0.06, 0.10, 0.15, 0.22),
    # Standard deviation of the random camera offset, pixels at 360 rows.
    DistortionKind.SHAKE: (1.0, 2.0, 3.5, 6.0, 10.0),
}

CODECS: dict[str, tuple[float, ...]] = {
    # x264 constant rate factor (the compression levels above).
    "libx264": LEVEL_PARAMETERS[DistortionKind.COMPRESSION],
    # MPEG-4 Part 2 (FFmpeg's ``mpeg4``, 8x8 DCT blocks): fixed quantizer scale (2-31).
    "mpeg4": (6.0, 10.0, 15.0, 22.0, 31.0),
}
"""Encoders of the compression distortion and their level parameters. A compressed
video is written by that encoder (MPEG-4 Part 2 in MP4 with a fixed quantizer, FFmpeg's
``-q:v``); every other kind is written by libx264."""

_FLICKER_HZ = (3.0, 4.0, 5.0, 6.0, 8.0)
_STUTTER_SHARE = (0.3, 1.0, 1.0, 1.0, 1.0)  # share of pictures that get held


class Distortion(BaseModel):
    """One distortion to apply.

    Attributes:
        kind: the distortion type; ``none`` re-encodes the clip unchanged.
        level: severity, 1 (slight) to 5 (severe); ignored for ``none``.
        start, end: the part of the clip that is distorted, seconds from the clip start
            (``end=None``: to the end). Compression applies to the whole clip.
        codec: encoder of a compression distortion (a key of :data:`CODECS`).
    """

    model_config = ConfigDict(frozen=True)

    kind: DistortionKind
    level: int = Field(default=1, ge=1, le=NUM_LEVELS)
    start: float = Field(default=0.0, ge=0.0)
    end: float | None = None
    codec: str = "libx264"

    @field_validator("codec")
    @classmethod
    def _known_codec(cls, value: str) -> str:
        if value not in CODECS:
            raise ValueError(f"unknown codec {value!r}; expected one of {sorted(CODECS)}")
        return value

    def parameter(self) -> float:
        """The level's parameter from :data:`LEVEL_PARAMETERS` (0 for ``none``; for
        compression the one of :data:`CODECS` for :attr:`codec`)."""
        if self.kind is DistortionKind.NONE:
            return 0.0
        if self.kind is DistortionKind.COMPRESSION:
            return CODECS[self.codec][self.level - 1]
        return LEVEL_PARAMETERS[self.kind][self.level - 1]

    def active(self, t: float) -> bool:
        """Whether the distortion applies to a frame shown at ``t`` seconds."""
        return t >= self.start and (self.end is None or t < self.end)


class SourceClip(BaseModel):
    """A pristine clip: a time window and optional crop of a real video.

    Attributes:
        path: the video file.
        source: name of the source video (train/test splits keep sources apart).
        start: clip start in the video, seconds.
        duration: clip length, seconds (None: to the end).
        crop: ``(x, y, width, height)`` in pixels, or None for the whole frame.
        height: rows the (cropped) frames are resized to, keeping the aspect ratio
            (area interpolation; the width is rounded to even pixels), or None to keep
            the size. Used to make more pristine clips at other scales.
        hflip: mirror the frames left-right.
        clip_id: a name for the clip (used in :attr:`name` instead of the start and
            crop; several clips of one source family need distinct ids).
    """

    model_config = ConfigDict(frozen=True)

    path: Path
    source: str
    start: float = Field(default=0.0, ge=0.0)
    duration: float | None = Field(default=None, gt=0.0)
    crop: tuple[int, int, int, int] | None = None
    height: int | None = Field(default=None, ge=16)
    hflip: bool = False
    clip_id: str | None = None

    @property
    def name(self) -> str:
        """A file-name-safe identifier of the clip."""
        if self.clip_id is not None:
            return f"{self.source}_{self.clip_id}".replace(".", "p").replace("/", "_")
        crop = "" if self.crop is None else "_c{}x{}".format(*self.crop[:2])
        if self.crop is not None and (self.height is not None or self.hflip):
            crop += "_{}x{}".format(*self.crop[2:])
        crop += "" if self.height is None else f"_h{self.height}"
        crop += "_f" if self.hflip else ""
        return f"{self.source}_t{self.start:05.2f}{crop}".replace(".", "p")


def height_scale(height: int) -> float:
    """Pixel parameters are given at 360 rows; at ``height`` rows they are multiplied by
    ``height / 360``, clipped to ``[0.5, 3]``."""
    return float(np.clip(height / 360.0, 0.5, 3.0))


def _gblur_graph(stream_template: av.VideoFrame, sigma: float) -> av.filter.Graph:
    """A PyAV filter graph running FFmpeg's ``gblur`` on rgb24 frames."""
    graph = av.filter.Graph()
    src = graph.add_buffer(
        width=stream_template.width,
        height=stream_template.height,
        format="rgb24",
        time_base=fractions.Fraction(1, 1000),
    )
    blur = graph.add("gblur", f"sigma={sigma:.4f}:steps=3")
    sink = graph.add("buffersink")
    src.link_to(blur)
    blur.link_to(sink)
    graph.configure()
    return graph


class _FrameDistorter:
    """Applies one :class:`Distortion` to rgb24 frames of one clip."""

    def __init__(self, distortion: Distortion, width: int, height: int, seed: int) -> None:
        self.d = distortion
        self.p = distortion.parameter()
        self.scale = height_scale(height)
        self.rng = np.random.default_rng(seed)
        self.size = (width, height)
        self.graph: av.filter.Graph | None = None
        self.phase = self.rng.uniform(0.0, 2.0 * np.pi)

    def apply(self, frame: av.VideoFrame, t: float) -> av.VideoFrame:
        """The distorted frame shown at clip time ``t`` (stutter is handled elsewhere)."""
        kind = self.d.kind
        if not self.d.active(t) or kind in (
            DistortionKind.NONE,
            DistortionKind.COMPRESSION,
            DistortionKind.STUTTER,
        ):
            return frame
        if kind is DistortionKind.BLUR:
            if self.graph is None:
                self.graph = _gblur_graph(frame, self.p * self.scale)
            self.graph.push(frame)
            return self.graph.pull()
        if kind is DistortionKind.LOW_RESOLUTION:
            w, h = self.size
            small = frame.reformat(
                width=max(round(w / self.p), 2),
                height=max(round(h / self.p), 2),
                interpolation="AREA",
            )
            return small.reformat(width=w, height=h, format="rgb24", interpolation="BICUBIC")
        rgb = frame.to_ndarray(format="rgb24").astype(np.float32)
        return av.VideoFrame.from_ndarray(self._pixels(rgb, t), format="rgb24")

    def _pixels(self, rgb: np.ndarray, t: float) -> np.ndarray:
        kind, p = self.d.kind, self.p
        if kind is DistortionKind.NOISE:
            rgb = rgb + self.rng.normal(0.0, p, rgb.shape).astype(np.float32)
        elif kind is DistortionKind.UNDEREXPOSURE:
            rgb = rgb * p
        elif kind is DistortionKind.OVEREXPOSURE:
            rgb = rgb * p + 20.0 * (p - 1.0)
        elif kind is DistortionKind.FLICKER:
            hz = _FLICKER_HZ[self.d.level - 1]
            wave = 0.7 * np.sin(2.0 * np.pi * hz * t + self.phase) + 0.3 * self.rng.uniform(
                -1.0, 1.0
            )
            rgb = rgb * (1.0 + p * wave)
        elif kind is DistortionKind.SHAKE:
            rgb = _shift(rgb, self.rng.normal(0.0, p * self.scale, 2))
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _shift(rgb: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Translate a frame by whole pixels ``(dy, dx)``, repeating the border pixels."""
    dy, dx = (int(round(v)) for v in offset)
    h, w = rgb.shape[:2]
    pad = max(abs(dy), abs(dx))
    if pad == 0:
        return rgb
    padded = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    return padded[pad - dy : pad - dy + h, pad - dx : pad - dx + w]


def _stutter_plan(n: int, times: np.ndarray, d: Distortion, rng: np.random.Generator) -> list[int]:
    """For each output frame, the index of the source frame to show (``-1``: dropped).

    Pictures are held for ``L - 1``, ``L`` or ``L + 1`` frames (at least 2; ``L`` is the
    level's parameter, the choice is random) at a share of the positions; even levels
    drop the held frames from the stream (presentation-time gaps, variable frame rate),
    odd levels repeat the held picture (constant rate).
    """
    base = int(d.parameter())
    share = _STUTTER_SHARE[d.level - 1]
    drop = d.level % 2 == 0
    plan: list[int] = []
    i = 0
    while i < n:
        plan.append(i)
        if d.active(float(times[i])) and rng.uniform() < share:
            hold = max(2, base + int(rng.integers(-1, 2)))
            extra = min(hold - 1, n - i - 1)
            plan.extend([-1 if drop else i] * extra)
            i += extra
        i += 1
    return plan


def _cut(frame: av.VideoFrame, clip: SourceClip) -> av.VideoFrame:
    """A decoded frame cropped, resized and mirrored as ``clip`` asks, as rgb24."""
    if clip.crop is None and not clip.hflip:
        rgb = frame.reformat(format="rgb24")
    else:
        arr = frame.to_ndarray(format="rgb24")
        if clip.crop is not None:
            x, y, w, h = clip.crop
            arr = arr[y : y + h, x : x + w]
        if clip.hflip:
            arr = arr[:, ::-1]
        rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
    if clip.height is None or clip.height == rgb.height:
        return rgb
    width = max(2, round(rgb.width * clip.height / rgb.height / 2) * 2)
    return rgb.reformat(width=width, height=clip.height, format="rgb24", interpolation="AREA")


def _decoded_clip(clip: SourceClip) -> Iterator[tuple[av.VideoFrame, float, fractions.Fraction]]:
    """Frames of a clip (cropped, rgb24) with their clip time, and the stream rate."""
    if not clip.path.is_file():
        raise VideoNotFoundError(f"video not found: {clip.path}", str(clip.path))
    try:
        container = av.open(str(clip.path))
    except av.error.FFmpegError as exc:
        raise CorruptVideoError(f"cannot open {clip.path}: {exc}", str(clip.path)) from exc
    with container:
        stream = container.streams.video[0]
        rate = stream.average_rate or fractions.Fraction(25)
        end = None if clip.duration is None else clip.start + clip.duration
        for frame in container.decode(stream):
            t = float(frame.time) if frame.time is not None else 0.0
            if t < clip.start - 1e-6:
                continue
            if end is not None and t >= end - 1e-6:
                break
            yield _cut(frame, clip), t - clip.start, rate


def synthesize(
    clip: SourceClip,
    distortion: Distortion | Sequence[Distortion],
    dest: Path,
    *,
    seed: int = 0,
) -> Path:
    """Write a distorted version of a pristine clip as an MP4.

    Args:
        clip: the pristine clip.
        distortion: what to apply (``none`` re-encodes at :data:`PRISTINE_CRF`), or
            several distortions of different kinds applied together (the frame
            distortions in the given order, then the stutter plan, then the encoder of
            a compression distortion).
        dest: output ``.mp4`` path; its folder must exist.
        seed: seed of the random parts (noise, flicker jitter, shake, stutter positions).

    Returns:
        ``dest``.

    Raises:
        VideoNotFoundError, CorruptVideoError: the source cannot be read.
        UsageError: the clip holds no frame, its crop has odd or empty sides, or two
            distortions are of the same kind.
    """
    distortions = [distortion] if isinstance(distortion, Distortion) else list(distortion)
    kinds = [d.kind for d in distortions if d.kind is not DistortionKind.NONE]
    if len(set(kinds)) != len(kinds) or not distortions:
        raise UsageError(f"give distortions of different kinds, got {[k.value for k in kinds]}")
    if clip.crop is not None and (
        clip.crop[2] < 16 or clip.crop[3] < 16 or clip.crop[2] % 2 or clip.crop[3] % 2
    ):
        raise UsageError(f"crop sides must be even and >= 16 pixels, got {clip.crop}")
    frames = list(_decoded_clip(clip))
    if not frames:
        raise UsageError(f"clip {clip.name} holds no frame")
    rate = frames[0][2]
    times = np.array([t for _, t, _ in frames])
    width, height = frames[0][0].width // 2 * 2, frames[0][0].height // 2 * 2
    rng = np.random.default_rng(seed)
    distorters = [
        _FrameDistorter(d, width, height, seed + 1 + j) for j, d in enumerate(distortions)
    ]
    stutter = [d for d in distortions if d.kind is DistortionKind.STUTTER]
    plan = (
        _stutter_plan(len(frames), times, stutter[0], rng) if stutter else list(range(len(frames)))
    )
    compression = [d for d in distortions if d.kind is DistortionKind.COMPRESSION]
    codec = compression[0].codec if compression else "libx264"
    with av.open(str(dest), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            crf = compression[0].parameter() if compression else PRISTINE_CRF
            stream.options = {"crf": f"{crf:g}", "preset": "veryfast"}
        else:
            q = int(compression[0].parameter())  # fixed quantizer: qmin = qmax = q
            stream.codec_context.qmin = stream.codec_context.qmax = q
            stream.bit_rate = 100_000_000  # never the binding limit
        stream.codec_context.time_base = fractions.Fraction(1) / rate
        for pts, src in enumerate(plan):
            if src < 0:
                continue
            frame, t, _ = frames[src]
            if frame.width != width or frame.height != height:
                frame = frame.reformat(width=width, height=height)
            shown = frame
            for distorter in distorters:
                shown = distorter.apply(shown, float(pts / rate))
            shown = shown.reformat(format="yuv420p")
            shown.pts = pts
            shown.time_base = stream.codec_context.time_base
            for packet in stream.encode(shown):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dest
