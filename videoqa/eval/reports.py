"""Typed results of an evaluation, one model per kind of benchmark.

Every report carries the same accounting (:class:`EvalReport`): how many samples the
benchmark has, how many got a usable prediction, and every prediction or sample that
could not be scored — ``missing``, ``unknown``, ``malformed``, ``invalid`` — so that
nothing is dropped silently. The score fields are percentages rounded to 2 decimals
like the official evaluators (correlations for quality tables are plain numbers).

JSON (``report.model_dump(mode="json")``) is what ``videoqa eval --json`` prints.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: At most this many ids are listed per kind of problem in ``examples``.
MAX_EXAMPLES = 10
#: At most this many row issues are listed in ``issues``.
MAX_ISSUES = 20


class EvalReport(BaseModel):
    """Accounting shared by every report.

    Attributes:
        kind: which scorer produced the report.
        dataset: registered dataset name.
        split: split name of the benchmark.
        predictions: name of the scored prediction file (no directory).
        count: samples in the benchmark (after ``--limit``).
        answered: samples with a prediction that could be used (``invalid`` ones
            included: they count as wrong).
        missing: samples without a prediction.
        unknown: predictions whose id is not in the benchmark (not scored).
        malformed: rows of the prediction file that could not be read (not JSON, no id,
            no prediction, wrong type, repeated id).
        invalid: predictions that cannot be an answer to their question (an option
            index out of range, a text that is none of the options, an index for an
            open-ended question); scored as wrong.
        answer_mismatch: rows whose own ``answer`` field (NExT-QA official format)
            differs from the benchmark's answer; the benchmark's answer is used.
        unlabeled: samples without ground truth (e.g. a test split), not scored.
        errors: questions a model run could not answer (bad video); also ``missing``.
        annotation_issues: records of the annotation file that could not be loaded.
        examples: first ids of each problem (``missing``, ``unknown``, ``invalid``, …).
        issues: the first malformed rows, ``"file:line [id]: reason"``.
    """

    model_config = ConfigDict(frozen=True)

    kind: str
    dataset: str
    split: str
    predictions: str
    count: int = Field(ge=0)
    answered: int = Field(ge=0)
    missing: int = Field(0, ge=0)
    unknown: int = Field(0, ge=0)
    malformed: int = Field(0, ge=0)
    invalid: int = Field(0, ge=0)
    answer_mismatch: int = Field(0, ge=0)
    unlabeled: int = Field(0, ge=0)
    errors: int = Field(0, ge=0)
    annotation_issues: int = Field(0, ge=0)
    examples: dict[str, list[str]] = Field(default_factory=dict)
    issues: list[str] = Field(default_factory=list)

    @property
    def coverage(self) -> float:
        """Fraction of the scored samples that have a prediction (1.0 for an empty set)."""
        scored = self.count - self.unlabeled
        return self.answered / scored if scored else 1.0

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready fields: identification, then the scores, then the accounting."""
        data = self.model_dump(mode="json")
        ident = ("kind", "dataset", "split", "predictions")
        scores = [k for k in data if k not in EvalReport.model_fields]
        rest = [k for k in EvalReport.model_fields if k not in ident]
        return {k: data[k] for k in (*ident, *scores, *rest)}


class MultipleChoiceReport(EvalReport):
    """Multiple-choice accuracy (NExT-QA ``eval_mc.py`` conventions).

    ``accuracy`` is over all ``count`` questions: a missing or invalid prediction counts
    as wrong, as a question of the split left unanswered would.

    Attributes:
        accuracy: percent correct over all questions.
        accuracy_answered: percent correct over the ``answered`` questions (``None``
            when none was answered).
        correct: number of correct answers.
        by_type: canonical type code → percent (official type order).
        type_counts: canonical type code → number of questions.
        by_group: group letter → percent (only for benchmarks that define groups).
        group_counts: group letter → number of questions.
        table: official column name → percent (``Why``, ``Acc_C``, ``Acc`` …), for
            benchmarks that define groups.
    """

    kind: Literal["multiple-choice"] = "multiple-choice"
    accuracy: float
    accuracy_answered: float | None
    correct: int
    by_type: dict[str, float] = Field(default_factory=dict)
    type_counts: dict[str, int] = Field(default_factory=dict)
    by_group: dict[str, float] = Field(default_factory=dict)
    group_counts: dict[str, int] = Field(default_factory=dict)
    table: dict[str, float] = Field(default_factory=dict)


class OpenEndedRow(BaseModel):
    """Open-ended scores of one question type, group or the whole set (percent)."""

    model_config = ConfigDict(frozen=True)

    accuracy: float
    wups0: float
    wups9: float
    count: int


class OpenEndedReport(EvalReport):
    """Open-ended accuracy and WUPS@0 / WUPS@0.9 (missing answers score 0).

    Attributes:
        accuracy: exact match of the normalised answers, percent.
        wups0: mean WUPS@0.0, percent.
        wups9: mean WUPS@0.9, percent.
        normalizer: how answers were normalised when it is more than lower-casing
            (NExT-OE's ``remove_stop``); ``"no POS tagger: ..."`` when NLTK's tagger was
            missing and the scores may differ from the official evaluator's.
        by_type: canonical type → scores.
        by_group: group letter → scores (only for benchmarks that define groups).
    """

    kind: Literal["open-ended"] = "open-ended"
    accuracy: float
    wups0: float
    wups9: float
    normalizer: str | None = None
    by_type: dict[str, OpenEndedRow] = Field(default_factory=dict)
    by_group: dict[str, OpenEndedRow] = Field(default_factory=dict)


class MomentReport(EvalReport):
    """QVHighlights moment retrieval and highlight detection metrics.

    Scored over the labeled queries that have a prediction (the official script
    refuses partial files; ``missing`` says how many were left out).

    Attributes:
        brief: the official headline numbers (``MR-full-R1@0.5`` …
            ``HL-min-VeryGood-Hit1``).
        details: the rest of the official output: ``full`` / ``short`` / ``middle`` /
            ``long`` → ``{"MR-mAP": {iou: v, "average": v}, "MR-R1": {iou: v}}`` and
            ``HL-min-Fair`` … → ``{"HL-mAP": v, "HL-Hit1": v}``; ``None`` where the
            official prints NaN (a length split without queries).
        split_queries: queries per length split.
    """

    kind: Literal["moment"] = "moment"
    brief: dict[str, float | None]
    details: dict[str, dict[str, float | None | dict[str, float | None]]]
    split_queries: dict[str, int] = Field(default_factory=dict)


class QualityReport(EvalReport):
    """Agreement of predicted quality with the MOS, over the videos with a prediction.

    Attributes:
        srcc: Spearman rank correlation.
        krcc: Kendall rank correlation.
        plcc: Pearson correlation after the 4-parameter logistic mapping.
        rmse: root mean squared error after the mapping, MOS units.
        fit_converged: whether the logistic fit converged.
    """

    kind: Literal["quality"] = "quality"
    srcc: float
    krcc: float
    plcc: float
    rmse: float
    fit_converged: bool


AnyReport = MultipleChoiceReport | OpenEndedReport | MomentReport | QualityReport
