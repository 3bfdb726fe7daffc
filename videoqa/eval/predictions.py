"""Reading prediction files in the layouts the benchmarks' own repositories publish, and
lining them up with a benchmark.

Question-answering layouts (:class:`PredictionFormat`; :func:`read_predictions` detects
the layout from the content, ``fmt`` forces one):

* ``nextqa`` — NExT-QA multiple choice (doc-doc/NExT-QA ``results/*.json``, scored by
  ``eval_mc.py``): ``{"<video>_<qid>": {"prediction": 2, "answer": 0}, ...}``; ``answer``
  is the ground truth the official script scores against, kept to be checked against the
  benchmark;
* ``nextoe`` — NExT-OE open-ended (doc-doc/NExT-OE ``results/*.json``, scored by
  ``eval_oe.py``): ``{"<video>": {"<qid>": "answer text", ...}, ...}``; the question id is
  ``"<video>_<qid>"``;
* ``mapping`` — ``{"<qid>": prediction, ...}``: TVQA's ``qid2preds_<split>.json``
  (jayleicn/TVQA ``test.py``: question id → option index), or any id → answer map;
* ``star`` — the STAR challenge submission (EvalAI, csbobby/STAR_Benchmark): one list
  per question type, ``{"Interaction": [{"question_id": "Interaction_T1_13", "answer": 2},
  ...], "Sequence": [...], "Prediction": [...], "Feasibility": [...]}`` (``answer``: the
  chosen option index);
* ``activitynet-qa`` — ActivityNet-QA (MILVLG/activitynet-qa ``evaluation/eval.py`` and its
  ``pred_val_example.json``): ``[{"question_id": "v_TIEzvhv6xaI_2", "answer": "yes"}, ...]``
  (``answer``: the predicted text);
* ``video-chatgpt`` — the zero-shot QA output of Video-ChatGPT (Maaz et al., ACL 2024,
  ``run_inference_*_qa.py``), the layout MSVD-QA, MSRVTT-QA and ActivityNet-QA results
  are exchanged in (the original MSVD-QA / MSRVTT-QA releases define none): a JSON array
  or JSON lines of ``{"id": <question id>, "question": ..., "answer": <ground truth>,
  "pred": <predicted text>}``;
* ``agqa`` — the AGQA baselines' prediction files (madeleinegrunde/AGQA_baselines_code
  ``validate.py`` → ``test_preds.json``, read by ``agqa_decomp_evaluation/preprocess.py``):
  ``[{"csv_q_id": <AGQA question id>, "prediction": "...", "answer": "...", ...}]``;
* ``lmms-eval`` — lmms-eval's ``--log_samples`` output (EvolvingLMMs-Lab/lmms-eval
  ``loggers/evaluation_tracker.py``): ``<date>_samples_<task>.jsonl``, one line per
  document ``{"doc_id", "target", "filtered_resps", ["doc"], ...}``, or the older
  ``<task>.json`` ``{"args": ..., "logs": [<the same rows, with "doc">]}``. The question
  id comes from ``doc`` (NExT-QA: ``"<video>_<qid>"``; else its ``question_id`` / ``qid``
  / ``id``). Without ``doc`` (lmms-eval ≥ 0.3 drops it) a row is matched by ``doc_id``,
  the row's position in the task's dataset, to the annotation file's order, and each
  ``target`` is checked against the answer there (:func:`align_predictions`). The
  prediction is the first response in ``filtered_resps``; for a multiple-choice task
  (a numeric ``target``) a response that starts with an option letter (``"B"``,
  ``"(B) ..."``, ``"B. ..."``) picks that option, and per-choice log-likelihoods
  (``[[logp, is_greedy], ...]``) pick the most likely; any other text must equal an
  option (never a random fallback);
* ``jsonl`` — what ``videoqa eval --model`` writes, and the generic layout: JSON lines
  (or a JSON array) of ``{"qid" | "question_id": ..., "prediction": ...}``; its first
  line may be ``{"videoqa_settings": {...}}`` (the settings of the run, not a record).

A prediction is an option index (``int``) or an answer text (``str``); question ids are
compared as text (JSON keys are text; integer ids are turned into text).

Moment predictions (:func:`read_moment_predictions`) follow the QVHighlights official
submission (Lei et al., NeurIPS 2021; jayleicn/moment_detr ``standalone_eval``): JSON
lines ``{"qid": 2579, "pred_relevant_windows": [[start, end, score], ...],
"pred_saliency_scores": [one score per 2-second clip]}``.

Rows that cannot be used are not dropped silently: each is a
:class:`~videoqa.data.schema.RowIssue` (line number, reason) in ``issues``; a repeated
question id keeps its first prediction and reports the later ones. A file with no usable
row, or whose rows are mostly unusable, raises :class:`NoUsablePredictionsError` naming
the formats tried and the first offending record (``strict=False`` returns it instead).
:func:`align_predictions` pairs predictions with the benchmark's samples and lists the
questions without a prediction (``missing``) and the predictions for unknown questions
(``unknown``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from videoqa.data.readers import (
    Record,
    Row,
    RowError,
    describe_error,
    guess_key,
    read_text,
)
from videoqa.data.schema import Benchmark, MomentSample, QASample, RowIssue
from videoqa.errors import DataFormatError, UsageError


class PredictionsNotFoundError(DataFormatError, FileNotFoundError):
    """The prediction file does not exist."""


class NoUsablePredictionsError(DataFormatError):
    """A prediction file holds no usable prediction, or mostly unusable rows; the message
    names the formats tried and shows the first offending record."""


class PredictionFormat(str, Enum):
    """Layout a prediction file was recognised as (sources in the module docstring)."""

    NEXTQA = "nextqa"  #: {"<video>_<qid>": {"prediction": p, "answer": a}}
    NEXTOE = "nextoe"  #: {"<video>": {"<qid>": "answer"}}
    MAPPING = "mapping"  #: {qid: p} (TVQA qid2preds)
    STAR = "star"  #: {"Interaction": [{"question_id", "answer"}], ...}
    ACTIVITYNET_QA = "activitynet-qa"  #: [{"question_id", "answer"}]
    VIDEO_CHATGPT = "video-chatgpt"  #: [{"id", "question", "answer", "pred"}]
    AGQA = "agqa"  #: [{"csv_q_id", "prediction", ...}]
    LMMS_EVAL = "lmms-eval"  #: lmms-eval --log_samples rows
    JSON_LINES = "jsonl"  #: {"qid": q, "prediction": p} per line (or a JSON array of them)
    QVHIGHLIGHTS = "qvhighlights"  #: QVHighlights submission lines


#: The question-answering layouts, in the order detection tries them.
QA_FORMATS: tuple[PredictionFormat, ...] = tuple(
    f for f in PredictionFormat if f is not PredictionFormat.QVHIGHLIGHTS
)

#: The four STAR question types, the keys of a STAR submission.
STAR_TYPES: frozenset[str] = frozenset({"Interaction", "Sequence", "Prediction", "Feasibility"})

#: Key of the settings line a model run writes first (``videoqa eval --model``).
SETTINGS_KEY = "videoqa_settings"

#: More than this fraction of unusable rows makes a file unusable (strict reading).
MAX_MALFORMED_FRACTION = 0.5

_FORCED: ContextVar[PredictionFormat | None] = ContextVar("forced_format", default=None)


@contextmanager
def forced_format(fmt: PredictionFormat | str | None) -> Iterator[None]:
    """Within the block, :func:`read_predictions` / :func:`read_moment_predictions` called
    without ``fmt`` read every file as ``fmt`` (``None``: detect), so a format chosen on
    the command line reaches the scorers of :func:`~videoqa.eval.evaluate`.

    Raises:
        UsageError: ``fmt`` is not a :class:`PredictionFormat` value.
    """
    token = _FORCED.set(parse_format(fmt))
    try:
        yield
    finally:
        _FORCED.reset(token)


def parse_format(fmt: PredictionFormat | str | None) -> PredictionFormat | None:
    """``fmt`` as a :class:`PredictionFormat` (``None`` stays ``None``).

    Raises:
        UsageError: an unknown format name (the message lists the known ones).
    """
    if fmt is None or isinstance(fmt, PredictionFormat):
        return fmt
    try:
        return PredictionFormat(fmt)
    except ValueError:
        names = ", ".join(f.value for f in PredictionFormat)
        raise UsageError(f"unknown prediction format {fmt!r}; known: {names}") from None


class AnswerPrediction(BaseModel):
    """The prediction for one question.

    Attributes:
        qid: question id (text); ``"doc_id:<n>"`` for a positional lmms-eval row.
        prediction: the chosen option index, or the answer text.
        answer: the ground truth written in the file (NExT-QA ``answer``, lmms-eval
            ``target``, Video-ChatGPT / AGQA ``answer``), if any.
        line: 1-based line of the file where the row starts.
        position: for a positional lmms-eval row (no ``doc``): its ``doc_id``, the index
            of its question in the benchmark's file order.
    """

    model_config = ConfigDict(frozen=True, strict=True)

    qid: str
    prediction: int | str
    answer: int | str | None = None
    line: int = Field(ge=1)
    position: int | None = Field(None, ge=0)


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
        format: the recognised (or forced) layout.
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

    Attributes:
        first_bad: the first record that did not parse (for error messages), or ``None``.
    """

    def __init__(self, source: str, id_of: Callable[[R], str], noun: str) -> None:
        self.source, self.id_of, self.noun = source, id_of, noun
        self.items: dict[str, R] = {}
        self.issues: list[RowIssue] = []
        self.records = 0
        self.first_bad: Record | None = None

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
            if self.first_bad is None:
                self.first_bad = rec
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


# ------------------------------------------------------------------------ the document

_WS = re.compile(r"[ \t\n\r]*")


class _Walker:
    """Walks a JSON document that ``json.loads`` accepted, member by member, keeping the
    line each member or element starts on (positions only grow, so counting newlines as
    it goes is linear overall).

    The generators :meth:`members` and :meth:`elements` stop at each member / element with
    the cursor on its value; the caller consumes it (:meth:`value`, or a nested walk)
    before asking for the next one.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.decoder = json.JSONDecoder()
        self._line, self._line_pos = 1, 0

    def line(self) -> int:
        self._line += self.text.count("\n", self._line_pos, self.pos)
        self._line_pos = self.pos
        return self._line

    def peek(self) -> str:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]
        return self.text[self.pos : self.pos + 1]

    def value(self) -> Any:
        self.peek()
        obj, self.pos = self.decoder.raw_decode(self.text, self.pos)
        return obj

    def _items(self, close: str, keyed: bool) -> Iterator[tuple[int, str | None]]:
        self.peek()
        self.pos += 1  # the opening bracket
        if self.peek() == close:
            self.pos += 1
            return
        while True:
            self.peek()
            line = self.line()
            key = None
            if keyed:
                key = self.value()
                self.peek()
                self.pos += 1  # the colon
            self.peek()
            yield line, key
            if self.peek() == close:
                self.pos += 1
                return
            self.pos += 1  # the comma

    def members(self) -> Iterator[tuple[int, str]]:
        """``(line, key)`` of each member of the object at the cursor."""
        for line, key in self._items("}", keyed=True):
            yield line, str(key)

    def elements(self) -> Iterator[int]:
        """The line of each element of the array at the cursor."""
        for line, _ in self._items("]", keyed=False):
            yield line


def _broken(name: str, text: str, err: json.JSONDecodeError) -> DataFormatError:
    """The error for a JSON document that does not parse, with its position."""
    truncated = err.pos >= len(text.rstrip()) or err.msg.startswith("Unterminated string")
    hint = " (the file ends there: is it truncated?)" if truncated else ""
    return DataFormatError(
        f"{name}:{err.lineno}:{err.colno}: broken JSON: {err.msg} "
        f"(character {err.pos} of {len(text)}){hint}"
    )


def _json_lines(text: str, name: str) -> list[Record]:
    """The records of a JSON-lines text (blank lines and the settings line skipped)."""
    records: list[Record] = []
    parsed = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            reason = f"not valid JSON: {err.msg} (column {err.colno})"
            records.append(Record(number, None, None, reason))
            continue
        parsed += 1
        if isinstance(obj, dict) and set(obj) == {SETTINGS_KEY}:
            continue
        records.append(Record(number, None, obj))
    if records and not parsed:
        raise DataFormatError(f"{name}: no line is valid JSON; expected JSON lines")
    return records


def _looks_like_lines(text: str, probe: int = 20) -> bool:
    """Whether one of the first ``probe`` non-blank lines is a JSON object on its own."""
    seen = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            if isinstance(json.loads(line), dict):
                return True
        except json.JSONDecodeError:
            pass
        seen += 1
        if seen >= probe:
            break
    return False


@dataclass
class _Document:
    """A prediction file, parsed: an object, an array, or JSON lines."""

    name: str
    text: str
    kind: str  # "object" | "array" | "lines"
    whole: Any = None  # the parsed object / array
    lines: list[Record] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> _Document:
        """Raises: PredictionsNotFoundError, DataFormatError (not JSON, broken JSON)."""
        if not path.is_file():
            raise PredictionsNotFoundError(
                f"predictions file not found: {path.name} (in {path.parent})"
            )
        text = read_text(path)
        head = text.lstrip()[:1]
        if head not in ("{", "["):
            raise DataFormatError(f"{path.name}: expected a JSON object, array or JSON lines")
        try:
            whole = json.loads(text)
        except json.JSONDecodeError as err:
            if head == "{" and _looks_like_lines(text):
                return cls(path.name, text, "lines", lines=_json_lines(text, path.name))
            raise _broken(path.name, text, err) from None
        if isinstance(whole, list):
            return cls(path.name, text, "array", whole=whole)
        if set(whole) == {SETTINGS_KEY}:
            return cls(path.name, text, "lines", lines=[])
        if _row_format(whole) is not None or _MOMENT_KEYS & set(whole):  # one JSON line
            return cls(path.name, text, "lines", lines=[Record(1, None, whole)])
        return cls(path.name, text, "object", whole=whole)

    def rows(self) -> list[Any]:
        """The row values detection looks at (array elements, JSON lines)."""
        if self.kind == "array":
            return self.whole
        return [r.value for r in self.lines if r.error is None]


# ---------------------------------------------------------------------------- detection

_ROW_SIGNATURES: tuple[tuple[PredictionFormat, Callable[[dict], bool]], ...] = (
    (PredictionFormat.LMMS_EVAL, lambda r: "doc_id" in r and ("filtered_resps" in r or "resps" in r)),
    (PredictionFormat.AGQA, lambda r: "csv_q_id" in r),
    (PredictionFormat.VIDEO_CHATGPT, lambda r: "pred" in r and ("id" in r or "question_id" in r)),
    (PredictionFormat.JSON_LINES, lambda r: "prediction" in r and ("qid" in r or "question_id" in r)),
    (PredictionFormat.ACTIVITYNET_QA, lambda r: "question_id" in r and "answer" in r),
)  # fmt: skip

#: Formats recognised from the rows of a JSON array or JSON lines.
ROW_FORMATS: tuple[PredictionFormat, ...] = tuple(f for f, _ in _ROW_SIGNATURES)
#: Formats recognised from the members of a JSON object.
OBJECT_FORMATS: tuple[PredictionFormat, ...] = (
    PredictionFormat.NEXTQA,
    PredictionFormat.NEXTOE,
    PredictionFormat.MAPPING,
    PredictionFormat.STAR,
    PredictionFormat.LMMS_EVAL,
)


_MOMENT_KEYS = frozenset({"pred_relevant_windows", "pred_saliency_scores"})


def _row_format(row: Any) -> PredictionFormat | None:
    if not isinstance(row, dict):
        return None
    return next((fmt for fmt, match in _ROW_SIGNATURES if match(row)), None)


def _vote(candidates: list[PredictionFormat | None]) -> PredictionFormat | None:
    counts: dict[PredictionFormat, int] = {}
    for fmt in candidates:
        if fmt is not None:
            counts[fmt] = counts.get(fmt, 0) + 1
    return max(counts, key=lambda f: counts[f]) if counts else None


def _member_format(value: Any) -> PredictionFormat | None:
    if isinstance(value, dict):
        if "prediction" in value or "answer" in value:
            return PredictionFormat.NEXTQA
        return PredictionFormat.NEXTOE
    if isinstance(value, str | int) and not isinstance(value, bool):
        return PredictionFormat.MAPPING
    return None


def _detect(doc: _Document, probe: int = 200) -> PredictionFormat | None:
    """The layout of ``doc`` by a vote over its first ``probe`` rows, or ``None``."""
    if doc.kind != "object":
        return _vote([_row_format(r) for r in doc.rows()[:probe]])
    whole: dict = doc.whole
    if isinstance(whole.get("logs"), list):
        return PredictionFormat.LMMS_EVAL
    if whole and set(whole) <= STAR_TYPES and all(isinstance(v, list) for v in whole.values()):
        return PredictionFormat.STAR
    if not whole:
        return PredictionFormat.MAPPING
    return _vote([_member_format(v) for v in list(whole.values())[:probe]])


def _tried(doc: _Document) -> tuple[PredictionFormat, ...]:
    return OBJECT_FORMATS if doc.kind == "object" else ROW_FORMATS


def _snippet(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_record(doc: _Document) -> str:
    if doc.kind == "lines":
        rec = doc.lines[0] if doc.lines else None
        if rec is None:
            return "none"
        shown = _snippet(rec.value) if rec.error is None else f"<{rec.error}>"
        return f"line {rec.line}: {shown}"
    if doc.kind == "array":
        return _snippet(doc.whole[0]) if doc.whole else "none"
    key, value = next(iter(doc.whole.items()))
    return _snippet({key: value})


# ------------------------------------------------------------------------ the records


def _object_records(doc: _Document, fmt: PredictionFormat) -> Iterator[Record]:
    """The prediction records of a JSON object document in layout ``fmt``."""
    walk = _Walker(doc.text)
    if fmt in (PredictionFormat.NEXTOE, PredictionFormat.STAR, PredictionFormat.LMMS_EVAL):
        nested = "{" if fmt is PredictionFormat.NEXTOE else "["
        for line, outer in walk.members():
            if fmt is PredictionFormat.LMMS_EVAL and outer != "logs":
                walk.value()
                continue
            if walk.peek() != nested:
                shape = "an object {qid: answer}" if nested == "{" else "a list of records"
                yield Record(line, outer, walk.value(), f"expected {shape} under {outer!r}")
            elif nested == "{":
                for inner_line, qid in walk.members():
                    yield Record(inner_line, f"{outer}_{qid}", walk.value())
            else:
                for inner_line in walk.elements():
                    yield Record(inner_line, None, walk.value())
        return
    for line, key in walk.members():
        yield Record(line, key, walk.value())


def _records(doc: _Document, fmt: PredictionFormat) -> Iterator[Record]:
    if doc.kind == "lines":
        yield from doc.lines
    elif doc.kind == "array":
        walk = _Walker(doc.text)
        for line in walk.elements():
            yield Record(line, None, walk.value())
    elif fmt in OBJECT_FORMATS:
        yield from _object_records(doc, fmt)
    else:
        raise NoUsablePredictionsError(
            f"{doc.name}: a JSON object keyed by id, but {fmt.value} predictions are "
            f"rows (a JSON array or JSON lines)"
        )


# ------------------------------------------------------------------------ the parsers


def _value(value: object, name: str) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RowError(f"{name} must be an option index or a text, got {value!r}")
    return value


def _text(value: object, name: str) -> str:
    """An answer text; an integer (a number answer written as JSON number) as its text."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RowError(f"{name} must be an answer text, got {value!r}")
    return str(value)


def _answer(row: Row, *names: str) -> int | str | None:
    for name in names:
        if row.data.get(name) is not None:
            return _value(row.raw(name), name)
    return None


def _parse_keyed(rec: Record) -> AnswerPrediction:
    """A member of a ``{qid: ...}`` file: a bare prediction or ``{"prediction", "answer"}``."""
    if isinstance(rec.value, dict):
        row = Row(rec.value)
        return AnswerPrediction(
            qid=str(rec.key),
            prediction=_value(row.raw("prediction"), "prediction"),
            answer=_answer(row, "answer"),
            line=rec.line,
        )
    return AnswerPrediction(
        qid=str(rec.key), prediction=_value(rec.value, "prediction"), line=rec.line
    )


def _parse_nextoe(rec: Record) -> AnswerPrediction:
    return AnswerPrediction(qid=str(rec.key), prediction=_text(rec.value, "answer"), line=rec.line)


def _parse_line(rec: Record) -> AnswerPrediction:
    row = Row(rec.value)
    return AnswerPrediction(
        qid=row.text("qid", "question_id"),
        prediction=_value(row.raw("prediction"), "prediction"),
        answer=_answer(row, "answer"),
        line=rec.line,
    )


def _parse_star(rec: Record) -> AnswerPrediction:
    row = Row(rec.value)
    return AnswerPrediction(
        qid=row.text("question_id"), prediction=_value(row.raw("answer"), "answer"), line=rec.line
    )


def _parse_activitynet(rec: Record) -> AnswerPrediction:
    row = Row(rec.value)
    return AnswerPrediction(
        qid=row.text("question_id"), prediction=_text(row.raw("answer"), "answer"), line=rec.line
    )


def _parse_video_chatgpt(rec: Record) -> AnswerPrediction:
    row = Row(rec.value)
    return AnswerPrediction(
        qid=row.text("id", "question_id"),
        prediction=_text(row.raw("pred"), "pred"),
        answer=_answer(row, "answer"),
        line=rec.line,
    )


def _parse_agqa(rec: Record) -> AnswerPrediction:
    row = Row(rec.value)
    return AnswerPrediction(
        qid=row.text("csv_q_id"),
        prediction=_value(row.raw("prediction"), "prediction"),
        answer=_answer(row, "answer"),
        line=rec.line,
    )


_LETTER = re.compile(r"\(?([A-Z])\)?(?:[.:)\s]|$)")


def _first_text(value: Any) -> str | None:
    """The first text in a (possibly nested) response list."""
    while isinstance(value, list) and value:
        value = value[0]
    return value if isinstance(value, str) else None


def _likelihoods(value: Any) -> list[float] | None:
    """Per-choice log-likelihoods ``[[logp, is_greedy], ...]`` (or ``[logp, ...]``)."""
    if not isinstance(value, list) or len(value) < 2:
        return None
    out = []
    for item in value:
        if isinstance(item, list) and item:
            item = item[0]
        if isinstance(item, bool) or not isinstance(item, int | float):
            return None
        out.append(float(item))
    return out


def _lmms_prediction(resps: Any, multiple_choice: bool) -> int | str:
    if multiple_choice:
        scores = _likelihoods(resps)
        if scores is not None:
            return max(range(len(scores)), key=scores.__getitem__)
    text = _first_text(resps)
    if text is None:
        raise RowError(f"filtered_resps holds no response text: {_snippet(resps, 60)}")
    if multiple_choice:
        match = _LETTER.match(text.strip())
        if match is not None:
            return ord(match.group(1)) - ord("A")
    return text


def _lmms_qid(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return None
    if doc.get("video") is not None and doc.get("qid") is not None:
        return f"{str(doc['video']).strip()}_{str(doc['qid']).strip()}"  # NExT-QA
    for name in ("question_id", "qid", "id"):
        if isinstance(doc.get(name), str | int) and not isinstance(doc.get(name), bool):
            return str(doc[name])
    return None


def _parse_lmms(rec: Record) -> AnswerPrediction:
    row = Row(rec.value)
    target = row.data.get("target")
    if isinstance(target, str) and target.strip().lstrip("-").isdigit():
        target = int(target)
    multiple_choice = isinstance(target, int) and not isinstance(target, bool)
    resps = row.raw("filtered_resps", "resps")
    prediction = _lmms_prediction(resps, multiple_choice)
    answer = target if isinstance(target, int | str) and not isinstance(target, bool) else None
    qid = _lmms_qid(row.data.get("doc"))
    if qid is not None:
        return AnswerPrediction(qid=qid, prediction=prediction, answer=answer, line=rec.line)
    doc_id = row.integer("doc_id")
    if doc_id < 0:
        raise RowError(f"doc_id must be >= 0, got {doc_id}")
    return AnswerPrediction(
        qid=f"doc_id:{doc_id}", prediction=prediction, answer=answer, line=rec.line, position=doc_id
    )


_PARSERS: dict[PredictionFormat, Callable[[Record], AnswerPrediction]] = {
    PredictionFormat.NEXTQA: _parse_keyed,
    PredictionFormat.MAPPING: _parse_keyed,
    PredictionFormat.NEXTOE: _parse_nextoe,
    PredictionFormat.STAR: _parse_star,
    PredictionFormat.ACTIVITYNET_QA: _parse_activitynet,
    PredictionFormat.VIDEO_CHATGPT: _parse_video_chatgpt,
    PredictionFormat.AGQA: _parse_agqa,
    PredictionFormat.LMMS_EVAL: _parse_lmms,
    PredictionFormat.JSON_LINES: _parse_line,
}


def _lmms_filter(records: Iterator[Record]) -> Iterator[Record]:
    """lmms-eval writes one row per document and filter: keep the first filter's rows."""
    first: object = None
    for rec in records:
        name = rec.value.get("filter") if isinstance(rec.value, dict) else None
        if first is None and name is not None:
            first = name
        if name is None or name == first:
            yield rec


def _check_usable(
    rows: PredictionRows, fmt: PredictionFormat, tried: tuple[PredictionFormat, ...], name: str
) -> None:
    """Raise :class:`NoUsablePredictionsError` when no row, or mostly bad rows, were read."""
    tried_names = ", ".join(f.value for f in tried)
    if not rows.records:
        raise NoUsablePredictionsError(
            f"{name}: no prediction records in the file (read as {fmt.value}; "
            f"formats tried: {tried_names})"
        )
    bad = len(rows.issues)
    if rows.items and bad <= MAX_MALFORMED_FRACTION * rows.records:
        return
    issue = rows.issues[0]
    rec = rows.first_bad
    shown = "" if rec is None or rec.value is None else f" {_snippet(rec.value)}"
    key = f", id {issue.key!r}" if issue.key is not None else ""
    raise NoUsablePredictionsError(
        f"{name}: {bad} of {rows.records} records are not usable {fmt.value} predictions "
        f"(formats tried: {tried_names}); first offending record (line {issue.line}{key}):"
        f"{shown} — {issue.reason}"
    )


def read_predictions(
    path: Path, fmt: PredictionFormat | str | None = None, *, strict: bool = True
) -> Predictions:
    """Read a question-answering prediction file (layouts in the module docstring).

    Args:
        path: the prediction file.
        fmt: the layout to read it as; ``None`` detects it (or takes the one set by
            :func:`forced_format`).
        strict: raise when the file holds no usable prediction or more than half of its
            records are unusable; ``False`` returns what could be read.

    Returns:
        :class:`Predictions`: the usable predictions by question id and the issues (rows
        that are not objects, lack their id or prediction, hold a prediction that is
        neither an int nor a text, or repeat an id).

    Raises:
        PredictionsNotFoundError: the file does not exist.
        DataFormatError: not JSON / JSON lines at all, or broken JSON (with its line,
            column and character position).
        NoUsablePredictionsError: (``strict``) the layout is none of the known ones, or
            the rows are mostly unusable in it; names the formats tried and the first
            offending record.
        UsageError: ``fmt`` is not a question-answering layout.
    """
    path = Path(path)
    forced = parse_format(fmt) or _FORCED.get()
    if forced is PredictionFormat.QVHIGHLIGHTS:
        raise UsageError("--format qvhighlights is for moment benchmarks (QVHighlights)")
    doc = _Document.read(path)
    tried = (forced,) if forced is not None else _tried(doc)
    chosen = forced or _detect(doc)
    if chosen is None and not (doc.kind == "object" or doc.rows()):
        chosen = PredictionFormat.JSON_LINES  # no row at all: reported as such below
    if chosen is None:
        if not strict:
            chosen = PredictionFormat.JSON_LINES
        else:
            raise NoUsablePredictionsError(
                f"{doc.name}: matches none of the prediction formats (tried: "
                f"{', '.join(f.value for f in tried)}); first record: {_first_record(doc)}"
            )
    rows: PredictionRows[AnswerPrediction] = PredictionRows(path.name, _qid, "prediction")
    records = _records(doc, chosen)
    if chosen is PredictionFormat.LMMS_EVAL:
        records = _lmms_filter(records)
    parse = _PARSERS[chosen]
    for rec in records:
        rows.add(rec, parse)
    if strict:
        _check_usable(rows, chosen, tried, path.name)
    return Predictions(
        source=path.name, format=chosen, items=rows.items, issues=rows.issues, records=rows.records
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


def read_moment_predictions(
    path: Path, fmt: PredictionFormat | str | None = None, *, strict: bool = True
) -> MomentPredictions:
    """Read a QVHighlights-format moment prediction file (JSON lines, or a JSON array).

    Args:
        path: the prediction file.
        fmt: ``None`` or ``"qvhighlights"`` (the only moment layout).
        strict: as in :func:`read_predictions`.

    Returns:
        :class:`MomentPredictions`; rows that are not JSON objects, lack ``qid`` or both
        prediction fields, hold a window that is not ``[start <= end, score]`` numbers,
        or repeat an id are ``issues``.

    Raises:
        PredictionsNotFoundError: the file does not exist.
        DataFormatError: no line of the file is JSON, or a broken JSON array.
        NoUsablePredictionsError: (``strict``) no usable row, or mostly unusable rows.
        UsageError: ``fmt`` is a question-answering layout.
    """
    path = Path(path)
    forced = parse_format(fmt) or _FORCED.get()
    if forced not in (None, PredictionFormat.QVHIGHLIGHTS):
        raise UsageError(
            f"--format {forced.value} is for question answering; moments: qvhighlights"
        )
    doc = _Document.read(path)
    if doc.kind == "object":
        raise NoUsablePredictionsError(
            f"{doc.name}: a JSON object keyed by id, but QVHighlights predictions are JSON "
            f"lines of {{qid, pred_relevant_windows, pred_saliency_scores}}; first member: "
            f"{_first_record(doc)}"
        )
    rows: PredictionRows[MomentPrediction] = PredictionRows(path.name, _qid, "prediction")
    for rec in _records(doc, PredictionFormat.QVHIGHLIGHTS):
        rows.add(rec, _moment)
    if strict:
        _check_usable(
            rows, PredictionFormat.QVHIGHLIGHTS, (PredictionFormat.QVHIGHLIGHTS,), path.name
        )
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


def _by_position(
    predictions: Predictions, benchmark: Benchmark
) -> tuple[dict[str, AnswerPrediction], list[str]]:
    """Predictions keyed by question id, positional lmms-eval rows resolved through the
    benchmark's order; also the ids of positions beyond the benchmark."""
    items: dict[str, AnswerPrediction] = {}
    beyond: list[str] = []
    for qid, pred in predictions.items.items():
        if pred.position is None:
            items[qid] = pred
        elif pred.position < len(benchmark.samples):
            items.setdefault(benchmark.samples[pred.position].qid, pred)
        else:
            beyond.append(qid)
    return items, beyond


def align_predictions(
    predictions: Predictions | MomentPredictions, benchmark: Benchmark
) -> Alignment:
    """Pair each benchmark question with its prediction.

    Positional lmms-eval rows (no ``doc``) are matched by ``doc_id`` to the benchmark's
    file order; each row's ``target`` must then be the answer there.

    Args:
        predictions: from :func:`read_predictions` (QA benchmarks) or
            :func:`read_moment_predictions` (moment benchmarks).
        benchmark: the benchmark the predictions are for.

    Returns:
        :class:`Alignment` with the pairs and the ``missing`` / ``unknown`` /
        ``answer_mismatch`` / ``invalid`` id lists.

    Raises:
        NoUsablePredictionsError: positional lmms-eval rows whose ``target`` differs from
            the benchmark's answer for most questions (the annotation file is not in the
            order of the lmms-eval task's dataset).
    """
    items: dict = predictions.items
    beyond: list[str] = []
    positional = isinstance(predictions, Predictions) and any(
        p.position is not None for p in predictions.items.values()
    )
    if positional:
        items, beyond = _by_position(predictions, benchmark)  # type: ignore[arg-type]
    pairs, missing, mismatch, invalid = [], [], [], []
    for sample in benchmark.samples:
        pred = items.get(sample.qid)
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
    if positional and pairs and len(mismatch) > MAX_MALFORMED_FRACTION * len(pairs):
        sample, pred = next((s, p) for s, p in pairs if s.qid in set(mismatch))
        raise NoUsablePredictionsError(
            f"{predictions.source}: lmms-eval rows without 'doc' are matched by doc_id to the "
            f"order of {benchmark.name} {benchmark.split}, but {len(mismatch)} of {len(pairs)} "
            f"targets differ from the answers there (first: line {pred.line}, doc_id "
            f"{pred.position}: target {pred.answer!r}, answer of {sample.qid} {sample.answer!r}): "
            "the annotation file is not in the task's order; log samples with their docs"
        )
    known = set(benchmark.ids)
    unknown = [qid for qid in items if qid not in known] + beyond
    return Alignment(
        pairs=pairs, missing=missing, unknown=unknown, answer_mismatch=mismatch, invalid=invalid
    )
