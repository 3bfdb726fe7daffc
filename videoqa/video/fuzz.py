"""Fuzzing the video reader: damaged copies of small videos give typed errors only.

A campaign writes small seed videos with the ``ffmpeg`` command line (several
containers and codecs, :data:`SEEDS`), derives mutants from them (:func:`mutate`: byte
flips, truncation, header zeroing, chunk duplication; a pure function of a seed number)
and reads every mutant the way videoqa does (:func:`check_file`). The reader keeps its
promises when every outcome is either a success whose frames satisfy the invariants, or
one of videoqa's typed errors:

- success: ``frame_times`` strictly increasing from 0.0 and inside ``[0, duration)``;
  ``num_frames`` equal to the number of times; a uniform sample read with
  :meth:`~videoqa.video.reader.VideoReader.read_at` is ``(T, H, W, 3)`` uint8 at the
  probed (upright) size with times inside the video; the same frames read one by one by
  a second, single-threaded reader, and by :meth:`~videoqa.video.reader.VideoReader.read_all`
  when that succeeds, have the same pixels;
- failure: a :class:`~videoqa.errors.VideoError` (or the UsageError of a request the
  reader finds too large), never another exception.

Used by ``tests/video/test_fuzz.py`` (a bounded, seeded run in ``make test``) and
``benchmarks/fuzz_reader.py`` (the long campaign, run by hand).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videoqa.errors import UsageError, VideoError, VideoQAError, VideoTimeoutError

__all__ = [
    "MUTATIONS",
    "SEEDS",
    "Mutant",
    "Outcome",
    "SeedVideo",
    "check_file",
    "ffmpeg_path",
    "make_seeds",
    "seed_exact",
    "mutant",
    "mutants",
    "mutate",
]

_LAVFI = ("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25:duration=1.2")
_TONE = ("-f", "lavfi", "-i", "sine=frequency=440:duration=1.2")
_X264 = ("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p")


@dataclass(frozen=True)
class SeedVideo:
    """A seed of the campaign: a file name and how ffmpeg makes it.

    Attributes:
        name: file name (its extension selects the container).
        args: ffmpeg arguments (inputs, filters, codecs) before the output file; empty for
            the 0-byte file.
        copy_args: when set, the file is first written as ``name + ".src.mp4"`` and then
            remuxed with ``-c copy`` plus these arguments (e.g. a rotation tag).
        expect: what a clean read of the seed gives: ``"ok"`` or a typed error's class
            name.
        exact: whether the reader promises the same pixels on every read path for the
            damaged mutants of this seed (not for VP8 and open-GOP H.264/HEVC/MPEG-2:
            see the module docstring of :mod:`videoqa.video.reader`).
    """

    name: str
    args: tuple[str, ...]
    copy_args: tuple[str, ...] = ()
    expect: str = "ok"
    exact: bool = True


SEEDS: tuple[SeedVideo, ...] = (
    SeedVideo("h264_bframes.mp4", (*_LAVFI, *_X264, "-g", "12", "-bf", "3")),
    SeedVideo("h264_aac.mp4", (*_LAVFI, *_TONE, *_X264, "-g", "12", "-bf", "2", "-c:a", "aac",
                               "-shortest")),  # fmt: skip
    SeedVideo("hevc_open_gop.mp4", (*_LAVFI, "-c:v", "libx265", "-x265-params",
                                    "log-level=error:keyint=12:bframes=2", "-pix_fmt",
                                    "yuv420p"), exact=False),  # fmt: skip
    SeedVideo("hevc.mp4", (*_LAVFI, "-c:v", "libx265", "-x265-params",
                           "log-level=error:keyint=12:bframes=2:open-gop=0", "-pix_fmt",
                           "yuv420p")),  # fmt: skip
    SeedVideo("odd_size.mp4", (*_LAVFI, "-vf", "scale=63:47", "-c:v", "libx264",
                               "-preset", "veryfast", "-pix_fmt", "yuv444p", "-g", "10")),  # fmt: skip
    SeedVideo("vfr.mp4", (*_LAVFI, "-vf", "setpts='(N+0.4*mod(N*7,5))/25/TB'", "-vsync", "vfr",
                          *_X264, "-g", "15", "-bf", "2")),  # fmt: skip
    SeedVideo("rotated.mov", (*_LAVFI, *_X264, "-g", "12"), copy_args=("-metadata:s:v:0",
                                                                       "rotate=90")),  # fmt: skip
    SeedVideo("vp9.mkv", (*_LAVFI, "-c:v", "libvpx-vp9", "-deadline", "realtime",
                          "-cpu-used", "8", "-g", "12")),  # fmt: skip
    SeedVideo("vp8.webm", (*_LAVFI, "-c:v", "libvpx", "-deadline", "realtime",
                           "-cpu-used", "8", "-g", "12"), exact=False),  # fmt: skip
    SeedVideo("mjpeg.avi", (*_LAVFI, "-c:v", "mjpeg", "-q:v", "8")),
    SeedVideo("mpeg4.avi", (*_LAVFI, "-c:v", "mpeg4", "-g", "12")),
    SeedVideo("h264.ts", (*_LAVFI, *_TONE, *_X264, "-g", "12", "-bf", "2", "-c:a", "aac",
                          "-shortest", "-f", "mpegts")),  # fmt: skip
    SeedVideo("mpeg2_open_gop.mpg", (*_LAVFI, "-c:v", "mpeg2video", "-g", "12", "-bf", "2",
                                     "-f", "mpeg"), exact=False),  # fmt: skip
    SeedVideo("mpeg2.mpg", (*_LAVFI, "-c:v", "mpeg2video", "-g", "12", "-bf", "2",
                            "-flags", "+cgop", "-sc_threshold", "1000000000", "-f", "mpeg")),  # fmt: skip
    SeedVideo("flv1.flv", (*_LAVFI, "-c:v", "flv", "-g", "12")),
    SeedVideo("latin1_tag.mkv", (*_LAVFI, *_X264, "-g", "12", "-metadata", "title=Caf\udce9")),
    SeedVideo("one_frame.mp4", (*_LAVFI, *_X264, "-frames:v", "1")),
    SeedVideo("audio_only.m4a", (*_TONE, "-c:a", "aac"), expect="UnsupportedVideoError"),
    SeedVideo("empty.mp4", (), expect="UnsupportedVideoError"),
)
"""The seed videos: 64x48 pixels, 1.2 s at 25 fps unless said otherwise (a few kB each)."""

MUTATIONS: tuple[str, ...] = ("flip", "truncate", "zero_header", "duplicate")
"""Kinds of damage :func:`mutate` does."""


def ffmpeg_path() -> str | None:
    """The ``ffmpeg`` executable on ``PATH``, or ``None``."""
    return shutil.which("ffmpeg")


def _arg(text: str) -> str | bytes:
    """An ffmpeg argument; ``\\udcXX`` surrogates stand for raw (non-UTF-8) bytes."""
    raw = any("\udc80" <= char <= "\udcff" for char in text)
    return text.encode("utf-8", "surrogateescape") if raw else text


def make_seeds(
    folder: Path, *, names: Sequence[str] | None = None, ffmpeg: str | None = None
) -> dict[str, Path]:
    """Write the seed videos (all of :data:`SEEDS`, or those named) into ``folder``.

    Args:
        folder: output folder (created).
        names: seed file names to make; ``None``: all.
        ffmpeg: the ffmpeg executable; ``None``: the one on ``PATH``.

    Returns:
        seed name → written file.

    Raises:
        FileNotFoundError: no ffmpeg. subprocess.CalledProcessError: ffmpeg failed.
    """
    exe = ffmpeg or ffmpeg_path()
    if exe is None:
        raise FileNotFoundError("ffmpeg is not on PATH")
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for seed in SEEDS:
        if names is not None and seed.name not in names:
            continue
        out = folder / seed.name
        if not seed.args:
            out.write_bytes(b"")
        else:
            base = [exe, "-hide_banner", "-loglevel", "error", "-y", "-threads", "1"]
            first = out.with_name(out.name + ".src.mp4") if seed.copy_args else out
            args = [_arg(a) for a in seed.args]
            subprocess.run([*base, *args, str(first)], check=True, capture_output=True)
            if seed.copy_args:
                copy = [*base, "-i", str(first), "-c", "copy", *seed.copy_args, str(out)]
                subprocess.run(copy, check=True, capture_output=True)
                first.unlink()
        written[seed.name] = out
    return written


def mutate(data: bytes, kind: str, rng: np.random.Generator) -> bytes:
    """A damaged copy of ``data``.

    Args:
        data: the file's bytes.
        kind: one of :data:`MUTATIONS`: ``"flip"`` XORs 1-16 random bytes with random
            non-zero values; ``"truncate"`` keeps a random prefix (on MPEG-TS packet
            boundaries half of the time: such cuts are invisible to the demuxer);
            ``"zero_header"`` zeroes a run of 1-256 bytes inside the first 4 KiB;
            ``"duplicate"`` inserts a copy of a random chunk of 16-2048 bytes at a random
            position.
        rng: the random generator (the result is a pure function of its state).

    Raises:
        ValueError: an unknown kind.
    """
    size = len(data)
    if size == 0:
        return data
    out = bytearray(data)
    if kind == "flip":
        for pos in rng.integers(0, size, size=int(rng.integers(1, 17))):
            out[pos] ^= int(rng.integers(1, 256))
    elif kind == "truncate":
        cut = int(rng.integers(1, size))
        if rng.random() < 0.5:
            cut = max(188, cut - cut % 188)
        del out[cut:]
    elif kind == "zero_header":
        start = int(rng.integers(0, min(size, 4096)))
        end = min(size, start + int(rng.integers(1, 257)))
        out[start:end] = bytes(end - start)
    elif kind == "duplicate":
        length = int(rng.integers(16, 2049))
        start = int(rng.integers(0, size))
        chunk = bytes(out[start : start + length])
        at = int(rng.integers(0, size + 1))
        out[at:at] = chunk
    else:
        raise ValueError(f"unknown mutation {kind!r}; kinds: {', '.join(MUTATIONS)}")
    return bytes(out)


@dataclass(frozen=True)
class Mutant:
    """One mutant: ``number`` of a campaign seeded with ``campaign``.

    Attributes:
        number: its position in the campaign.
        seed: the seed file name it was derived from.
        kind: the mutation (:data:`MUTATIONS`).
        data: its bytes.
    """

    number: int
    seed: str
    kind: str
    data: bytes


def seed_exact(name: str) -> bool:
    """:attr:`SeedVideo.exact` of the seed named ``name`` (True for unknown names)."""
    return next((seed.exact for seed in SEEDS if seed.name == name), True)


def mutant(seeds: dict[str, bytes], number: int, campaign: int = 0) -> Mutant:
    """Mutant ``number`` of campaign ``campaign``: the seed and kind go round-robin
    (every seed and kind equally often), the damage is drawn from
    ``numpy.random.default_rng((campaign, number))``."""
    names = sorted(name for name, data in seeds.items() if data)
    name = names[number % len(names)]
    kind = MUTATIONS[(number // len(names)) % len(MUTATIONS)]
    rng = np.random.default_rng((campaign, number))
    return Mutant(number, name, kind, mutate(seeds[name], kind, rng))


def mutants(
    seeds: dict[str, bytes], count: int, campaign: int = 0, start: int = 0
) -> Iterator[Mutant]:
    """Mutants ``start`` ... ``start + count - 1`` of a campaign (see :func:`mutant`)."""
    for number in range(start, start + count):
        yield mutant(seeds, number, campaign)


@dataclass(frozen=True)
class Outcome:
    """What reading one file gave.

    Attributes:
        status: ``"ok"`` (every read succeeded), ``"partial"`` (the index and the sample
            read; a later read raised a typed error), ``"error"`` (a typed error
            before a sample could be read), ``"timeout"`` (VideoTimeoutError), or one of
            the bug statuses ``"untyped"`` (an exception that is not videoqa's),
            ``"invariant"`` (a success with a wrong shape, dtype or time) and ``"pixels"``
            (two read paths gave different pixels for a frame).
        error: the class name of the exception, "" on success.
        stage: where it happened: ``"open"``, ``"index"``, ``"sample"``, ``"single"``,
            ``"all"``, or ``""``.
        detail: the message.
    """

    status: str
    error: str = ""
    stage: str = ""
    detail: str = ""

    @property
    def is_bug(self) -> bool:
        """Whether the outcome breaks the reader's promises."""
        return self.status in ("untyped", "invariant", "pixels")

    @property
    def key(self) -> str:
        """A short label to count outcomes by, e.g. ``"error:CorruptVideoError@index"``."""
        if self.status == "ok":
            return "ok"
        return f"{self.status}:{self.error}@{self.stage}" if self.error else self.status


class _Broken(Exception):
    """An invariant of a successful read does not hold."""


class _PixelsDiffer(_Broken):
    """Two read paths gave different pixels for the same frame."""


def _require(condition: bool, what: str, error: type[_Broken] = _Broken) -> None:
    if not condition:
        raise error(what)


def _check_batch(batch, info, duration: float, count: int) -> None:  # noqa: ANN001
    width, height = (info.height, info.width) if info.rotation in (90, 270) else (
        info.width, info.height,
    )  # fmt: skip
    frames = batch.frames
    _require(frames.dtype == np.uint8, f"frames dtype {frames.dtype}")
    _require(frames.shape == (count, height, width, 3), f"frames shape {frames.shape}, "
             f"expected {(count, height, width, 3)}")  # fmt: skip
    _require(bool(np.all((batch.times >= 0) & (batch.times < duration))),
             f"frame times {batch.times.tolist()} outside [0, {duration})")  # fmt: skip


def check_file(
    path: Path, *, frames: int = 6, seconds: float | None = 20.0, exact: bool = True
) -> Outcome:
    """Read ``path`` as videoqa does and check the reader's promises (module docstring).

    Args:
        path: the file.
        frames: size of the uniform sample.
        seconds: wall-clock limit of all the reading (:func:`~videoqa.video.reader.time_limit`).
        exact: also require the same pixels on every read path.

    Returns:
        the :class:`Outcome`; never raises for a damaged file.
    """
    from videoqa.video.reader import VideoReader, probe, time_limit
    from videoqa.video.samplers import VideoTiming, sample_times

    stage = "open"
    sample = None
    try:
        with time_limit(seconds):
            probe(path)
            with VideoReader(path) as reader:
                stage = "index"
                times = reader.frame_times()
                info = reader.info
                _require(times.ndim == 1 and len(times) >= 1, f"times shape {times.shape}")
                _require(times[0] == 0.0, f"first time {times[0]}")
                _require(bool(np.all(np.diff(times) > 0)), "times not strictly increasing")
                _require(info.num_frames == len(times), "num_frames != len(frame_times)")
                _require(bool(times[-1] < info.duration), "last frame at or past duration")
                stage = "sample"
                timing = VideoTiming.from_info(info)
                wanted = sample_times("uniform", timing, frames)
                sample = reader.read_at(wanted)
                _check_batch(sample, info, info.duration, len(wanted))
            stage = "single"
            with VideoReader(path, threads=False) as other:
                for j in reversed(range(len(sample))):
                    one = other.read_indices([int(sample.indices[j])])
                    _require(not exact or np.array_equal(one.frames[0], sample.frames[j]),
                             f"frame {sample.indices[j]}: read alone differs from read_at",
                             _PixelsDiffer)  # fmt: skip
                stage = "all"
                whole = other.read_all()
                _check_batch(whole, info, info.duration, info.num_frames)
                same = np.array_equal(whole.frames[sample.indices], sample.frames)
                _require(not exact or same, "read_all differs from read_at", _PixelsDiffer)
    except _PixelsDiffer as exc:
        return Outcome("pixels", "", stage, str(exc))
    except _Broken as exc:
        return Outcome("invariant", "", stage, str(exc))
    except VideoTimeoutError as exc:
        return Outcome("timeout", type(exc).__name__, stage, str(exc))
    except (VideoError, UsageError) as exc:
        status = "partial" if sample is not None else "error"
        return Outcome(status, type(exc).__name__, stage, str(exc))
    except VideoQAError as exc:  # typed, but not an error a video should cause
        return Outcome("untyped", type(exc).__name__, stage, str(exc))
    except Exception as exc:  # noqa: BLE001 - the point: report anything else as a bug
        return Outcome("untyped", type(exc).__name__, stage, f"{exc!r}")
    return Outcome("ok")


def check_bytes(data: bytes, suffix: str, **options: object) -> Outcome:
    """:func:`check_file` on ``data`` written to a temporary file named ``*suffix``."""
    with tempfile.TemporaryDirectory(prefix="videoqa-fuzz-") as tmp:
        path = Path(tmp) / f"mutant{suffix}"
        path.write_bytes(data)
        return check_file(path, **options)  # type: ignore[arg-type]
