"""Global answer vocabulary and open-ended → multiple-choice conversion."""

from __future__ import annotations

import pytest

from videoqa.data import answer_vocabulary, load_dataset, to_multiple_choice
from videoqa.data.schema import QASample
from videoqa.errors import UsageError


def _oe(qid: str, answer: str) -> QASample:
    return QASample(qid=qid, video_id="v", question="q?", answer=answer)


def test_vocabulary_order_and_threshold():
    answers = ["b", "a", "c", "a", "b", "d", "c ", "b", "e"]
    train = [_oe(str(i), a) for i, a in enumerate(answers)]
    # counts: b 3, a 2, c 2 (after stripping), d 1, e 1 — ties in code-point order
    assert answer_vocabulary(train) == ["b", "a", "c"]
    assert answer_vocabulary(train, min_count=3) == ["b"]
    assert answer_vocabulary(train, min_count=1) == ["b", "a", "c", "d", "e"]
    mc = QASample(qid="m", video_id="v", question="q", choices=("x", "b"), answer=1)
    assert answer_vocabulary([*train, mc], min_count=4) == ["b"]
    with pytest.raises(UsageError):
        answer_vocabulary(train, min_count=0)


def test_conversion_reports_answers_outside(fixtures):
    train = load_dataset("nextqa-oe", fixtures / "nextqa_oe" / "train.csv")
    vocab = answer_vocabulary(train.samples)
    # yes 3, laugh 2, no 2, two 2; ties in code-point order
    assert vocab == ["yes", "laugh", "no", "two"]
    val = load_dataset("nextqa-oe", fixtures / "nextqa_oe" / "val.csv")
    conv = to_multiple_choice(val.samples, vocab)
    assert [(s.qid, s.answer, s.answer_text) for s in conv.samples] == [
        ("3233088823_1", 0, "yes"),
        ("3233088823_2", 3, "two"),
        ("4189100053_4", 1, "laugh"),
        ("4189100053_5", 2, "no"),
    ]
    assert [s.qid for s in conv.outside] == ["3233088823_3"]
    assert conv.coverage == pytest.approx(4 / 5)
    assert all(s.choices is conv.vocabulary for s in conv.samples)  # shared, not copied
    assert val.samples[0].choices is None  # the input is left unchanged


def test_conversion_rejects_bad_input():
    with pytest.raises(UsageError, match="already multiple choice"):
        to_multiple_choice(
            [QASample(qid="m", video_id="v", question="q", choices=("a", "b"), answer=0)], ["a"]
        )
    with pytest.raises(UsageError, match="repeated"):
        to_multiple_choice([_oe("1", "a")], ["a", "a"])
    with pytest.raises(UsageError):
        to_multiple_choice([_oe("1", "a")], [])
    assert to_multiple_choice([], ["a"]).coverage == 0.0
