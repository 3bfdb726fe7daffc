"""MOMA-QA loader (the layout documented in videoqa.data.moma_qa)."""

from __future__ import annotations

from videoqa.data import load_dataset


def test_moma_qa_array(fixtures):
    bench = load_dataset("moma-qa", fixtures / "moma_qa" / "val.json")
    assert bench.ids == ["q000123", "124", "q000126"] and bench.records == 4
    first = bench.samples[0]
    assert (first.answer, first.qtype, first.interval) == (
        "credit card",
        "relationship",
        (12.0, 31.5),
    )
    assert first.extras["scene_graph"]["relationships"][0]["predicate"] == "holding"
    assert first.extras["sub_activity"] == "scanning items"
    assert bench.samples[1].interval == (31.5, 40.0) and bench.samples[1].extras == {}
    assert [(i.line, i.key, i.reason) for i in bench.issues] == [
        (9, "q000125", "missing field 'start'")
    ]
    assert [(w.line, w.reason) for w in bench.warnings] == [
        (11, "unknown question type 'relation', kept as is")
    ]


def test_moma_qa_lines(fixtures):
    bench = load_dataset("moma-qa", fixtures / "moma_qa" / "val.jsonl")
    assert bench.ids == ["q1"] and bench.samples[0].interval == (3.0, 7.5)
    assert [(i.line, i.key) for i in bench.issues] == [(2, "q2")]
    assert "interval end before start" in bench.issues[0].reason
