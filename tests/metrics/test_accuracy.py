"""NExT-QA style accuracy: golden tables computed by hand, conventions, invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from videoqa.data.schema import QASample
from videoqa.errors import DataFormatError, UsageError
from videoqa.metrics import (
    NEXTQA_MC,
    PLAIN,
    breakdown,
    multiple_choice_accuracy,
    multiple_choice_accuracy_from_samples,
    open_ended_accuracy,
    round_percent,
)

# 6 questions: CW right, CW wrong, CH right, TP right (counted as TN), TC wrong, DC right.
TYPES = ["CW", "CW", "CH", "TP", "TC", "DC"]
ANSWERS = [0, 1, 2, 3, 4, 0]
PREDS = [0, 2, 2, 3, 0, 0]


def test_six_question_table_by_hand() -> None:
    rep = multiple_choice_accuracy(PREDS, ANSWERS, TYPES)
    # Why 1/2, How 1/1, Bef&Aft 1/1 (TP->TN), When 0/1, Cnt 1/1;
    # C = 2/3 = 66.666.. -> 66.67, T = 1/2, D = 1/1, all 4/6 = 66.67
    assert rep.table() == {
        "Why": 50.0,
        "How": 100.0,
        "Bef&Aft": 100.0,
        "When": 0.0,
        "Cnt": 100.0,
        "Acc_C": 66.67,
        "Acc_T": 50.0,
        "Acc_D": 100.0,
        "Acc": 66.67,
    }
    assert list(rep.per_type) == ["CW", "CH", "TN", "TC", "DC"]
    assert rep.per_type["TN"].count == 1 and "TP" not in rep.per_type
    assert rep.per_group["C"].score == 2 and rep.per_group["C"].count == 3
    assert rep.overall.score == 4 and rep.overall.count == 6


def test_counts_sum_to_total() -> None:
    rep = multiple_choice_accuracy(PREDS, ANSWERS, TYPES)
    assert sum(r.count for r in rep.per_type.values()) == rep.overall.count == 6
    assert sum(r.count for r in rep.per_group.values()) == 6


def test_rounding_follows_format_2f() -> None:
    # 1/8 = 12.5 exactly; 1/6 = 16.666..; 0.125 -> '0.12' (half to even on the binary value)
    assert multiple_choice_accuracy([1] + [0] * 7, [1] * 8).overall.percent == 12.5
    assert multiple_choice_accuracy([1] + [0] * 5, [1] * 6).overall.percent == 16.67
    assert round_percent(0.125) == 0.12 and round_percent(0.375) == 0.38


def test_scale_order_matters_only_in_last_bit() -> None:
    scores = np.array([1.0, 0.0, 0.0])
    mc = breakdown(scores, None, PLAIN).overall.percent
    oe = breakdown(scores, None, PLAIN, scale_last=True).overall.percent
    assert mc == oe == 33.33


def test_without_types_only_overall() -> None:
    rep = multiple_choice_accuracy(np.array([1, 2, 3]), np.array([1, 2, 0]))
    assert rep.overall.percent == 66.67 and rep.per_type == {} and rep.per_group == {}
    assert rep.table() == {"Acc": 66.67}


def test_unknown_types_follow_official_order() -> None:
    rep = multiple_choice_accuracy([0, 0, 0], [0, 0, 1], ["ZZ", "CW", "AA"], convention=NEXTQA_MC)
    assert list(rep.per_type) == ["CW", "AA", "ZZ"]
    assert rep.per_type["AA"].name == "AA" and rep.per_type["AA"].percent == 0.0


def test_errors() -> None:
    with pytest.raises(UsageError):
        multiple_choice_accuracy([0, 1], [0])
    with pytest.raises(UsageError):
        multiple_choice_accuracy([], [])
    with pytest.raises(UsageError):
        multiple_choice_accuracy([0, 1], [0, 1], ["CW"])


def _sample(qid: str, answer: int, qtype: str) -> QASample:
    return QASample(
        qid=qid, video_id="v", question="q?", choices=tuple("abcde"), answer=answer, qtype=qtype
    )


def test_from_samples() -> None:
    samples = [_sample(f"v_{i}", a, t) for i, (a, t) in enumerate(zip(ANSWERS, TYPES, strict=True))]
    preds = {f"v_{i}": p for i, p in enumerate(PREDS)}
    rep = multiple_choice_accuracy_from_samples(samples, preds)
    assert rep.table()["Acc"] == 66.67
    del preds["v_3"]
    with pytest.raises(DataFormatError, match="v_3"):
        multiple_choice_accuracy_from_samples(samples, preds)
    oe = QASample(qid="x", video_id="v", question="q", answer="dog")
    with pytest.raises(DataFormatError):
        multiple_choice_accuracy_from_samples([oe], {"x": 0})


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.sampled_from(["CW", "CH", "TN", "TP", "TC", "DC", "DL"])),
        min_size=1,
        max_size=60,
    )
)
def test_perfect_predictions_score_100(rows: list[tuple[int, str]]) -> None:
    answers = [a for a, _ in rows]
    rep = multiple_choice_accuracy(answers, answers, [t for _, t in rows])
    assert all(v == 100.0 for v in rep.table().values())
    assert sum(r.count for r in rep.per_type.values()) == len(rows)


def test_open_ended_exact_match_with_custom_normalizer() -> None:
    rep = open_ended_accuracy(
        ["Two", "a dog", "red"], ["two", "dog", "blue"], ["DC", "CW", "DO"], normalizer=str.lower
    )
    assert rep.overall.percent == 33.33
    assert rep.per_type["DC"].percent == 100.0 and rep.per_type["CW"].percent == 0.0


def test_open_ended_default_normalizer(wordnet) -> None:
    # NExT-OE remove_stop: lemmatise ("dogs" -> "dog") and drop stopwords ("the", "a")
    rep = open_ended_accuracy(["the dogs", "two cats"], ["a dog", "three cats"])
    assert rep.overall.percent == 50.0
