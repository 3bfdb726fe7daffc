"""ATP-hard: an id list applied to a NExT-QA split."""

from __future__ import annotations

import pytest

from videoqa.data import load_dataset
from videoqa.errors import UsageError


def test_atp_hard_text_ids(fixtures):
    split = fixtures / "nextqa" / "val.csv"
    bench = load_dataset("atp-hard", fixtures / "atp_hard" / "ids.txt", nextqa_split=split)
    assert bench.ids == ["4882821564_1", "4010069381_6"]  # id-file order
    assert bench.records == 6 and bench.split == "ids"
    assert [(i.line, i.key) for i in bench.issues] == [
        (3, "9999999999_1"),
        (6, "4882821564_1"),
        (7, "4882821564_2"),
        (8, "5555555555_3"),
    ]
    reasons = [i.reason for i in bench.issues]
    assert reasons[0] == "id '9999999999_1' is not in val.csv"
    assert reasons[1] == "id '4882821564_1' repeated (first on line 2)"
    assert reasons[2].startswith("row of val.csv:4 could not load")
    assert bench.meta["split_questions"] == 3 and bench.meta["split_issues"] == 2


def test_atp_hard_json_and_csv_ids(fixtures):
    split = fixtures / "nextqa" / "val.csv"
    bench = load_dataset("atp-hard", fixtures / "atp_hard" / "ids.json", nextqa_split=split)
    assert bench.ids == ["4882821564_1", "4010069381_6", "6666666666_1"]
    assert [(i.line, i.reason) for i in bench.issues] == [
        (4, "expected an id text or an object with video and qid, got 42")
    ]
    bench = load_dataset("atp-hard", fixtures / "atp_hard" / "atp_hard.csv", nextqa_split=split)
    assert bench.ids == ["6666666666_1", "4010069381_6"]
    assert [(i.line, i.reason) for i in bench.issues] == [(4, "empty video or qid")]
    # the questions come from the split, not from the id file
    assert bench.samples[0].choices[0] == "sniff the\nground"


def test_atp_hard_warns_about_descriptive_questions(tmp_path, fixtures):
    split = tmp_path / "val.csv"
    split.write_text(
        "video,question,answer,qid,type,a0,a1,a2,a3,a4\n11,what is on the table,1,3,DO,a,b,c,d,e\n"
    )
    ids = tmp_path / "hard.txt"
    ids.write_text("11_3\n")
    bench = load_dataset("atp-hard", ids, nextqa_split=split)
    assert bench.ids == ["11_3"]
    assert [(w.line, w.reason) for w in bench.warnings] == [(1, "type 'DO' is not causal/temporal")]


def test_atp_hard_needs_the_split(fixtures):
    with pytest.raises(UsageError, match="nextqa_split"):
        load_dataset("atp-hard", fixtures / "atp_hard" / "ids.txt")
