"""Scoring predicted video quality against a MOS table (``mos-csv`` benchmarks).

Prediction files (:func:`read_quality_predictions`, layout recognised from the content):

* a JSON object ``{"<video_id>": score, ...}`` (or ``{"<video_id>": {"score": s}}``);
* JSON lines (or a JSON array) of ``{"video_id": ..., "score": ...}``; the id may also be
  named ``video`` / ``name`` / ``qid``, the score ``prediction`` / ``mos``.

Scores are finite numbers on any scale (higher = better). Rows that cannot be used are
reported with their line numbers, never dropped silently; a repeated id keeps its first
score. The metrics — SRCC, KRCC, and PLCC / RMSE after the VQEG 4-parameter logistic —
are :func:`videoqa.metrics.quality_correlations` (VQEG Phase II report, 2003, §5.3).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from videoqa.data.readers import (
    Record,
    Row,
    iter_json_dict,
    iter_json_lines,
    iter_json_list,
    read_text,
)
from videoqa.data.schema import Benchmark, RowIssue
from videoqa.errors import DataFormatError
from videoqa.eval.base import SCORERS, SampleKind, accounting
from videoqa.eval.predictions import PredictionRows
from videoqa.eval.protocols import EvalProtocol
from videoqa.eval.reports import QualityReport
from videoqa.metrics.quality import quality_correlations

_ID_FIELDS = ("video_id", "video", "name", "qid")
_SCORE_FIELDS = ("score", "prediction", "mos")


class QualityPrediction(BaseModel):
    """The predicted quality of one video (``line``: 1-based line of the file)."""

    model_config = ConfigDict(frozen=True)

    video_id: str
    score: float = Field(allow_inf_nan=False)
    line: int = Field(ge=1)


class QualityPredictions(BaseModel):
    """Quality predictions read from one file.

    Attributes:
        source: the file's name.
        items: video id → prediction, file order.
        issues: rows not used (malformed, repeated id), with line numbers.
        records: rows read (``len(items) + len(issues)``).
    """

    source: str
    items: dict[str, QualityPrediction]
    issues: list[RowIssue] = Field(default_factory=list)
    records: int = Field(ge=0)


def _records(path: Path) -> tuple[Iterator[Record], bool]:
    """The file's records and whether they are ``{id: value}`` pairs."""
    text = read_text(path)
    head = text.lstrip()[:1]
    if head == "[":
        return iter_json_list(path), False
    if head != "{":
        raise DataFormatError(f"{path.name}: expected a JSON object, array or JSON lines")
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        return iter_json_lines(path), False
    if isinstance(whole, dict) and any(k in whole for k in _ID_FIELDS):
        return iter_json_lines(path), False  # a single JSON line
    return iter_json_dict(path), True


def _parse(rec: Record, keyed: bool) -> QualityPrediction:
    if keyed:
        value = rec.value
        row = Row(value if isinstance(value, dict) else {"score": value})
        return QualityPrediction(
            video_id=str(rec.key), score=row.number(*_SCORE_FIELDS), line=rec.line
        )
    row = Row(rec.value)
    return QualityPrediction(
        video_id=row.text(*_ID_FIELDS), score=row.number(*_SCORE_FIELDS), line=rec.line
    )


def read_quality_predictions(path: Path) -> QualityPredictions:
    """Read a quality prediction file (layouts in the module docstring).

    Raises:
        AnnotationNotFoundError: the file does not exist.
        DataFormatError: not a JSON object, array or JSON lines.
    """
    path = Path(path)
    records, keyed = _records(path)
    rows: PredictionRows[QualityPrediction] = PredictionRows(
        path.name, lambda item: item.video_id, "score"
    )
    for rec in records:
        rows.add(rec, lambda r: _parse(r, keyed))
    return QualityPredictions(
        source=path.name, items=rows.items, issues=rows.issues, records=rows.records
    )


def score_quality(benchmark: Benchmark, predictions: Path, protocol: EvalProtocol) -> QualityReport:
    """SRCC / KRCC / PLCC / RMSE of predicted scores against the benchmark's MOS.

    Scored over the videos that have a prediction (a missing video cannot be given a
    neutral score for rank correlations); ``missing`` says how many were left out.

    Args:
        benchmark: a MOS table (:class:`~videoqa.data.schema.QualitySample`).
        predictions: the prediction file.
        protocol: unused; kept for the scorer API.

    Raises:
        DataFormatError: unreadable prediction file.
        UsageError: fewer than 4 videos with a prediction, or constant scores / MOS.
    """
    del protocol
    preds = read_quality_predictions(predictions)
    pairs = [(s, preds.items[s.video_id]) for s in benchmark.samples if s.video_id in preds.items]
    known = {s.video_id for s in benchmark.samples}
    missing = [s.video_id for s in benchmark.samples if s.video_id not in preds.items]
    unknown = [vid for vid in preds.items if vid not in known]
    scores = quality_correlations([p.score for _, p in pairs], [s.mos for s, _ in pairs])
    return QualityReport(
        srcc=scores.srcc,
        krcc=scores.krcc,
        plcc=scores.plcc,
        rmse=scores.rmse,
        fit_converged=scores.fit_converged,
        **accounting(
            benchmark,
            preds.source,
            preds.issues,
            answered=len(pairs),
            missing=missing,
            unknown=unknown,
        ),
    )


SCORERS.register(SampleKind.QUALITY.value, score_quality)
