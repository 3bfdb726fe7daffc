"""Route a question to the path that can answer it: speech, video quality (VQA²) or visual.

Speech questions ("when does she mention the deadline?", "what does he say the budget
is?") are recognized by :func:`~videoqa.pipelines.speech.recognize_speech_question` and
answered from the transcript (or the given subtitles) by
:class:`~videoqa.pipelines.speech.SpeechQA`; for other questions about a video that has
speech, the transcript's evidence joins the visual answer (:meth:`SpeechQA.fuse`).

Quality questions ("is the video blurry?", "rate the overall quality", "what distortion
is most visible?", "when does the quality drop?") are recognized by
:func:`~videoqa.perception.quality.recognize_question` (a lexicon, optionally backed by
sentence-embedding similarity) and answered from quality perception (VQA², stages 1–3);
every other question goes to the visual :class:`~videoqa.pipelines.ask.AskPipeline`.
Both paths return the same typed :class:`~videoqa.pipelines.ask.AskRun`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from videoqa.errors import UsageError
from videoqa.perception.quality import QualityAnswer, answer_from_report, assess_video
from videoqa.perception.quality.model import QualityModel, load_default_model
from videoqa.perception.quality.questions import recognize_question
from videoqa.perception.speech import Transcript, has_audio
from videoqa.pipelines.ask import AskRun, StageTimer, check_inputs
from videoqa.pipelines.schema import AskResult, Evidence, ModelInfo, QualityPoint
from videoqa.pipelines.speech import SpeechQA, recognize_speech_question
from videoqa.video.reader import VideoReader
from videoqa.video.types import FrameBatch, VideoInfo

ROUTES = ("auto", "visual", "quality", "speech")
QUALITY_MODEL_NAME = "videoqa-quality (VQA² stages 1-2, trained on synthesized distortions)"


def wants_quality(question: str, route: str = "auto", use_embeddings: bool = False) -> bool:
    """Whether ``question`` goes to the quality path under ``route``.

    Args:
        route: ``auto`` (recognize), ``visual``, ``quality`` or ``speech`` (force).
        use_embeddings: let the sentence model judge questions the lexicon does not
            recognize (loads the bundled MiniLM model, about 5 s the first time).

    Raises:
        UsageError: unknown route.
    """
    if route not in ROUTES:
        raise UsageError(f"unknown route {route!r}; expected one of {', '.join(ROUTES)}")
    if route != "auto":
        return route == "quality"
    return recognize_question(question, use_embeddings=use_embeddings).is_quality


def answer_quality(
    video: str | Path,
    question: str,
    choices: Sequence[str] | None = None,
    model: QualityModel | None = None,
) -> AskRun:
    """Answer a quality question with VQA² perception, as an :class:`AskRun`.

    Evidence items are the seconds the answer rests on: ``time`` is the start of the
    second (s), ``score`` its badness ``(5 - q) / 4`` in [0, 1] for a quality score
    ``q`` on the 1–5 scale, and ``facts`` what was measured there.

    Raises:
        UsageError: empty question or fewer than two choices.
        VideoNotFoundError, UnsupportedVideoError, CorruptVideoError: unreadable video.
        ModelUnavailableError: the shipped quality model is missing.
    """
    question, choices = check_inputs(question, choices)
    start = time.perf_counter()
    timer = StageTimer()  # its stages are what the server reports as progress
    with timer.stage("quality_assessment"):
        model = model or load_default_model()
        report = assess_video(video, model)
    intent = recognize_question(question, use_embeddings=False)
    answer = answer_from_report(report, question, choices, intent if intent.is_quality else None)
    with timer.stage("decode_evidence"), VideoReader(video) as reader:
        reader.frame_times()
        info = reader.info
        times = [item.time for item in answer.evidence]
        frames = _evidence_frames(reader, times)
    timings = timer.timings
    result = _quality_result(answer, info, frames, [s.keyframe_time for s in report.seconds])
    result.quality_curve = [
        QualityPoint(start=s.start, end=s.end, score=float(s.score)) for s in report.seconds
    ]
    result.timings.update(timings)
    result.timings["total"] = time.perf_counter() - start
    return AskRun(result=result, frames=frames, grid_image=None)


def _evidence_frames(reader: VideoReader, times: Sequence[float]) -> FrameBatch:
    if not times:
        empty = np.zeros((0, 1, 1, 3), np.uint8)
        return FrameBatch(empty, np.zeros(0), np.zeros(0, np.int64))
    return reader.read_at(np.asarray(times, dtype=np.float64))


def _quality_result(
    answer: QualityAnswer, info: VideoInfo, frames: FrameBatch, keyframe_times: list[float]
) -> AskResult:
    evidence = [
        Evidence(
            time=item.time,
            score=float(np.clip((5.0 - item.score) / 4.0, 0.0, 1.0)),
            frame_index=int(frames.indices[i]),
            facts=[item.note, f"quality {item.score:.2f}/5 over {item.time:.1f}-{item.end:.1f} s"],
        )
        for i, item in enumerate(answer.evidence)
    ]
    evidence.sort(key=lambda e: e.score, reverse=True)
    if answer.answer in answer.choices:
        index, explanation = answer.choices.index(answer.answer), None
    else:  # a phrased free answer: report the most probable member of its answer space
        index, explanation = int(np.argmax(answer.probabilities)), answer.answer
    return AskResult(
        question=answer.question,
        answer=answer.choices[index],
        answer_index=index,
        explanation=explanation,
        choices=answer.choices,
        probabilities=answer.probabilities,
        open_ended=False,
        route="quality",
        evidence=evidence,
        sampled_times=keyframe_times,
        video=info,
        model=ModelInfo(name=QUALITY_MODEL_NAME, arch="QualityModel", pretrained=True),
        pretrained=True,
        sampler="fps",
        uncertain=answer.uncertain,
        uncertain_reason=answer.uncertain_reason,
    )


class QuestionRouter:
    """Answer any question: speech questions from the transcript, quality questions by
    VQA² perception, others visually (with the transcript's evidence fused in when the
    video has speech or subtitles are given).

    Args:
        visual: a factory returning the visual answerer (called lazily, so a quality
            question never loads an image–text encoder), e.g. ``lambda: AskPipeline(enc)``.
        route: ``auto``, ``visual``, ``quality`` or ``speech``.
        use_embeddings: see :func:`wants_quality` (also used to recognize speech
            questions the rules miss).
        subtitles: a subtitle file (``.srt`` / ``.vtt``) read instead of transcribing.
        speech: the speech answerer (default: :class:`SpeechQA` with the bundled Whisper
            tiny.en, built when first needed), or ``False`` for no speech at all (no
            speech route, no fusion).
    """

    def __init__(
        self,
        visual: Callable[[], Callable[..., AskRun]],
        route: str = "auto",
        use_embeddings: bool = False,
        *,
        subtitles: str | Path | None = None,
        speech: SpeechQA | bool | None = None,
    ) -> None:
        if route not in ROUTES:
            raise UsageError(f"unknown route {route!r}; expected one of {', '.join(ROUTES)}")
        self._visual_factory = visual
        self._visual: Callable[..., AskRun] | None = None
        self.route = route
        self.use_embeddings = use_embeddings
        self.subtitles = subtitles
        if speech is False and (route == "speech" or subtitles is not None):
            raise UsageError("the speech route and --subtitles need speech enabled")
        self._speech = speech if speech is not False else None
        self.speech_enabled = speech is not False

    @property
    def speech(self) -> SpeechQA:
        """The speech answerer (built on first use)."""
        if not isinstance(self._speech, SpeechQA):
            self._speech = SpeechQA()
        return self._speech

    def _visual_run(
        self,
        video: str | Path,
        question: str,
        choices: Sequence[str] | None,
        transcript: Transcript | None = None,
    ) -> AskRun:
        """The visual answer; a model trained with subtitles / transcripts (MCG on TVQA,
        ``wants_text_stream``) also reads what ``transcript`` says."""
        visual = self._visual_answerer()
        if transcript is not None and getattr(visual, "wants_text_stream", False):
            return visual(video, question, choices, text_stream=transcript.text or None)
        return visual(video, question, choices)

    def _visual_answerer(self) -> Callable[..., AskRun]:
        if self._visual is None:
            self._visual = self._visual_factory()
        return self._visual

    def __call__(
        self,
        video: str | Path,
        question: str,
        choices: Sequence[str] | None = None,
        *,
        subtitles: str | Path | None = None,
    ) -> AskRun:
        """Answer ``question`` about ``video`` on the path its route picks.

        Args:
            subtitles: a subtitle file for this call (default: the router's).
        """
        subs = subtitles if subtitles is not None else self.subtitles
        if subs is not None and not self.speech_enabled:
            raise UsageError("subtitles need speech enabled")
        if self.route == "speech":
            return self.speech.answer(video, question, choices, subtitles=subs)
        if self.route == "auto" and self.speech_enabled:
            intent = recognize_speech_question(question)
            if not intent.is_speech and self.use_embeddings and not wants_quality(question):
                intent = recognize_speech_question(question, use_embeddings=True)
            if intent.is_speech:
                return self._speech_or_visual(video, question, choices, subs)
        if wants_quality(question, self.route, self.use_embeddings):
            return answer_quality(video, question, choices)
        fuse = self.route == "auto"  # the transcript's evidence joins the visual answer
        reads_text = getattr(self._visual_answerer(), "wants_text_stream", False)
        transcript = None  # read once, for the model's text stream and for the fusion
        if self.speech_enabled and (fuse or reads_text) and (subs is not None or has_audio(video)):
            transcript = self.speech.transcript(video, subs)
        run = self._visual_run(video, question, choices, transcript)
        if fuse and transcript is not None:
            run = self.speech.fuse(run, transcript)
        return run

    def _speech_or_visual(
        self,
        video: str | Path,
        question: str,
        choices: Sequence[str] | None,
        subtitles: str | Path | None,
    ) -> AskRun:
        """A speech question: the transcript path, or the visual one (with a warning)
        when nothing is said."""
        began = time.perf_counter()
        transcript = self.speech.transcript(video, subtitles)
        seconds = time.perf_counter() - began
        if transcript.sentences():
            run = self.speech.answer(video, question, choices, transcript=transcript)
            run.result.timings["transcribe"] = seconds
            run.result.timings["total"] += seconds
            return run
        run = self._visual_run(video, question, choices, transcript)
        reason = transcript.note or "nothing is said"
        run.result.warnings.append(f"a speech question, but {reason}: answered visually")
        return run
