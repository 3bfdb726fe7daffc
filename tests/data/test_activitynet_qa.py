"""ActivityNet-QA: questions and answers joined on question_id."""

from __future__ import annotations

from pathlib import Path

import pytest

from videoqa.data import load_dataset
from videoqa.data.activitynet_qa import ACTIVITYNET_QA_TYPES
from videoqa.errors import UsageError


def test_type_codes():
    assert [ACTIVITYNET_QA_TYPES[i] for i in (0, 1, 2, 3, 7, 8)] == [
        "motion",
        "spatial",
        "temporal",
        "yes_no",
        "number",
        "other",
    ]
    assert sorted(ACTIVITYNET_QA_TYPES) == list(range(9))


def test_activitynet_qa_join_and_issues(fixtures):
    bench = load_dataset("activitynet-qa", fixtures / "activitynet_qa" / "test_q.json")
    assert bench.split == "test" and bench.meta["answers"] == "test_a.json"
    assert bench.ids == ["v_abc123XYZ_0_0", "v_abc123XYZ_0_1", "v_def456_0"]
    assert [(s.answer, s.qtype, s.extras["type_code"]) for s in bench.samples] == [
        ("dance", "motion", 0),
        ("yes", "yes_no", 3),
        ("red", "color", 4),
    ]
    assert sorted((i.source, i.line, i.key) for i in bench.issues) == [
        ("test_a.json", 5, "v_def456_1"),
        ("test_a.json", 6, "v_ghi789_0"),
        ("test_q.json", 5, "v_def456_1"),
        ("test_q.json", 6, "v_def456_0"),
    ]
    # 5 question rows + the 2 answer rows that joined nothing
    assert bench.records == 7
    assert bench.videos["def456"].path == Path("v_def456.mp4")


def test_activitynet_qa_needs_answers_for_odd_names(tmp_path):
    questions = tmp_path / "questions.json"
    questions.write_text("[]")
    with pytest.raises(UsageError, match="answers="):
        load_dataset("activitynet-qa", questions)
    answers = tmp_path / "answers.json"
    answers.write_text("[]")
    assert len(load_dataset("activitynet-qa", questions, answers=answers)) == 0
