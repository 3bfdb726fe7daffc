"""Stage 3, part 2: answer a quality question from the quality report, with evidence.

The answer is read off the stage 1/2 outputs (:mod:`.assess`):

* overall rating: the ACR label of the score; probabilities over the five labels
  excellent/good/fair/poor/bad (Q-Align style: their expected level is the score) from a
  binned Gaussian of width :data:`SCORE_SIGMA` (:func:`rating_distribution`);
* yes/no about distortions: ``P(yes)`` is the visible probability (mean over the third
  of the seconds where it is highest, :func:`~.assess.visible_probability`) of the
  kinds the question names (blur also counts low resolution);
* yes/no about the quality: ``P(good) = sigmoid((score - 3) / 0.5)`` with the overall
  score, or the score of the dimension the question names ("does it look sharp?"),
  flipped for questions about bad quality;
* most visible distortion: the kind with the highest visible probability (the answer
  says "no clear distortion" when that is under :data:`CLEAR_DISTORTION`); with choices,
  the mean probabilities over the whole video (``none`` included) decide;
* when the quality drops: the seconds whose score is at least :data:`DROP_MARGIN` below
  the median second, weighted ``softmax(-score / 0.5)`` when matched to choices; a choice
  saying it never drops gets ``exp(-(median - min) / DROP_MARGIN)``;
* a dimension rating: the dimension's score and label.

With ``choices``, each choice is mapped onto the same answer space (labels, numbers 1-5,
yes/no, distortion names and their opposites, times or "beginning / middle / end") by a
lexicon and then by meaning (:mod:`.choices`) and gets the probability of what it maps
to; probabilities are renormalized over the choices. A choice mapped onto nothing, or a
tie between the two most probable choices, makes the answer ``uncertain`` with the
reason. Evidence lists the seconds the answer rests on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from videoqa.errors import UsageError
from videoqa.perception.quality.assess import (
    DISTORTION_DESCRIPTIONS,
    RATING_LABELS,
    QualityReport,
    assess_video,
    quality_label,
    visible_probability,
)
from videoqa.perception.quality.choices import (
    ChoiceMapping,
    map_choices,
)
from videoqa.perception.quality.model import CLASS_NAMES, QualityModel
from videoqa.perception.quality.questions import (
    QuestionIntent,
    QuestionKind,
    classify_kind,
    recognize_question,
)

SCORE_SIGMA = 0.6
"""Spread (score units) of the rating distribution around the predicted score."""

DROP_MARGIN = 0.6
"""A second counts as a quality drop when its score is this far below the video's median
second."""

_EPS = 1e-6

CLEAR_DISTORTION = 0.4
"""Visible probability a distortion needs to be named as the most visible one."""

LOOKS_ALIKE: dict[str, tuple[str, ...]] = {"blur": ("low_resolution",)}
"""Kinds that also count for a yes/no question naming a kind: an upscaled low-resolution
video looks blurry."""

_NO_DROP_RE = re.compile(
    r"\b(never|no drop|does not|doesn't|did not|didn't|stays|constant|stable)\b", re.IGNORECASE
)


class Evidence(BaseModel):
    """One second the answer rests on.

    Attributes:
        time: start of the second, seconds.
        end: its end, seconds.
        score: the overall quality score 1-5 of that second.
        note: what was seen there, e.g. ``"blur p=0.82"``.
    """

    model_config = ConfigDict(frozen=True)

    time: float
    end: float
    score: float
    note: str


class QualityAnswer(BaseModel):
    """The answer to a quality question.

    Attributes:
        question: the question as asked.
        kind: what the question asks (see :class:`QuestionKind`).
        answer: the answer text (a choice, when choices were given).
        choices: the candidate answers (given, or the ones the quality path considered).
        probabilities: one per choice, summing to 1.
        evidence: the seconds the answer rests on, most telling first.
        score: the video's overall quality score 1-5.
        label: its ACR label.
        uncertain: the answer is not a real decision (a tie, or choices that cannot
            be mapped onto the quality model's outputs); why is in ``uncertain_reason``.
        uncertain_reason: the reason, or None.
    """

    question: str
    kind: QuestionKind
    answer: str
    choices: list[str]
    probabilities: list[float]
    evidence: list[Evidence] = Field(default_factory=list)
    score: float
    label: str
    uncertain: bool = False
    uncertain_reason: str | None = None


def _normalize(p: np.ndarray) -> np.ndarray:
    p = np.maximum(np.asarray(p, dtype=np.float64), 0.0) + _EPS
    return p / p.sum()


def _binned(mu: float, sigma: float) -> np.ndarray:
    edges = np.array([1.5, 2.5, 3.5, 4.5])
    cdf = np.array([0.5 * (1.0 + math.erf((e - mu) / (sigma * math.sqrt(2.0)))) for e in edges])
    return np.diff(np.concatenate([[0.0], cdf, [1.0]]))


def rating_distribution(score: float, sigma: float = SCORE_SIGMA) -> np.ndarray:
    """``(5,)`` probabilities of the ACR levels bad..excellent (1..5) for a 1-5 ``score``,
    the Q-Align form of the answer (Wu et al., "Q-Align: Teaching LMMs for Visual
    Scoring via Discrete Text-Defined Levels", ICML 2024, §3.3: the score is the
    expectation of the level under the level probabilities).

    The probabilities are the masses of ``N(mu, sigma^2)`` on the level bins
    ``[k - 0.5, k + 0.5)`` (outer bins open-ended), with ``mu`` chosen (by bisection:
    the expectation grows with ``mu``) so that ``sum_k k p_k`` equals the score (clipped
    to ``[1.01, 4.99]``, the ends being reachable only in the limit).
    """
    target = float(np.clip(score, 1.01, 4.99))
    levels = np.arange(1, 6)
    lo, hi = target - 6.0, target + 6.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if float(_binned(mid, sigma) @ levels) < target:
            lo = mid
        else:
            hi = mid
    return _binned(0.5 * (lo + hi), sigma)


def _choice_yes(choice: str) -> bool | None:
    text = choice.strip().lower().rstrip(".!")
    if re.match(r"^(yes|yeah|true|correct|it is|it does)\b", text):
        return True
    if re.match(r"^(no|not|false|incorrect|it is not|it isn't|it does not|it doesn't)\b", text):
        return False
    return None


def _choice_span(choice: str, duration: float) -> tuple[float, float] | None:
    """Time span a choice describes: ``"2-3 s"``, ``"at 4 seconds"``, ``"the beginning"``..."""
    text = choice.lower()
    nums = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]
    if len(nums) >= 2:
        return min(nums[:2]), max(nums[:2])
    if len(nums) == 1:
        return nums[0], nums[0] + 1.0
    third = duration / 3.0
    if re.search(r"\b(beginning|start|first|opening|early)\b", text):
        return 0.0, third
    if re.search(r"\b(middle|halfway|center|centre)\b", text):
        return third, 2 * third
    if re.search(r"\b(end|last|final|ending|late)\b", text):
        return 2 * third, duration
    if re.search(r"\b(throughout|whole|entire|all the time|everywhere)\b", text):
        return 0.0, duration
    return None


def _evidence(
    report: QualityReport, order: Sequence[int], note_fn, limit: int = 3
) -> list[Evidence]:
    out = []
    for i in list(order)[:limit]:
        s = report.seconds[i]
        out.append(Evidence(time=s.start, end=s.end, score=s.score, note=note_fn(s)))
    return out


def _unit_class_probs(report: QualityReport, kinds: Sequence[str]) -> np.ndarray:
    """``(U,)`` per-second probability mass of ``kinds``."""
    return np.array([sum(s.probabilities.get(k, 0.0) for k in kinds) for s in report.seconds])


def _answer_rating(
    report: QualityReport, dimension: str | None
) -> tuple[list[str], np.ndarray, list[Evidence]]:
    score = report.score if dimension is None else report.dimension(dimension).score
    probs = rating_distribution(score)[::-1]  # excellent .. bad
    labels = list(reversed(RATING_LABELS))
    key = (lambda s: s.score) if dimension is None else (lambda s: s.dimensions[dimension])
    order = np.argsort([key(s) for s in report.seconds])
    what = "overall" if dimension is None else dimension.replace("_", " ")
    ev = _evidence(
        report, order, lambda s: f"lowest {what} score {key(s):.2f} ({quality_label(key(s))})"
    )
    return labels, probs, ev


def _answer_main(report: QualityReport) -> tuple[list[str], np.ndarray, list[Evidence]]:
    names = list(CLASS_NAMES)
    probs = np.array([report.distortions[c] for c in names])
    top = report.main_distortion
    order = np.argsort(-_unit_class_probs(report, [top]))
    ev = _evidence(report, order, lambda s: f"{top} p={s.probabilities[top]:.2f}")
    return names, probs, ev


def _answer_distortion_yes(
    report: QualityReport, named: Sequence[str]
) -> tuple[float, list[Evidence]]:
    kinds = list(dict.fromkeys([*named, *(r for k in named for r in LOOKS_ALIKE.get(k, ()))]))
    per_unit = _unit_class_probs(report, kinds)
    order = np.argsort(-per_unit)
    p_yes = visible_probability(per_unit)
    named = "+".join(kinds)
    ev = _evidence(
        report,
        order,
        lambda s: (
            f"{named} p={sum(s.probabilities[k] for k in kinds):.2f}, most likely {s.distortion}"
        ),
    )
    return p_yes, ev


def _answer_when(
    report: QualityReport, margin: float = DROP_MARGIN
) -> tuple[str, np.ndarray, list[Evidence]]:
    scores = np.array([s.score for s in report.seconds])
    weights = _normalize(np.exp(-(scores - scores.min()) / 0.5))
    drops = np.flatnonzero(scores <= np.median(scores) - margin)
    order = np.argsort(scores)
    ev = _evidence(report, order, lambda s: f"score {s.score:.2f}, {s.distortion}")
    if drops.size == 0:
        text = (
            f"the quality does not drop noticeably (it stays {quality_label(float(scores.mean()))})"
        )
        return text, weights, ev
    spans = _merge_spans([(report.seconds[i].start, report.seconds[i].end) for i in drops])
    parts = [f"{a:.1f}-{b:.1f} s" for a, b in spans]
    worst = report.seconds[int(order[0])]
    text = f"at {', '.join(parts)} (lowest {worst.score:.2f} at {worst.start:.1f} s, {worst.distortion})"
    return text, weights, ev


def _merge_spans(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1] + 1e-6:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


TIE_MARGIN = 0.01
"""Two choices whose probabilities differ by less than this are a tie (``uncertain``)."""

_SPACE_WORDS = {
    "distortion_yes_no": "yes / no about the named distortion",
    "good_bad": "yes / no or good / bad quality",
    "rating": "the five quality levels (excellent, good, fair, poor, bad)",
    "kind": "the distortion kinds (or none)",
    "span": "times in the video",
}


def _with_choices(
    intent_kind: QuestionKind,
    report: QualityReport,
    choices: Sequence[str],
    space: list[str],
    probs: np.ndarray,
    weights: np.ndarray | None,
    kinds: Sequence[str] = (),
    negative: bool = False,
) -> tuple[np.ndarray, list[int], str]:
    """Probabilities of the given choices, by mapping them onto the answer space
    (:func:`~videoqa.perception.quality.choices.map_choices`).

    Returns:
        ``(probabilities (n,), indices of the unmapped choices, the space's name)``;
        the probabilities are renormalized over the mapped choices (uniform when none
        maps).
    """
    if intent_kind in (QuestionKind.DISTORTION_YES_NO, QuestionKind.QUALITY_YES_NO):
        p_yes = float(probs[0])
        if intent_kind is QuestionKind.DISTORTION_YES_NO:
            table = {True: p_yes, False: 1.0 - p_yes}
            mapping = map_choices(choices, "distortion_yes_no", kinds)
            name = "distortion_yes_no"
        else:  # yes / no against the question; other choices as good / bad quality
            p_good = 1.0 - p_yes if negative else p_yes
            table = {"yes": p_yes, "no": 1.0 - p_yes, True: p_good, False: 1.0 - p_good}
            answers = [{True: "yes", False: "no", None: None}[_choice_yes(c)] for c in choices]
            mapping = map_choices(choices, "good_bad")
            values = [
                a if a is not None else v for a, v in zip(answers, mapping.values, strict=True)
            ]
            mapping = ChoiceMapping(tuple(values), mapping.methods)
            name = "good_bad"
    elif intent_kind in (QuestionKind.OVERALL_RATING, QuestionKind.DIMENSION_RATING):
        table = {5 - j: p for j, p in enumerate(probs)}  # space is excellent..bad
        mapping, name = map_choices(choices, "rating"), "rating"
    elif intent_kind is QuestionKind.MAIN_DISTORTION:
        table = dict(zip(space, probs, strict=True))
        mapping, name = map_choices(choices, "kind"), "kind"
    else:  # WHEN_DROP: mass of the low seconds inside the choice's span
        scores = np.array([s.score for s in report.seconds])
        p_no_drop = math.exp(-(np.median(scores) - scores.min()) / DROP_MARGIN)
        out, unmapped = [], []
        for i, c in enumerate(choices):
            if _NO_DROP_RE.search(c):
                out.append(p_no_drop)
                continue
            span = _choice_span(c, report.duration)
            if span is None or weights is None:
                out.append(0.0)
                unmapped.append(i)
                continue
            a, b = span
            out.append(sum(
                w for s, w in zip(report.seconds, weights, strict=True) if s.start < b and s.end > a
            ))  # fmt: skip
        p = np.array(out) if len(unmapped) < len(choices) else np.ones(len(choices))
        return _normalize(p), unmapped, "span"
    unmapped = mapping.unmapped
    p = np.array([0.0 if v is None else table.get(v, 0.0) for v in mapping.values])
    if len(unmapped) == len(choices):
        p = np.ones(len(choices))
    return _normalize(p), unmapped, name


def uncertainty(
    choices: Sequence[str], probs: np.ndarray, unmapped: Sequence[int], space: str
) -> str | None:
    """Why an answer over ``choices`` is not a real decision, or None: no choice maps
    onto the answer space, some do not, or the two most probable choices tie (within
    :data:`TIE_MARGIN`)."""
    if len(unmapped) == len(choices):
        return (
            f"none of the choices maps onto what the quality model measures "
            f"({_SPACE_WORDS[space]}); the probabilities are uniform"
        )
    reasons = []
    if unmapped:
        names = ", ".join(repr(choices[i]) for i in unmapped)
        reasons.append(
            f"choice(s) {names} could not be mapped onto {_SPACE_WORDS[space]} and got probability 0"
        )
    order = np.argsort(-np.asarray(probs))
    if len(order) > 1 and probs[order[0]] - probs[order[1]] < TIE_MARGIN:
        a, b = choices[int(order[0])], choices[int(order[1])]
        reasons.append(
            f"tie between {a!r} and {b!r} (p={probs[order[0]]:.3f} / {probs[order[1]]:.3f})"
        )
    return "; ".join(reasons) or None


def _free_answer(
    report: QualityReport, kind: QuestionKind, kinds: Sequence[str], dim: str | None, neg: bool
) -> tuple[str, list[str], np.ndarray, list[Evidence], np.ndarray | None]:
    """``(answer text, answer space, probabilities over it, evidence, drop weights)``."""
    if kind in (QuestionKind.OVERALL_RATING, QuestionKind.DIMENSION_RATING):
        dim = dim if kind is QuestionKind.DIMENSION_RATING else None
        space, probs, ev = _answer_rating(report, dim)
        value = report.score if dim is None else report.dimension(dim).score
        return f"{space[int(np.argmax(probs))]} ({value:.2f} / 5)", space, probs, ev, None
    if kind is QuestionKind.MAIN_DISTORTION:
        space, probs, ev = _answer_main(report)
        top = report.main_distortion
        text = DISTORTION_DESCRIPTIONS[top]
        if report.visible[top] < CLEAR_DISTORTION:
            text = f"no clear distortion (most likely {text}, p={report.visible[top]:.2f})"
        return text, space, probs, ev, None
    if kind is QuestionKind.DISTORTION_YES_NO:
        p_yes, ev = _answer_distortion_yes(report, kinds)
    elif kind is QuestionKind.QUALITY_YES_NO:
        judged = report.score if dim is None else report.dimension(dim).score
        p_good = 1.0 / (1.0 + math.exp(-(judged - 3.0) / 0.5))
        p_yes = 1.0 - p_good if neg else p_good
        order = np.argsort([s.score for s in report.seconds])
        ev = _evidence(report, order, lambda s: f"score {s.score:.2f} ({quality_label(s.score)})")
    else:
        text, weights, ev = _answer_when(report)
        space = [f"{s.start:.1f}-{s.end:.1f} s" for s in report.seconds]
        return text, space, weights, ev, weights
    probs = np.array([p_yes, 1.0 - p_yes])
    return ("yes" if p_yes >= 0.5 else "no"), ["yes", "no"], probs, ev, None


def answer_from_report(
    report: QualityReport,
    question: str,
    choices: Sequence[str] | None = None,
    intent: QuestionIntent | None = None,
) -> QualityAnswer:
    """Answer ``question`` from an existing quality report (see :func:`answer_quality_question`).

    Choices that map onto nothing in the answer space get probability 0 (all of them
    uniform when none maps).
    """
    if intent is None or intent.kind is None:
        kind, kinds, dim, neg = classify_kind(question)
    else:
        kind, kinds, dim, neg = intent.kind, intent.distortions, intent.dimension, intent.negative
    text, space, probs, ev, weights = _free_answer(report, kind, kinds, dim, neg)
    reason = None
    if choices:
        probs, unmapped, name = _with_choices(
            kind, report, choices, space, np.asarray(probs), weights, kinds, neg
        )
        space, text = list(choices), list(choices)[int(np.argmax(probs))]
        reason = uncertainty(space, probs, unmapped, name)
    elif kind in (QuestionKind.DISTORTION_YES_NO, QuestionKind.QUALITY_YES_NO):
        reason = uncertainty(space, np.asarray(probs), [], "good_bad")
    return QualityAnswer(
        uncertain=reason is not None,
        uncertain_reason=reason,
        question=question,
        kind=kind,
        answer=text,
        choices=list(space),
        probabilities=[float(p) for p in _normalize(probs)],
        evidence=ev,
        score=report.score,
        label=report.label,
    )


def answer_quality_question(
    video_path: str | Path,
    question: str,
    choices: Sequence[str] | None = None,
    *,
    model: QualityModel | None = None,
) -> QualityAnswer:
    """Answer a question about a video's quality, with the seconds the answer rests on.

    Args:
        video_path: the video file.
        question: e.g. "is the video blurry?", "rate the overall quality", "what
            distortion is most visible?", "when does the quality drop?".
        choices: optional candidate answers; the answer is then one of them.
        model: the quality model; default the shipped one.

    Returns:
        The :class:`QualityAnswer` (probabilities aligned with ``choices`` when given).

    Raises:
        UsageError: empty question, or fewer than 2 choices.
        VideoNotFoundError, UnsupportedVideoError, CorruptVideoError: unreadable video.
        ModelUnavailableError: the shipped model is missing.
    """
    if not question or not question.strip():
        raise UsageError("the question is empty")
    if choices is not None and len(choices) < 2:
        raise UsageError("give at least two choices (or none)")
    intent = recognize_question(question, use_embeddings=False)
    report = assess_video(video_path, model)
    return answer_from_report(report, question, choices, intent if intent.is_quality else None)
