"""Evaluation metrics identical to the official benchmark evaluators.

* :func:`multiple_choice_accuracy`, :func:`open_ended_accuracy` — NExT-QA ``eval_mc.py``
  conventions (per type, per group, 2-decimal percentages).
* :func:`wups`, :func:`wups_scores`, :func:`wups_corpus`, :func:`nextoe_wups` — WUPS as
  NExT-OE's ``metrics.py`` / ``eval_oe.py`` compute it (WordNet 3.0, loaded lazily).
* :func:`qvhighlights_metrics` — QVHighlights ``standalone_eval/eval.py``.
* :func:`quality_correlations` — SRCC / KRCC / PLCC / RMSE for video quality.

``METRICS`` maps names to these functions; :func:`list_metrics` lists them. Importing
this package loads neither NLTK, WordNet nor SciPy.
"""

from videoqa.metrics.accuracy import (
    NEXTQA_MC,
    NEXTQA_OE,
    PLAIN,
    ScoreBreakdown,
    ScoreSummary,
    TypeConvention,
    breakdown,
    multiple_choice_accuracy,
    multiple_choice_accuracy_from_samples,
    open_ended_accuracy,
    round_percent,
)
from videoqa.metrics.moment_retrieval import (
    HighlightScores,
    MomentGroundTruth,
    MomentPrediction,
    MomentRetrievalScores,
    QVHighlightsMetrics,
    qvhighlights_metrics,
)
from videoqa.metrics.quality import QualityScores, quality_correlations
from videoqa.metrics.registry import METRICS, list_metrics
from videoqa.metrics.wordnet import NltkSemantics, WordNetUnavailableError, load_wordnet
from videoqa.metrics.wups import (
    NEXTQA_STOPWORDS,
    NextOENormalizer,
    NextOEReport,
    nextoe_wups,
    tokenize,
    wups,
    wups_corpus,
    wups_scores,
)

__all__ = [
    "METRICS",
    "NEXTQA_MC",
    "NEXTQA_OE",
    "NEXTQA_STOPWORDS",
    "PLAIN",
    "HighlightScores",
    "MomentGroundTruth",
    "MomentPrediction",
    "MomentRetrievalScores",
    "NextOENormalizer",
    "NextOEReport",
    "NltkSemantics",
    "QVHighlightsMetrics",
    "QualityScores",
    "ScoreBreakdown",
    "ScoreSummary",
    "TypeConvention",
    "WordNetUnavailableError",
    "breakdown",
    "list_metrics",
    "load_wordnet",
    "multiple_choice_accuracy",
    "multiple_choice_accuracy_from_samples",
    "nextoe_wups",
    "open_ended_accuracy",
    "quality_correlations",
    "qvhighlights_metrics",
    "round_percent",
    "tokenize",
    "wups",
    "wups_corpus",
    "wups_scores",
]
