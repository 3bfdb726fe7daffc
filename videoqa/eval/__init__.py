"""Evaluation harness: read prediction files, score them against any registered
benchmark, and produce prediction files by running a model.

* :func:`evaluate` — score a prediction file; dispatches on the kind of the benchmark's
  samples (multiple choice, open-ended, moment, quality) through :data:`SCORERS`.
* :func:`run_predictions` — answer a benchmark's questions with an answerer (the ``ask``
  pipeline), writing resumable JSON-lines predictions.
* :func:`head` — the first ``k`` samples of a benchmark.
* reports: :class:`MultipleChoiceReport`, :class:`OpenEndedReport`,
  :class:`MomentReport`, :class:`QualityReport` (all :class:`EvalReport`).

Importing this package loads neither torch, PyAV, NLTK nor SciPy.
"""

from videoqa.eval.base import SCORERS, SampleKind, benchmark_kind
from videoqa.eval.protocols import DEFAULT_PROTOCOL, PROTOCOLS, EvalProtocol, protocol_for
from videoqa.eval.quality import QualityPredictions, read_quality_predictions
from videoqa.eval.reports import (
    AnyReport,
    EvalReport,
    MomentReport,
    MultipleChoiceReport,
    OpenEndedReport,
    OpenEndedRow,
    QualityReport,
)
from videoqa.eval.runner import PredictionRecord, RunError, RunSummary, run_predictions
from videoqa.eval.scoring import evaluate, head

__all__ = [
    "DEFAULT_PROTOCOL",
    "PROTOCOLS",
    "SCORERS",
    "AnyReport",
    "EvalProtocol",
    "EvalReport",
    "MomentReport",
    "MultipleChoiceReport",
    "OpenEndedReport",
    "OpenEndedRow",
    "PredictionRecord",
    "QualityPredictions",
    "QualityReport",
    "RunError",
    "RunSummary",
    "SampleKind",
    "benchmark_kind",
    "evaluate",
    "head",
    "protocol_for",
    "read_quality_predictions",
    "run_predictions",
]
