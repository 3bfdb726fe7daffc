"""Scoring QVHighlights-format moment predictions (moment retrieval + highlight detection).

Source: Lei et al., "QVHighlights: Detecting Moments and Highlights in Videos via Natural
Language Queries", NeurIPS 2021, §5.1; official ``standalone_eval/eval.py``
(jayleicn/moment_detr), reproduced by :func:`videoqa.metrics.qvhighlights_metrics`.

The official script refuses a file that does not cover every query. Here the labeled
queries that have a prediction are scored and the others are reported as ``missing``
(a missing query cannot be given a score of zero: the average precision of a ranking of
clips is never zero when a clip is relevant). Queries without labels (a test split) are
``unlabeled`` and not scored.
"""

from __future__ import annotations

import math
from pathlib import Path

from videoqa.data.schema import Benchmark, MomentSample
from videoqa.errors import DataFormatError
from videoqa.eval.base import SCORERS, SampleKind, accounting
from videoqa.eval.predictions import (
    MomentPrediction,
    align_predictions,
    read_moment_predictions,
)
from videoqa.eval.protocols import EvalProtocol
from videoqa.eval.reports import MomentReport
from videoqa.metrics.moment_retrieval import MomentGroundTruth, qvhighlights_metrics
from videoqa.metrics.moment_retrieval import MomentPrediction as MetricPrediction


def ground_truth(sample: MomentSample) -> MomentGroundTruth:
    """The metric's ground-truth record of one labeled query (times in seconds)."""
    return MomentGroundTruth(
        qid=sample.qid,
        duration=sample.duration,
        relevant_windows=list(sample.relevant_windows),
        relevant_clip_ids=list(sample.relevant_clip_ids),
        saliency_scores=[list(s) for s in sample.saliency_scores],
    )


def metric_prediction(pred: MomentPrediction) -> MetricPrediction:
    """The metric's prediction record (windows ``(start s, end s, score)``, clip scores)."""
    return MetricPrediction(
        qid=pred.qid,
        pred_relevant_windows=[list(w) for w in pred.windows] if pred.windows else None,
        pred_saliency_scores=list(pred.saliency) if pred.saliency is not None else None,
    )


def _nan_to_none(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    return value


def score_moments(benchmark: Benchmark, predictions: Path, protocol: EvalProtocol) -> MomentReport:
    """QVHighlights metrics of a moment prediction file (official submission format).

    Args:
        benchmark: moment retrieval queries (:class:`~videoqa.data.schema.MomentSample`).
        predictions: JSON lines ``{"qid", "pred_relevant_windows": [[start s, end s,
            score], …], "pred_saliency_scores": [one per 2 s clip]}``.
        protocol: unused (one protocol for moment benchmarks); kept for the scorer API.

    Returns:
        :class:`MomentReport`; MR numbers when the predictions carry windows, HL numbers
        when they carry saliency scores.

    Raises:
        DataFormatError: unreadable file, no labeled query with a prediction, windows or
            saliency given for some predictions only, clip ids outside a video.
    """
    del protocol
    preds = read_moment_predictions(predictions)
    aligned = align_predictions(preds, benchmark)
    labeled = [(s, p) for s, p in aligned.pairs if s.relevant_windows]
    unlabeled = [s.qid for s in benchmark.samples if not s.relevant_windows]
    no_labels = set(unlabeled)
    missing = [qid for qid in aligned.missing if qid not in no_labels]
    if not labeled:
        raise DataFormatError(
            f"{preds.source}: no prediction for a labeled query of {benchmark.name} "
            f"({len(aligned.pairs)} predictions matched, {len(unlabeled)} queries unlabeled)"
        )
    metrics = qvhighlights_metrics(
        [metric_prediction(p) for _, p in labeled], [ground_truth(s) for s, _ in labeled]
    )
    official = metrics.to_official_dict()
    details = {k: _nan_to_none(v) for k, v in official.items() if k != "brief"}
    return MomentReport(
        brief=_nan_to_none(metrics.brief),
        details=details,
        split_queries={k: v.num_queries for k, v in metrics.moment_retrieval.items()},
        **accounting(
            benchmark,
            preds.source,
            preds.issues,
            answered=len(labeled),
            missing=missing,
            unknown=aligned.unknown,
            unlabeled=unlabeled,
        ),
    )


SCORERS.register(SampleKind.MOMENT.value, score_moments)
