"""Accuracy with per-question-type and per-group breakdowns, as NExT-QA reports it.

Source: NExT-QA (Xiao et al., CVPR 2021), Sec. 5 and Table 3; official evaluators
``eval_mc.py`` (``doc-doc/NExT-QA``) and ``eval_oe.py`` (``doc-doc/NExT-OE``). Conventions
reproduced from those scripts:

* ``TP`` (previous) questions are counted as ``TN`` (next): "Bef&Aft";
* a type's group is its first letter: ``C`` causal, ``T`` temporal, ``D`` descriptive;
* multiple choice: percent = ``correct * 100.0 / count``; open-ended:
  ``(score_sum / count) * 100``; both printed with ``'{:.2f}'`` (round half to even on
  the binary value), which :func:`round_percent` reproduces;
* group and overall sums add the per-type sums in the official type order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict

from videoqa.errors import DataFormatError, UsageError
from videoqa.metrics.registry import METRICS

if TYPE_CHECKING:
    from videoqa.data.schema import QASample

ALL = "all"


def round_percent(value: float) -> float:
    """Round like the official scripts' ``'{:.2f}'`` formatting (2 decimals)."""
    return float(f"{value:.2f}")


@dataclass(frozen=True)
class TypeConvention:
    """How a benchmark names, merges, orders and groups its question types.

    Attributes:
        aliases: type code → code it is counted as (NExT-QA: ``{"TP": "TN"}``).
        type_order: official order of the type codes (others follow, sorted).
        names: display name of a type, group or ``"all"`` (defaults to the key).
        table_order: keys of :meth:`ScoreBreakdown.table`, as the official script prints.
    """

    aliases: Mapping[str, str] = field(default_factory=dict)
    type_order: tuple[str, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)
    table_order: tuple[str, ...] = ()

    def canonical(self, qtype: str) -> str:
        """The code ``qtype`` is counted as."""
        return self.aliases.get(qtype, qtype)

    @staticmethod
    def group(qtype: str) -> str:
        """Group of a (canonical) type: its first letter."""
        return qtype[:1]

    def name(self, key: str) -> str:
        """Display name of a type or group code (the code itself when unnamed)."""
        return self.names.get(key, key)

    def ordered(self, types: set[str]) -> list[str]:
        """``types`` in official order, unknown ones after it in sorted order."""
        known = [t for t in self.type_order if t in types]
        return known + sorted(types - set(self.type_order))


#: NExT-QA multiple choice (``eval_mc.py``).
NEXTQA_MC = TypeConvention(
    aliases={"TP": "TN"},
    type_order=("CW", "CH", "TN", "TC", "DC", "DL", "DO"),
    names={
        "CW": "Why",
        "CH": "How",
        "TN": "Bef&Aft",
        "TC": "When",
        "DC": "Cnt",
        "DL": "Loc",
        "DO": "Other",
        "C": "Acc_C",
        "T": "Acc_T",
        "D": "Acc_D",
        ALL: "Acc",
    },
    table_order=("CW", "CH", "TN", "TC", "DC", "DL", "DO", "C", "T", "D", ALL),
)

#: NExT-QA open-ended (``eval_oe.py``).
NEXTQA_OE = TypeConvention(
    aliases={"TP": "TN"},
    type_order=("CW", "CH", "TN", "TC", "DL", "DB", "DC", "DO"),
    names={"TN": "TPN", "C": "WUPS_C", "T": "WUPS_T", "D": "WUPS_D", ALL: "WUPS"},
    table_order=("CW", "CH", "C", "TN", "TC", "T", "DB", "DC", "DL", "DO", "D", ALL),
)

#: No merging; groups are still first letters.
PLAIN = TypeConvention()


class ScoreSummary(BaseModel):
    """One row of a breakdown.

    Attributes:
        key: type code, group letter or ``"all"``.
        name: display name (``"Why"``, ``"Acc_C"``, ``"Acc"``).
        score: sum of per-question scores (the number correct for accuracy).
        count: number of questions.
        percent: ``100 * score / count``, rounded to 2 decimals like the official table.
    """

    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    score: float
    count: int
    percent: float


class ScoreBreakdown(BaseModel):
    """Overall, per-type and per-group scores.

    Attributes:
        overall: all questions.
        per_type: canonical type code → row, in official order (empty without types).
        per_group: group letter → row, in official order.
    """

    model_config = ConfigDict(frozen=True)

    overall: ScoreSummary
    per_type: dict[str, ScoreSummary]
    per_group: dict[str, ScoreSummary]
    table_order: tuple[str, ...] = ()

    def table(self) -> dict[str, float]:
        """Display name → percent, in the column order the official script prints."""
        rows = {ALL: self.overall, **self.per_type, **self.per_group}
        order = self.table_order or (*self.per_type, *self.per_group, ALL)
        extra = [k for k in rows if k not in order]
        return {rows[k].name: rows[k].percent for k in (*order, *extra) if k in rows}


def _summary(
    key: str, conv: TypeConvention, score: float, count: int, scale_last: bool
) -> ScoreSummary:
    pct = (score / count) * 100 if scale_last else score * 100.0 / count
    return ScoreSummary(
        key=key, name=conv.name(key), score=score, count=count, percent=round_percent(pct)
    )


def breakdown(
    scores: ArrayLike,
    qtypes: Sequence[str] | None,
    convention: TypeConvention = PLAIN,
    *,
    scale_last: bool = False,
) -> ScoreBreakdown:
    """Aggregate per-question scores into overall / per-type / per-group percentages.

    Args:
        scores: ``(N,)`` per-question scores in [0, 1] (1/0 for accuracy).
        qtypes: ``N`` type codes, or ``None`` for the overall score only.
        convention: type merging, naming and ordering.
        scale_last: ``True`` computes ``(sum / n) * 100`` (NExT-OE), else ``sum * 100 / n``
            (NExT-QA MC); the order changes the last bit, hence the rounding at ties.

    Raises:
        UsageError: when there are no scores or ``qtypes`` has another length.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if s.size == 0:
        raise UsageError("cannot score an empty set of questions")
    conv = convention
    if qtypes is None:
        overall = _summary(ALL, conv, float(s.sum()), int(s.size), scale_last)
        return ScoreBreakdown(overall=overall, per_type={}, per_group={})
    if len(qtypes) != s.size:
        raise UsageError(f"{s.size} scores but {len(qtypes)} question types")
    canonical = [conv.canonical(str(t)) for t in qtypes]
    types, inverse = np.unique(np.asarray(canonical, dtype=object), return_inverse=True)
    sums = np.bincount(inverse, weights=s, minlength=len(types))  # sequential, input order
    counts = np.bincount(inverse, minlength=len(types))
    by_type = {str(t): (float(sums[i]), int(counts[i])) for i, t in enumerate(types)}
    order = conv.ordered(set(by_type))
    per_type = {t: _summary(t, conv, *by_type[t], scale_last) for t in order}
    group_acc: dict[str, list[float]] = {}
    for t in order:
        acc = group_acc.setdefault(conv.group(t), [0.0, 0])
        acc[0] += by_type[t][0]
        acc[1] += by_type[t][1]
    per_group = {g: _summary(g, conv, a[0], int(a[1]), scale_last) for g, a in group_acc.items()}
    total = 0.0
    for t in order:
        total += by_type[t][0]
    overall = _summary(ALL, conv, total, int(s.size), scale_last)
    return ScoreBreakdown(
        overall=overall, per_type=per_type, per_group=per_group, table_order=conv.table_order
    )


def multiple_choice_accuracy(
    predictions: ArrayLike,
    answers: ArrayLike,
    qtypes: Sequence[str] | None = None,
    *,
    convention: TypeConvention = NEXTQA_MC,
) -> ScoreBreakdown:
    """Multiple-choice accuracy in percent, overall and per type/group (``eval_mc.py``).

    Args:
        predictions: ``(N,)`` predicted choice indices (any value not equal to the answer,
            e.g. ``-1`` for "no answer", counts as wrong).
        answers: ``(N,)`` correct choice indices.
        qtypes: ``N`` type codes (``CW``, ``TN``…) or ``None``.
        convention: default NExT-QA (``TP`` → ``TN``, Why/How/Bef&Aft/… names).

    Returns:
        :class:`ScoreBreakdown`; ``.table()`` gives the official columns.

    Raises:
        UsageError: when lengths differ or there are no questions.
    """
    pred = np.asarray(predictions).reshape(-1)
    gold = np.asarray(answers).reshape(-1)
    if pred.shape != gold.shape:
        raise UsageError(f"{pred.size} predictions but {gold.size} answers")
    return breakdown((pred == gold).astype(np.float64), qtypes, convention)


def multiple_choice_accuracy_from_samples(
    samples: Sequence[QASample],
    predictions: Mapping[str, int],
    *,
    convention: TypeConvention = NEXTQA_MC,
) -> ScoreBreakdown:
    """:func:`multiple_choice_accuracy` for dataset samples and predictions keyed by ``qid``.

    Raises:
        DataFormatError: when a sample is open-ended or has no prediction.
    """
    missing = [s.qid for s in samples if s.qid not in predictions]
    if missing:
        raise DataFormatError(
            f"{len(missing)} questions have no prediction (first: {', '.join(missing[:5])})"
        )
    if any(not s.is_multiple_choice for s in samples):
        raise DataFormatError("multiple-choice accuracy given open-ended samples")
    return multiple_choice_accuracy(
        [int(predictions[s.qid]) for s in samples],
        [int(s.answer) for s in samples],
        [s.qtype for s in samples],
        convention=convention,
    )


def open_ended_accuracy(
    predictions: Sequence[str],
    references: Sequence[str],
    qtypes: Sequence[str] | None = None,
    *,
    normalizer: Callable[[str], str] | None = None,
    convention: TypeConvention = NEXTQA_OE,
) -> ScoreBreakdown:
    """Exact-match accuracy of open-ended answers after normalisation, in percent.

    This is how NExT-OE scores its counting questions (``eval_oe.py``): both answers pass
    ``remove_stop`` (lemmatise, drop stopwords) and must then be equal strings.

    Args:
        predictions: ``N`` predicted answers.
        references: ``N`` reference answers.
        qtypes: ``N`` type codes or ``None``.
        normalizer: string normalisation; default
            :class:`~videoqa.metrics.wups.NextOENormalizer` (needs WordNet).

    Raises:
        UsageError: when lengths differ or there are no questions.
        WordNetUnavailableError: with the default normaliser and no WordNet.
    """
    if len(predictions) != len(references):
        raise UsageError(f"{len(predictions)} predictions but {len(references)} references")
    if normalizer is None:
        from videoqa.metrics.wups import NextOENormalizer

        normalizer = NextOENormalizer()
    hits = [
        float(normalizer(p) == normalizer(r)) for p, r in zip(predictions, references, strict=True)
    ]
    return breakdown(hits, qtypes, convention, scale_last=True)


METRICS.register("mc_accuracy", multiple_choice_accuracy)
METRICS.register("oe_accuracy", open_ended_accuracy)
