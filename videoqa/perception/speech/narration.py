"""Narrated test clips: known sentences spoken by ``espeak-ng`` at known times, muxed
onto a real video.

Speech fixtures, the speech benchmark, the speech-QA set and ``make demo`` build their
clips here, so that every measurement knows exactly when each word was said.

How the timeline is known: every word is synthesized on its own
(``espeak-ng -w``), trimmed to its voiced samples (|x| above 1 % of full scale), and the
words of a sentence are laid end to end with a fixed gap (``word_gap`` s) starting at
the sentence's ``start``. So each :class:`NarratedWord` span is exact to the sample (up to
the trimming threshold). The audio (mono, 22,050 Hz, AAC) is muxed with the video's own
packets copied (no re-encoding), the video looped when the narration is longer than it.
Only Python (PyAV) and the ``espeak-ng`` program are needed; no ffmpeg binary.

espeak-ng writes pulse-audio files under ``$XDG_CONFIG_HOME`` / ``$XDG_RUNTIME_DIR``;
callers that must not touch the home folder (tests) point those at a temporary folder.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from videoqa.errors import UsageError, VideoError

__all__ = [
    "ESPEAK_RATE",
    "NarratedClip",
    "NarratedSentence",
    "NarratedWord",
    "SentenceSpec",
    "build_narrated_clip",
    "espeak_available",
    "narrate_words",
]

ESPEAK_RATE = 22050
"""Sample rate (Hz) of espeak-ng's WAV output, kept for the muxed audio track."""
_SILENCE = 0.01
_TOKEN = re.compile(r"[A-Za-z0-9']+[.,!?;:]*")


class SentenceSpec(BaseModel):
    """One sentence to narrate: ``text`` starting at ``start`` seconds."""

    model_config = ConfigDict(frozen=True)

    start: float = Field(ge=0.0)
    text: str


class NarratedWord(BaseModel):
    """A spoken word and its exact span (seconds on the clip's timeline)."""

    word: str
    start: float
    end: float


class NarratedSentence(BaseModel):
    """A spoken sentence: its text, span (seconds) and words."""

    text: str
    start: float
    end: float
    words: list[NarratedWord]


class NarratedClip(BaseModel):
    """What :func:`build_narrated_clip` wrote: the clip, its duration (s), the voice and
    the ground-truth timeline."""

    path: str
    duration: float
    voice: str
    speed: int
    sentences: list[NarratedSentence]

    @property
    def words(self) -> list[NarratedWord]:
        """Every narrated word in order."""
        return [w for s in self.sentences for w in s.words]


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` program is on ``PATH``."""
    return shutil.which("espeak-ng") is not None


def _speak(word: str, voice: str, speed: int, folder: Path) -> np.ndarray:
    """One word as float32 samples at :data:`ESPEAK_RATE`, trimmed to its voiced part."""
    out = folder / "word.wav"
    try:
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-z", "-w", str(out), word],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except FileNotFoundError:
        raise UsageError("espeak-ng is not installed (Debian: apt-get install espeak-ng)") from None
    except subprocess.CalledProcessError as err:
        raise UsageError(
            f"espeak-ng failed on {word!r}: {err.stderr.decode(errors='replace')}"
        ) from None
    with wave.open(str(out), "rb") as handle:
        if handle.getframerate() != ESPEAK_RATE or handle.getsampwidth() != 2:
            raise UsageError(f"unexpected espeak-ng output format ({handle.getframerate()} Hz)")
        samples = np.frombuffer(handle.readframes(handle.getnframes()), np.int16)
    audio = samples.astype(np.float32) / 32768.0
    voiced = np.flatnonzero(np.abs(audio) > _SILENCE)
    if len(voiced) == 0:
        return np.zeros(0, np.float32)
    return audio[voiced[0] : voiced[-1] + 1]


def narrate_words(
    sentences: Sequence[SentenceSpec],
    *,
    voice: str = "en-us",
    speed: int = 150,
    word_gap: float = 0.06,
    min_pause: float | None = None,
) -> tuple[np.ndarray, list[NarratedSentence]]:
    """Synthesize ``sentences`` word by word onto one timeline.

    Args:
        sentences: what to say and when (each ``start`` in seconds); they must not overlap.
        voice, speed: espeak-ng voice name and words per minute.
        word_gap: silence between the words of a sentence, seconds.
        min_pause: when a sentence would start less than this many seconds after the
            previous one ends, it starts that late instead (the timeline records where);
            None: such sentences are an error.

    Returns:
        ``(audio (N,) float32 at 22,050 Hz, the timeline)``.

    Raises:
        UsageError: espeak-ng missing or failing, an empty sentence, or sentences that
            overlap once spoken.
    """
    pieces: list[tuple[int, np.ndarray]] = []
    timeline: list[NarratedSentence] = []
    cursor = 0.0
    with tempfile.TemporaryDirectory(prefix="videoqa-narration-") as tmp:
        for spec in sorted(sentences, key=lambda s: s.start):
            tokens = _TOKEN.findall(spec.text)
            if not tokens:
                raise UsageError(f"nothing to say in {spec.text!r}")
            start = spec.start
            if min_pause is not None and timeline:
                start = max(start, cursor + min_pause)
            if start < cursor:
                raise UsageError(
                    f"sentence at {spec.start:.2f} s starts before the previous one ends "
                    f"({cursor:.2f} s): {spec.text!r}"
                )
            t = start
            words = []
            for token in tokens:
                audio = _speak(token, voice, speed, Path(tmp))
                offset = round(t * ESPEAK_RATE)
                pieces.append((offset, audio))
                end = t + len(audio) / ESPEAK_RATE
                words.append(NarratedWord(word=token, start=round(t, 4), end=round(end, 4)))
                t = end + word_gap
            cursor = words[-1].end
            timeline.append(
                NarratedSentence(text=spec.text, start=words[0].start, end=cursor, words=words)
            )
    total = max((o + len(a) for o, a in pieces), default=0)
    track = np.zeros(total, np.float32)
    for offset, audio in pieces:
        track[offset : offset + len(audio)] += audio
    return track, timeline


def build_narrated_clip(
    sentences: Sequence[SentenceSpec],
    video: str | Path,
    out: str | Path,
    *,
    duration: float | None = None,
    voice: str = "en-us",
    speed: int = 150,
    word_gap: float = 0.06,
    min_pause: float | None = None,
    tail: float = 1.0,
) -> NarratedClip:
    """Write ``out`` (MP4): ``video``'s frames (looped as needed) with ``sentences``
    narrated at their times, and ``out`` with suffix ``.json``: the :class:`NarratedClip`
    timeline.

    Args:
        sentences: what is said when (seconds).
        video: a video with an H.264 (or any MP4-muxable) video stream; its audio, if
            any, is dropped.
        out: the clip to write (atomically: a temporary file renamed into place).
        duration: clip length in seconds (default: the narration's end + ``tail``).
        voice, speed, word_gap, min_pause: see :func:`narrate_words`.
        tail: seconds of silence after the last word when ``duration`` is not given.

    Raises:
        UsageError: espeak-ng missing or failing, sentences overlapping, or a duration
            shorter than the narration.
        VideoError: ``video`` cannot be read.
    """
    import av

    audio, timeline = narrate_words(
        sentences, voice=voice, speed=speed, word_gap=word_gap, min_pause=min_pause
    )
    spoken = len(audio) / ESPEAK_RATE
    duration = float(duration) if duration is not None else spoken + tail
    if duration < spoken:
        raise UsageError(
            f"duration {duration:.2f} s is shorter than the narration ({spoken:.2f} s)"
        )
    samples = np.zeros(round(duration * ESPEAK_RATE), np.float32)
    samples[: len(audio)] = audio[: len(samples)]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".mp4")
    os.close(fd)
    try:
        _mux(av, Path(video), Path(tmp_name), samples, duration)
        os.replace(tmp_name, out)
    except av.error.FFmpegError as err:
        raise VideoError(f"cannot build a narrated clip from {video}: {err}", str(video)) from None
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    clip = NarratedClip(
        path=str(out), duration=duration, voice=voice, speed=speed, sentences=timeline
    )
    meta = out.with_suffix(".json")
    fd, tmp_meta = tempfile.mkstemp(dir=out.parent, prefix=f".{meta.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(clip.model_dump(mode="json"), handle, indent=1)
    os.replace(tmp_meta, meta)
    return clip


def _mux(av, video: Path, out: Path, samples: np.ndarray, duration: float) -> None:  # noqa: ANN001
    """Copy ``video``'s video packets (looped to ``duration`` s) and encode ``samples``
    (mono float32 at 22,050 Hz) as AAC into ``out``."""
    with av.open(str(video)) as source, av.open(str(out), "w", format="mp4") as sink:
        if not source.streams.video:
            raise VideoError(f"{video}: no video stream", str(video))
        src = source.streams.video[0]
        packets = [
            (p, p.pts, p.dts if p.dts is not None else p.pts)
            for p in source.demux(src)
            if p.size > 0 and p.pts is not None
        ]
        if not packets:
            raise VideoError(f"{video}: no video packets", str(video))
        tb = src.time_base
        first = min(pts for _, pts, _ in packets)
        step = max(p.duration or 0 for p, _, _ in packets) or round(
            1 / (float(src.average_rate) * tb)
        )
        period = max(pts for _, pts, _ in packets) - first + step  # one pass, in tb units
        loops = max(1, math.ceil(duration / float(period * tb)))
        vout = sink.add_stream_from_template(src)
        aout = sink.add_stream("aac", rate=ESPEAK_RATE, layout="mono")
        limit = int(duration / tb)
        for loop in range(loops):
            for packet, pts0, dts0 in packets:
                pts = pts0 - first + loop * period
                if pts >= limit:
                    continue
                packet.pts, packet.dts = pts, dts0 - first + loop * period
                packet.stream = vout
                sink.mux(packet)
        frame_size = 1024
        for i in range(0, len(samples), frame_size):
            chunk = samples[i : i + frame_size]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
            frame.sample_rate = ESPEAK_RATE
            frame.pts = i
            frame.time_base = Fraction(1, ESPEAK_RATE)
            for encoded in aout.encode(frame):
                sink.mux(encoded)
        for encoded in aout.encode(None):
            sink.mux(encoded)


DEMO_SENTENCES: tuple[SentenceSpec, ...] = (
    SentenceSpec(start=1.0, text="Good morning, welcome to the weekly planning meeting."),
    SentenceSpec(start=7.0, text="The project deadline is next Friday at noon."),
    SentenceSpec(start=13.0, text="Please bring your laptop to the meeting tomorrow."),
)
"""What the demo clip says (``python -m videoqa.perception.speech.narration OUT.mp4``)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Build the demo clip: :data:`DEMO_SENTENCES` over the ``bikes`` sample video.
    Exit status 0 when written, 1 when espeak-ng is missing (with a message)."""
    import argparse
    import sys

    from videoqa.video.samples import sample_video

    parser = argparse.ArgumentParser(description="Write a narrated demo clip (espeak-ng).")
    parser.add_argument(
        "out", type=Path, help="MP4 to write (its timeline goes beside it as .json)"
    )
    parser.add_argument("--video", default="bikes", help="sample video to narrate over")
    args = parser.parse_args(argv)
    if not espeak_available():
        print("espeak-ng is not installed (Debian: apt-get install espeak-ng)", file=sys.stderr)
        return 1
    clip = build_narrated_clip(DEMO_SENTENCES, sample_video(args.video), args.out, duration=20.0)
    print(f"{clip.path}: {clip.duration:.0f} s, {len(clip.sentences)} sentences", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
