"""Scoring question-answering predictions: multiple-choice accuracy, open-ended accuracy
and WUPS, per question type (and per group where the benchmark defines groups).

Sources: NExT-QA ``eval_mc.py`` / NExT-OE ``eval_oe.py`` (Xiao et al., CVPR 2021, §5);
WUPS (Malinowski & Fritz, NIPS 2014, §5). The rules per benchmark are in
:mod:`videoqa.eval.protocols`. Missing and invalid predictions count as wrong (score 0)
in every number, so a partial file cannot score higher than the full split would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from videoqa.data.schema import Benchmark, QASample
from videoqa.eval.base import SCORERS, SampleKind, accounting
from videoqa.eval.predictions import (
    AnswerPrediction,
    align_predictions,
    read_predictions,
)
from videoqa.eval.protocols import EvalProtocol
from videoqa.eval.reports import MultipleChoiceReport, OpenEndedReport, OpenEndedRow
from videoqa.metrics.accuracy import (
    ScoreBreakdown,
    breakdown,
    multiple_choice_accuracy,
    round_percent,
)
from videoqa.metrics.wordnet import load_wordnet
from videoqa.metrics.wups import wups

NO_ANSWER = -1


def choice_index(sample: QASample, prediction: int | str) -> int | None:
    """The option index a prediction picks, or ``None`` when it picks none.

    An ``int`` must lie in ``[0, len(choices))``; a text must equal one option after
    lower-casing and collapsing white space (the first such option when several are equal).

    Raises:
        ValueError: when ``sample`` is open-ended.
    """
    if sample.choices is None:
        raise ValueError(f"{sample.qid} is open-ended")
    if isinstance(prediction, int):
        return prediction if 0 <= prediction < len(sample.choices) else None
    wanted = " ".join(prediction.lower().split())
    for i, choice in enumerate(sample.choices):
        if " ".join(choice.lower().split()) == wanted:
            return i
    return None


def _percent_table(result: ScoreBreakdown, groups: bool) -> dict[str, dict]:
    per_group = result.per_group if groups else {}
    return {
        "by_type": {k: row.percent for k, row in result.per_type.items()},
        "type_counts": {k: row.count for k, row in result.per_type.items()},
        "by_group": {k: row.percent for k, row in per_group.items()},
        "group_counts": {k: row.count for k, row in per_group.items()},
        "table": result.table() if groups else {},
    }


def score_multiple_choice(
    benchmark: Benchmark, predictions: Path, protocol: EvalProtocol
) -> MultipleChoiceReport:
    """Multiple-choice accuracy of a prediction file (layouts of
    :func:`~videoqa.eval.predictions.read_predictions`).

    Args:
        benchmark: multiple-choice questions.
        predictions: the prediction file; a prediction is an option index or an option text.
        protocol: type convention and whether groups are reported.

    Returns:
        :class:`MultipleChoiceReport`: accuracy over all questions (missing and invalid
        predictions wrong), per type and group, with the accounting.

    Raises:
        DataFormatError: unreadable prediction file.
    """
    preds = read_predictions(predictions)
    aligned = align_predictions(preds, benchmark)
    picked = {s.qid: choice_index(s, p.prediction) for s, p in aligned.pairs}
    invalid = [qid for qid, idx in picked.items() if idx is None]
    chosen = [picked.get(s.qid, NO_ANSWER) for s in benchmark.samples]
    chosen = [NO_ANSWER if idx is None else idx for idx in chosen]
    answers = [s.answer for s in benchmark.samples]
    result = multiple_choice_accuracy(
        chosen, answers, [s.qtype for s in benchmark.samples], convention=protocol.convention
    )
    correct = int(result.overall.score)
    answered = len(aligned.pairs)
    return MultipleChoiceReport(
        accuracy=result.overall.percent,
        accuracy_answered=round_percent(correct * 100.0 / answered) if answered else None,
        correct=correct,
        **_percent_table(result, protocol.groups),
        **accounting(
            benchmark,
            preds.source,
            preds.issues,
            answered=answered,
            missing=aligned.missing,
            unknown=aligned.unknown,
            invalid=invalid,
            answer_mismatch=aligned.answer_mismatch,
        ),
    )


def _open_ended_scores(
    samples: list[QASample],
    answers: dict[str, str],
    protocol: EvalProtocol,
    normalize: Callable[[str], str],
) -> np.ndarray:
    """``(N, 3)`` per-question accuracy, WUPS@0 and WUPS@0.9; 0 for unanswered questions."""
    scores = np.zeros((len(samples), 3))
    wordnet = None
    for i, sample in enumerate(samples):
        raw = answers.get(sample.qid)
        if raw is None:
            continue
        pred, ref = normalize(raw), normalize(str(sample.answer))
        hit = float(pred == ref)
        if protocol.convention.canonical(sample.qtype) in protocol.exact_types:
            scores[i] = (hit, hit, hit)
            continue
        if wordnet is None:
            wordnet = load_wordnet()
        scores[i] = (
            hit,
            wups(pred, ref, 0.0, wordnet=wordnet),
            wups(pred, ref, 0.9, wordnet=wordnet),
        )
    return scores


def _rows(parts: list[ScoreBreakdown], which: str) -> dict[str, OpenEndedRow]:
    acc, w0, w9 = (getattr(p, which) for p in parts)
    return {
        key: OpenEndedRow(
            accuracy=acc[key].percent,
            wups0=w0[key].percent,
            wups9=w9[key].percent,
            count=acc[key].count,
        )
        for key in acc
    }


def score_open_ended(
    benchmark: Benchmark, predictions: Path, protocol: EvalProtocol
) -> OpenEndedReport:
    """Open-ended accuracy and WUPS@0 / WUPS@0.9 of a prediction file.

    Per question: both answers are normalised by the protocol's normaliser; accuracy is
    their exact match; WUPS (:func:`~videoqa.metrics.wups.wups`) compares the normalised
    texts, except for the protocol's ``exact_types`` (NExT-OE counting questions), which
    score the exact match at both thresholds — as NExT-OE ``eval_oe.py`` does. Means are
    ``(sum / count) * 100`` rounded to 2 decimals. ``normalizer`` in the report describes
    a normaliser that is more than lower-casing (NExT-OE: whether NLTK's POS tagger ran).

    Raises:
        DataFormatError: unreadable prediction file.
        WordNetUnavailableError: WUPS is needed and WordNet 3.0 is not installed.
    """
    preds = read_predictions(predictions)
    aligned = align_predictions(preds, benchmark)
    answers = {
        s.qid: p.prediction
        for s, p in aligned.pairs
        if isinstance(p, AnswerPrediction) and isinstance(p.prediction, str)
    }
    samples = list(benchmark.samples)
    normalize = protocol.normalizer_factory()
    scores = _open_ended_scores(samples, answers, protocol, normalize)
    qtypes = [s.qtype for s in samples]
    parts = [
        breakdown(scores[:, j], qtypes, protocol.convention, scale_last=True) for j in range(3)
    ]
    return OpenEndedReport(
        accuracy=parts[0].overall.percent,
        wups0=parts[1].overall.percent,
        wups9=parts[2].overall.percent,
        normalizer=getattr(normalize, "description", None),
        by_type=_rows(parts, "per_type"),
        by_group=_rows(parts, "per_group") if protocol.groups else {},
        **accounting(
            benchmark,
            preds.source,
            preds.issues,
            answered=len(aligned.pairs),
            missing=aligned.missing,
            unknown=aligned.unknown,
            invalid=aligned.invalid,
            answer_mismatch=aligned.answer_mismatch,
        ),
    )


SCORERS.register(SampleKind.MULTIPLE_CHOICE.value, score_multiple_choice)
SCORERS.register(SampleKind.OPEN_ENDED.value, score_open_ended)
