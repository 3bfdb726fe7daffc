"""Score a prediction file against any registered benchmark.

:func:`evaluate` looks at the kind of the benchmark's samples (multiple choice,
open-ended, moment, quality — :func:`~videoqa.eval.base.benchmark_kind`), takes the
scorer registered for that kind in :data:`~videoqa.eval.base.SCORERS`, and the
benchmark's scoring rules from :func:`~videoqa.eval.protocols.protocol_for`::

    from videoqa.data import load_dataset
    from videoqa.eval import evaluate

    bench = load_dataset("nextqa-mc", "val.csv")
    report = evaluate(bench, "results.json")
    report.accuracy, report.by_group, report.missing
"""

from __future__ import annotations

from pathlib import Path

from videoqa.data.schema import Benchmark
from videoqa.eval import moments, qa, quality  # noqa: F401  (register the scorers)
from videoqa.eval.base import SCORERS, benchmark_kind
from videoqa.eval.protocols import EvalProtocol, protocol_for
from videoqa.eval.reports import AnyReport


def evaluate(
    benchmark: Benchmark,
    predictions: str | Path,
    *,
    protocol: EvalProtocol | None = None,
) -> AnyReport:
    """Score ``predictions`` against ``benchmark``.

    Args:
        benchmark: from :func:`videoqa.data.load_dataset` (possibly cut with :func:`head`).
        predictions: the prediction file; its accepted layouts depend on the sample kind
            (:func:`~videoqa.eval.predictions.read_predictions`,
            :func:`~videoqa.eval.predictions.read_moment_predictions`,
            :func:`~videoqa.eval.quality.read_quality_predictions`).
        protocol: scoring rules; default the benchmark's (by its registered name).

    Returns:
        the report of the benchmark's kind: :class:`~videoqa.eval.reports.MultipleChoiceReport`,
        :class:`~videoqa.eval.reports.OpenEndedReport`, :class:`~videoqa.eval.reports.MomentReport`
        or :class:`~videoqa.eval.reports.QualityReport`.

    Raises:
        DataFormatError: empty or mixed benchmark, unreadable prediction file.
        AnnotationNotFoundError: the prediction file does not exist.
        UsageError: a metric cannot be computed (e.g. fewer than 4 quality scores).
        WordNetUnavailableError: open-ended WUPS without WordNet 3.0.
    """
    kind = benchmark_kind(benchmark)
    scorer = SCORERS.get(kind.value)
    return scorer(benchmark, Path(predictions), protocol or protocol_for(benchmark.name))


def head(benchmark: Benchmark, limit: int | None) -> Benchmark:
    """The benchmark cut to its first ``limit`` samples (file order), or itself.

    The cut benchmark keeps the name, split, video index and meta (with ``limit`` added);
    its ``issues`` are dropped (they belong to the whole file) and ``records`` equals the
    number of samples kept.
    """
    if limit is None or limit >= len(benchmark.samples):
        return benchmark
    kept = benchmark.samples[: max(limit, 0)]
    return type(benchmark)(
        name=benchmark.name,
        split=benchmark.split,
        samples=kept,
        videos=benchmark.videos,
        issues=[],
        warnings=[],
        records=len(kept),
        meta={**benchmark.meta, "limit": limit},
    )
