"""The scorer registry and the accounting every scorer shares.

A scorer turns a benchmark and a prediction file into a report. Scorers are registered
by the *kind of sample* they score (:class:`SampleKind`), not by dataset name::

    @SCORERS.register(SampleKind.MULTIPLE_CHOICE)
    def score_multiple_choice(benchmark, predictions, protocol) -> MultipleChoiceReport: ...
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

from videoqa.data.schema import Benchmark, MomentSample, QASample, QualitySample, RowIssue
from videoqa.errors import DataFormatError
from videoqa.eval.protocols import EvalProtocol
from videoqa.eval.reports import MAX_EXAMPLES, MAX_ISSUES, EvalReport
from videoqa.registry import Registry


class SampleKind(str, Enum):
    """What a benchmark's samples ask for, which decides how they are scored."""

    MULTIPLE_CHOICE = "multiple-choice"  #: QASample with choices
    OPEN_ENDED = "open-ended"  #: QASample without choices
    MOMENT = "moment"  #: MomentSample
    QUALITY = "quality"  #: QualitySample


#: ``scorer(benchmark, predictions_path, protocol) -> EvalReport``.
Scorer = Callable[[Benchmark, Path, EvalProtocol], EvalReport]

#: Sample kind (its value, e.g. ``"multiple-choice"``) → scorer.
SCORERS: Registry[Scorer] = Registry("scorer")


def kind_of(sample: QASample | MomentSample | QualitySample) -> SampleKind:
    """The :class:`SampleKind` of one sample."""
    if isinstance(sample, QASample):
        return SampleKind.MULTIPLE_CHOICE if sample.is_multiple_choice else SampleKind.OPEN_ENDED
    if isinstance(sample, MomentSample):
        return SampleKind.MOMENT
    if isinstance(sample, QualitySample):
        return SampleKind.QUALITY
    raise DataFormatError(f"cannot score samples of type {type(sample).__name__}")


def benchmark_kind(benchmark: Benchmark) -> SampleKind:
    """The one :class:`SampleKind` of all the benchmark's samples.

    Raises:
        DataFormatError: the benchmark has no sample, or mixes kinds (e.g. multiple
            choice and open-ended questions).
    """
    kinds = {kind_of(s) for s in benchmark.samples}
    if not kinds:
        raise DataFormatError(f"{benchmark.name}: the benchmark has no sample to score")
    if len(kinds) > 1:
        names = ", ".join(sorted(k.value for k in kinds))
        raise DataFormatError(f"{benchmark.name}: samples of several kinds ({names})")
    return kinds.pop()


def accounting(
    benchmark: Benchmark,
    source: str,
    issues: Sequence[RowIssue],
    *,
    answered: int,
    missing: Sequence[str],
    unknown: Sequence[str],
    invalid: Sequence[str] = (),
    answer_mismatch: Sequence[str] = (),
    unlabeled: Sequence[str] = (),
) -> dict[str, Any]:
    """The :class:`~videoqa.eval.reports.EvalReport` fields of one evaluation.

    Args:
        benchmark: the scored benchmark.
        source: the prediction file's name.
        issues: malformed rows of the prediction file.
        answered: samples with a usable prediction.
        missing, unknown, invalid, answer_mismatch, unlabeled: ids of each problem.

    Returns:
        keyword arguments for a report model (counts, ``examples``, ``issues``).
    """
    lists = {
        "missing": missing,
        "unknown": unknown,
        "invalid": invalid,
        "answer_mismatch": answer_mismatch,
        "unlabeled": unlabeled,
    }
    return {
        "dataset": benchmark.name,
        "split": benchmark.split,
        "predictions": source,
        "count": len(benchmark.samples),
        "answered": answered,
        "malformed": len(issues),
        "annotation_issues": len(benchmark.issues),
        **{name: len(ids) for name, ids in lists.items()},
        "examples": {name: list(ids[:MAX_EXAMPLES]) for name, ids in lists.items() if ids},
        "issues": [str(issue) for issue in issues[:MAX_ISSUES]],
    }
