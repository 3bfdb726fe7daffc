"""Reading prediction files and lining them up with a benchmark.

Accepted question-answering prediction files (:func:`read_predictions`, the layout is
recognised from the content):

* the NExT-QA official format (doc-doc/NExT-QA, ``eval_mc.py``): one JSON object
  ``{"<qid>": {"prediction": 2, "answer": 0}, ...}`` — ``answer`` is the ground truth the
  official script scores against, kept to be checked against the benchmark;
* a plain JSON object ``{"<qid>": prediction, ...}``;
* JSON lines ``{"qid": ..., "prediction": ...}`` (a JSON array of such objects too).

A prediction is an option index (``int``) or an answer text (``str``); question ids are
compared as text (JSON keys are text; integer ids in JSON lines are turned into text).

Moment predictions (:func:`read_moment_predictions`) follow the QVHighlights official
submission (Lei et al., NeurIPS 2021; jayleicn/moment_detr ``standalone_eval``): JSON
lines ``{"qid": 2579, "pred_relevant_windows": [[start, end, score], ...],
"pred_saliency_scores": [one score per 2-second clip]}``.

Rows that cannot be used are not dropped silently: each is a
:class:`~videoqa.data.schema.RowIssue` (line number, reason) in ``issues``; a repeated
question id keeps its first prediction and reports the later ones.
:func:`align_predictions` pairs predictions with the benchmark's samples and lists the
questions without a prediction (``missing``) and the predictions for unknown questions
(``unknown``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from videoqa.data.readers import (
    Record,
    Row,
    RowError,
    describe_error,
    guess_key,
    iter_json_dict,
    iter_json_lines,
    iter_json_list,
    read_text,
)
from videoqa.data.schema import Benchmark, MomentSample, QASample, RowIssue
from videoqa.errors import DataFormatError


class PredictionFormat(str, Enum):
    """Layout a prediction file was recognised as."""

    NEXTQA = "nextqa"  #: {qid: {"prediction": p, "answer": a}}
    MAPPING = "mapping"  #: {qid: p}
    JSON_LINES = "jsonl"  #: {"qid": q, "prediction": p} per line (or a JSON array of them)
    QVHIGHLIGHTS = "qvhighlights"  #: QVHighlights submission lines


class AnswerPrediction(BaseModel):
    """The prediction for one question.

    Attributes:
        qid: question id (text).
        prediction: the chosen option index, or the answer text.
        answer: the ground truth written in the file (NExT-QA official format), if any.
        line: 1-based line of the file where the row starts.
    """

    model_config = ConfigDict(frozen=True, strict=True)

    qid: str
    prediction: int | str
    answer: int | str | None = None
    line: int = Field(ge=1)


class MomentPrediction(BaseModel):
    """The moment retrieval / highlight prediction for one query.

    Attributes:
        qid: query id (text).
        windows: predicted moments ``(start s, end s, score)``, in file order (the
            official evaluation expects them ranked by score, best first).
        saliency: one predicted saliency score per 2-second clip, if given.
        line: 1-based line of the file.
    """

    model_config = ConfigDict(frozen=True)

    qid: str
    windows: tuple[tuple[float, float, float], ...] = ()
    saliency: tuple[float, ...] | None = None
    line: int = Field(ge=1)


P = TypeVar("P", AnswerPrediction, MomentPrediction)
R = TypeVar("R")  # one parsed prediction row


class _PredictionFile(BaseModel, Generic[P]):
    """The fields of :class:`Predictions` and :class:`MomentPredictions`."""

    source: str
    format: PredictionFormat
    items: dict[str, P]
    issues: list[RowIssue] = Field(default_factory=list)
    records: int = Field(ge=0)

    @property
    def malformed(self) -> int:
        """Number of rows that could not be used."""
        return len(self.issues)

    def __len__(self) -> int:
        return len(self.items)


class Predictions(_PredictionFile[AnswerPrediction]):
    """Question-answering predictions read from one file.

    Attributes:
        source: the file's name.
        format: the recognised layout.
        items: question id → prediction, file order.
        issues: rows not used (malformed, repeated id), with line numbers.
        records: rows read (``len(items) + len(issues)``).
    """


class MomentPredictions(_PredictionFile[MomentPrediction]):
    """Moment predictions read from one file (fields as in :class:`Predictions`)."""

    format: PredictionFormat = PredictionFormat.QVHIGHLIGHTS


class PredictionRows(Generic[R]):
    """Gathers the parsed rows of a prediction file: a row that fails to parse, or that
    repeats an id already seen (the first one wins), becomes a ``RowIssue``.

    Args:
        source: the file's name, for the issues.
        id_of: parsed row → its id (question id, video id).
        noun: what a row holds, for the repeated-id message (``"prediction"``, ``"score"``).
    """

    def __init__(self, source: str, id_of: Callable[[R], str], noun: str) -> None:
        self.source, self.id_of, self.noun = source, id_of, noun
        self.items: dict[str, R] = {}
        self.issues: list[RowIssue] = []
        self.records = 0

    def add(self, rec: Record, parse: Callable[[Record], R]) -> R | None:
        """Parse one record (``parse`` raises ``RowError``/``ValidationError`` for a bad
        row); the kept item, or ``None`` when the row became an issue."""
        self.records += 1
        try:
            if rec.error is not None:
                raise RowError(rec.error)
            item = parse(rec)
        except (RowError, ValidationError) as err:
            key = rec.key if rec.key is not None else guess_key(rec.value)
            self.issue(rec.line, key, describe_error(err))
            return None
        qid = self.id_of(item)
        if qid in self.items:
            first = self.items[qid].line
            self.issue(
                rec.line, qid, f"second {self.noun} for {qid!r} (first on line {first}), ignored"
            )
            return None
        self.items[qid] = item
        return item

    def issue(self, line: int, key: str | None, reason: str) -> None:
        """Record a row that is not used."""
        self.issues.append(RowIssue(source=self.source, line=line, key=key, reason=reason))


def _qid(item: AnswerPrediction | MomentPrediction) -> str:
    return item.qid


def _value(value: object, name: str) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RowError(f"{name} must be an option index or a text, got {value!r}")
    return value


def _given(row: Row, name: str) -> bool:
    return row.data.get(name) is not None


def _from_object(rec: Record) -> AnswerPrediction:
    """A value of a ``{qid: ...}`` file: a bare prediction or ``{"prediction", "answer"}``."""
    if isinstance(rec.value, dict):
        row = Row(rec.value)
        answer = _value(row.raw("answer"), "answer") if _given(row, "answer") else None
        return AnswerPrediction(
            qid=str(rec.key),
            prediction=_value(row.raw("prediction"), "prediction"),
            answer=answer,
            line=rec.line,
        )
    return AnswerPrediction(
        qid=str(rec.key), prediction=_value(rec.value, "prediction"), line=rec.line
    )


def _from_line(rec: Record) -> AnswerPrediction:
    row = Row(rec.value)
    answer = _value(row.raw("answer"), "answer") if _given(row, "answer") else None
    return AnswerPrediction(
        qid=row.text("qid", "question_id"),
        prediction=_value(row.raw("prediction"), "prediction"),
        answer=answer,
        line=rec.line,
    )


def _layout(path: Path) -> tuple[PredictionFormat, Iterator[Record]]:
    text = read_text(path)
    head = text.lstrip()[:1]
    if head == "[":
        return PredictionFormat.JSON_LINES, iter_json_list(path)
    if head != "{":
        raise DataFormatError(f"{path.name}: expected a JSON object, array or JSON lines")
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as err:
        # JSON lines, unless it opens like a multi-line object: then it is a broken one
        if text.lstrip().split("\n", 1)[0].strip() == "{":
            raise DataFormatError(f"{path.name}:{err.lineno}: broken JSON: {err.msg}") from None
        return PredictionFormat.JSON_LINES, iter_json_lines(path)
    if isinstance(whole, dict) and "qid" in whole and "prediction" in whole:
        return PredictionFormat.JSON_LINES, iter_json_lines(path)  # a single JSON line
    nested = any(isinstance(v, dict) for v in whole.values())
    return (PredictionFormat.NEXTQA if nested else PredictionFormat.MAPPING), iter_json_dict(path)


def read_predictions(path: Path) -> Predictions:
    """Read a question-answering prediction file (layouts in the module docstring).

    Args:
        path: the prediction file.

    Returns:
        :class:`Predictions`: the usable predictions by question id and the issues (rows
        that are not objects, lack ``qid``/``prediction``, hold a prediction that is
        neither an int nor a text, or repeat an id).

    Raises:
        AnnotationNotFoundError: the file does not exist.
        DataFormatError: not JSON / JSON lines at all.
    """
    path = Path(path)
    fmt, records = _layout(path)
    rows: PredictionRows[AnswerPrediction] = PredictionRows(path.name, _qid, "prediction")
    parse = _from_line if fmt is PredictionFormat.JSON_LINES else _from_object
    for rec in records:
        rows.add(rec, parse)
    return Predictions(
        source=path.name, format=fmt, items=rows.items, issues=rows.issues, records=rows.records
    )


def _windows(row: Row) -> tuple[tuple[float, float, float], ...]:
    raw = row.raw("pred_relevant_windows")
    if not isinstance(raw, list):
        raise RowError("pred_relevant_windows must be a list of [start, end, score]")
    out = []
    for w in raw:
        if not isinstance(w, list) or len(w) != 3:
            raise RowError(f"window {w!r} is not [start, end, score]")
        cells = Row({"s": w[0], "e": w[1], "c": w[2]})
        start, end = cells.number("s"), cells.number("e")
        if end < start:
            raise RowError(f"window {w!r} ends before it starts")
        out.append((start, end, cells.number("c")))
    return tuple(out)


def _moment(rec: Record) -> MomentPrediction:
    row = Row(rec.value)
    if "pred_relevant_windows" not in row.data and "pred_saliency_scores" not in row.data:
        raise RowError("neither pred_relevant_windows nor pred_saliency_scores")
    saliency = None
    if "pred_saliency_scores" in row.data:
        raw = row.raw("pred_saliency_scores")
        if not isinstance(raw, list):
            raise RowError("pred_saliency_scores must be a list of numbers")
        saliency = tuple(Row({"s": s}).number("s") for s in raw)
    windows = _windows(row) if "pred_relevant_windows" in row.data else ()
    return MomentPrediction(qid=row.text("qid"), windows=windows, saliency=saliency, line=rec.line)


def read_moment_predictions(path: Path) -> MomentPredictions:
    """Read a QVHighlights-format moment prediction file (JSON lines).

    Returns:
        :class:`MomentPredictions`; rows that are not JSON objects, lack ``qid`` or both
        prediction fields, hold a window that is not ``[start <= end, score]`` numbers,
        or repeat an id are ``issues``.

    Raises:
        AnnotationNotFoundError: the file does not exist.
        DataFormatError: no line of the file is JSON.
    """
    path = Path(path)
    rows: PredictionRows[MomentPrediction] = PredictionRows(path.name, _qid, "prediction")
    for rec in iter_json_lines(path):
        rows.add(rec, _moment)
    return MomentPredictions(
        source=path.name, items=rows.items, issues=rows.issues, records=rows.records
    )


S = TypeVar("S", QASample, MomentSample)


@dataclass(frozen=True)
class Alignment(Generic[S, P]):
    """Predictions lined up with a benchmark.

    Attributes:
        pairs: ``(sample, prediction)`` for every question that has one, benchmark order.
        missing: ids of the questions without a prediction, benchmark order.
        unknown: ids of predictions for questions the benchmark does not have, file order.
        answer_mismatch: ids whose prediction file carries an ``answer`` different from
            the benchmark's (the NExT-QA script would score against the file's).
        invalid: ids whose option-index prediction is outside the question's choices, or
            is an index for an open-ended question.
    """

    pairs: list[tuple[S, P]]
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    answer_mismatch: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


def _check(sample: QASample, pred: AnswerPrediction) -> tuple[bool, bool]:
    """(answer mismatch, invalid prediction) for one QA pair."""
    mismatch = False
    if pred.answer is not None:
        if isinstance(sample.answer, int):
            mismatch = pred.answer != sample.answer
        else:
            mismatch = str(pred.answer).strip() != sample.answer.strip()
    invalid = False
    if isinstance(pred.prediction, int):
        invalid = sample.choices is None or not 0 <= pred.prediction < len(sample.choices)
    return mismatch, invalid


def align_predictions(
    predictions: Predictions | MomentPredictions, benchmark: Benchmark
) -> Alignment:
    """Pair each benchmark question with its prediction.

    Args:
        predictions: from :func:`read_predictions` (QA benchmarks) or
            :func:`read_moment_predictions` (moment benchmarks).
        benchmark: the benchmark the predictions are for.

    Returns:
        :class:`Alignment` with the pairs and the ``missing`` / ``unknown`` /
        ``answer_mismatch`` / ``invalid`` id lists.
    """
    pairs, missing, mismatch, invalid = [], [], [], []
    for sample in benchmark.samples:
        pred = predictions.items.get(sample.qid)
        if pred is None:
            missing.append(sample.qid)
            continue
        pairs.append((sample, pred))
        if isinstance(sample, QASample) and isinstance(pred, AnswerPrediction):
            bad_answer, bad_pred = _check(sample, pred)
            if bad_answer:
                mismatch.append(sample.qid)
            if bad_pred:
                invalid.append(sample.qid)
    known = set(benchmark.ids)
    unknown = [qid for qid in predictions.items if qid not in known]
    return Alignment(
        pairs=pairs, missing=missing, unknown=unknown, answer_mismatch=mismatch, invalid=invalid
    )
