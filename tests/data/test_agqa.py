"""AGQA 2.0 balanced loader."""

from __future__ import annotations

from videoqa.data import load_dataset


def test_agqa_golden_samples_issues_and_duplicate_keys(fixtures):
    bench = load_dataset("agqa", fixtures / "agqa" / "test_balanced.txt")
    assert bench.split == "test_balanced" and bench.records == 4
    assert bench.ids == ["q0001", "q0002", "q0001#2"]
    first = bench.samples[0]
    assert (first.question, first.answer, first.video_id, first.qtype) == (
        "Did they contact a blanket?",
        "No",
        "YSKX3",
        "binary",
    )
    assert first.choices is None
    assert first.extras["program"] == "Exists(blanket, ...)"
    assert first.extras["global"] == ["exists", "obj-rel"] and first.extras["steps"] == 1
    assert bench.samples[1].qtype == "open" and bench.samples[1].extras["structural"] == "query"
    assert [(i.line, i.key, i.reason) for i in bench.issues] == [
        (9, "q0003", "ans_type 'multiple' is not one of ['binary', 'open']")
    ]
    assert [(w.line, w.key) for w in bench.warnings] == [(11, "q0001")]
