"""Scoring QA prediction files: hand-computed multiple-choice and open-ended numbers."""

from __future__ import annotations

import json

import pytest

from videoqa.data import load_dataset
from videoqa.data.schema import Benchmark, QASample
from videoqa.errors import DataFormatError
from videoqa.eval import (
    MultipleChoiceReport,
    OpenEndedReport,
    evaluate,
    head,
    protocol_for,
)
from videoqa.eval.base import SampleKind, benchmark_kind
from videoqa.eval.qa import choice_index
from videoqa.metrics import nextoe_wups

# 1000000001_1 CW ok, _2 CH wrong, 1000000002_3 TN ok, _4 TP(->TN) ok, 1000000003_5 DC
# wrong, _6 DL ok: 4 of 6.
EXPECTED_BY_TYPE = {"CW": 100.0, "CH": 0.0, "TN": 100.0, "DC": 0.0, "DL": 100.0}
EXPECTED_TABLE = {
    "Why": 100.0,
    "How": 0.0,
    "Bef&Aft": 100.0,
    "Cnt": 0.0,
    "Loc": 100.0,
    "Acc_C": 50.0,
    "Acc_T": 100.0,
    "Acc_D": 50.0,
    "Acc": 66.67,
}


@pytest.mark.parametrize("name", ["official.json", "mapping.json", "lines.jsonl"])
def test_three_layouts_give_the_hand_computed_numbers(fixtures, nextqa_mc, name):
    report = evaluate(nextqa_mc, fixtures / "nextqa_mc" / name)
    assert isinstance(report, MultipleChoiceReport)
    assert report.accuracy == 66.67 and report.correct == 4
    assert report.by_type == EXPECTED_BY_TYPE
    assert report.type_counts == {"CW": 1, "CH": 1, "TN": 2, "DC": 1, "DL": 1}
    assert report.by_group == {"C": 50.0, "T": 100.0, "D": 50.0}
    assert report.table == EXPECTED_TABLE
    assert (report.count, report.answered, report.missing, report.unknown) == (6, 6, 0, 0)
    assert (report.malformed, report.invalid, report.answer_mismatch) == (0, 0, 0)
    assert report.predictions == name


def test_perfect_file_scores_100(tmp_path, nextqa_mc):
    path = tmp_path / "perfect.json"
    path.write_text(json.dumps({s.qid: s.answer for s in nextqa_mc.samples}))
    report = evaluate(nextqa_mc, path)
    assert report.accuracy == 100.0 and report.accuracy_answered == 100.0
    assert set(report.by_type.values()) == {100.0} and set(report.by_group.values()) == {100.0}
    assert report.missing == 0 and report.coverage == 1.0


def test_one_unknown_and_one_missing(fixtures, nextqa_mc):
    report = evaluate(nextqa_mc, fixtures / "nextqa_mc" / "unknown_and_missing.json")
    assert (report.missing, report.unknown, report.malformed) == (1, 1, 0)
    assert report.examples == {"missing": ["1000000003_6"], "unknown": ["9999999999_1"]}
    # the 5 answered are all right; the missing one counts as wrong
    assert (report.answered, report.correct) == (5, 5)
    assert report.accuracy == 83.33 and report.accuracy_answered == 100.0
    assert report.by_type["DL"] == 0.0  # the missing question counts as wrong


def test_partial_file_counts_every_problem(fixtures, nextqa_mc):
    report = evaluate(nextqa_mc, fixtures / "nextqa_mc" / "partial.jsonl")
    # answered: _1 (right), _2 (index 7: invalid), _3 (unknown text: invalid), _5 (right,
    # the repeated row is ignored); missing: _4 (its row has no prediction) and _6
    assert (report.count, report.answered, report.correct) == (6, 4, 2)
    assert (report.missing, report.unknown, report.malformed, report.invalid) == (2, 1, 3, 2)
    assert report.accuracy == 33.33 and report.accuracy_answered == 50.0
    assert report.examples["invalid"] == ["1000000001_2", "1000000002_3"]
    assert report.examples["missing"] == ["1000000002_4", "1000000003_6"]
    assert [i.split(":")[1].split()[0] for i in report.issues] == ["5", "6", "8"]


def test_official_answer_field_is_checked_against_the_benchmark(tmp_path, nextqa_mc):
    rows = {s.qid: {"prediction": 0, "answer": 0} for s in nextqa_mc.samples}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(rows))
    report = evaluate(nextqa_mc, path)
    # the file claims answer 0 everywhere; only 1000000002_3 really is 0
    assert report.answer_mismatch == 5 and report.accuracy == 16.67


def test_choice_index():
    sample = QASample(qid="q", video_id="v", question="?", choices=("A b", "c", "A  B"), answer=0)
    assert choice_index(sample, 2) == 2
    assert choice_index(sample, 3) is None and choice_index(sample, -1) is None
    assert choice_index(sample, " a B ") == 0  # first of equal options
    assert choice_index(sample, "d") is None
    with pytest.raises(ValueError):
        choice_index(QASample(qid="q", video_id="v", question="?", answer="x"), 0)


def _synthetic(tmp_path) -> Benchmark:
    rows = []
    for i, qtype in enumerate(["DA", "RS", "TP", "CW", "TN"]):
        rows.append(
            {
                "qid": f"s{i}",
                "video_id": "v0",
                "question": f"question {i}?",
                "choices": ["a", "b", "c", "d", "e"],
                "answer": i % 5,
                "answer_text": "abcde"[i % 5],
                "qtype": qtype,
                "interval": [0.0, 1.0],
                "causal_frames": [0],
            }
        )
    path = tmp_path / "test.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return load_dataset("synthetic", path)


def test_synthetic_types_and_families(tmp_path):
    pytest.importorskip("videoqa.data.synthetic")  # another component, registered when present
    bench = _synthetic(tmp_path)
    preds = tmp_path / "p.json"
    # right: s0 (0), s2 (2); wrong: s1, s3, s4
    preds.write_text(json.dumps({"s0": 0, "s1": 0, "s2": 2, "s3": 0, "s4": 0}))
    report = evaluate(bench, preds)
    assert report.accuracy == 40.0
    # TP and TN are not merged (NExT-QA's TP -> TN is NExT-QA's own convention)
    assert report.by_type == {"CW": 0.0, "DA": 100.0, "RS": 0.0, "TN": 0.0, "TP": 100.0}
    assert report.by_group == {"C": 0.0, "D": 100.0, "R": 0.0, "T": 50.0}
    assert report.table["temporal"] == 50.0 and report.table["all"] == 40.0


def test_datasets_without_groups(fixtures):
    bench = load_dataset("msrvtt-qa", fixtures / "msrvtt_qa" / "test_qa.json")
    mc = bench.model_copy(
        update={
            "samples": [
                s.model_copy(update={"choices": ("dog", "man"), "answer": i % 2})
                for i, s in enumerate(bench.samples)
            ]
        }
    )
    report = evaluate(mc, fixtures / "msrvtt_qa" / "pred.jsonl")
    # answers 0, 1, 0: " Dog" picks option 0 (right); "cat", "woman" are no option (invalid)
    assert report.by_type == {"what": 50.0, "who": 0.0}
    assert report.by_group == {} and report.table == {} and report.invalid == 2


def test_open_ended_wups_hand_values(fixtures, requires_wordnet):
    bench = load_dataset("msrvtt-qa", fixtures / "msrvtt_qa" / "test_qa.json")
    report = evaluate(bench, fixtures / "msrvtt_qa" / "pred.jsonl")
    assert isinstance(report, OpenEndedReport)
    # " Dog"~dog: 1; cat~dog: wup 6/7 (0.1 x below 0.9); woman~man: 2/3 (0.1 x)
    assert report.accuracy == 33.33
    assert report.wups0 == round((1 + 6 / 7 + 2 / 3) / 3 * 100, 2) == 84.13
    assert report.wups9 == round((1 + 0.6 / 7 + 0.2 / 3) / 3 * 100, 2) == 38.41
    what, who = report.by_type["what"], report.by_type["who"]
    assert (what.accuracy, what.wups0, what.wups9, what.count) == (50.0, 92.86, 54.29, 2)
    assert (who.accuracy, who.wups0, who.wups9, who.count) == (0.0, 66.67, 6.67, 1)
    assert report.by_group == {}


def test_nextoe_protocol_matches_the_metric(fixtures, requires_wordnet):
    bench = load_dataset("nextqa-oe", fixtures / "nextqa_oe" / "val.csv")
    path = fixtures / "nextqa_oe" / "pred.json"
    report = evaluate(bench, path)
    preds = json.loads(path.read_text())
    samples = bench.samples
    official = nextoe_wups(
        [preds[s.qid] for s in samples], [s.answer for s in samples], [s.qtype for s in samples]
    )
    assert report.wups0 == official.wups0.overall.percent
    assert report.wups9 == official.wups9.overall.percent
    assert {k: r.wups0 for k, r in report.by_type.items()} == {
        k: r.percent for k, r in official.wups0.per_type.items()
    }
    assert {k: r.wups0 for k, r in report.by_group.items()} == {
        k: r.percent for k, r in official.wups0.per_group.items()
    }
    # DC "three" vs "two" is an exact-match type: 0 at both thresholds;
    # "the driver cabin" and "from the drivers cabin" both normalise to "driver cabin"
    assert report.by_type["DC"].wups0 == 0.0
    assert report.by_type["CH"].accuracy == 100.0 and report.by_type["DB"].wups9 == 100.0
    assert report.accuracy == 60.0


def test_open_ended_missing_answers_score_zero(tmp_path, fixtures, requires_wordnet):
    bench = load_dataset("msrvtt-qa", fixtures / "msrvtt_qa" / "test_qa.json")
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"0": "dog", "1": 3}))
    report = evaluate(bench, path)
    assert (report.missing, report.invalid) == (1, 1)  # "2" missing; an index for "1"
    assert report.accuracy == 33.33 and report.wups0 == 33.33


def test_dispatch_by_sample_kind(fixtures, nextqa_mc):
    assert benchmark_kind(nextqa_mc) is SampleKind.MULTIPLE_CHOICE
    oe = load_dataset("nextqa-oe", fixtures / "nextqa_oe" / "val.csv")
    assert benchmark_kind(oe) is SampleKind.OPEN_ENDED
    mixed = Benchmark[QASample](
        name="x",
        split="val",
        samples=[*nextqa_mc.samples[:1], *oe.samples[:1]],
        records=2,
    )
    with pytest.raises(DataFormatError, match="several kinds"):
        benchmark_kind(mixed)
    with pytest.raises(DataFormatError, match="no sample"):
        benchmark_kind(Benchmark[QASample](name="x", split="val", samples=[], records=0))
    assert protocol_for("nextqa-mc").groups and not protocol_for("msrvtt-qa").groups


def test_head_cuts_the_benchmark(fixtures, nextqa_mc):
    cut = head(nextqa_mc, 2)
    assert cut.ids == ["1000000001_1", "1000000001_2"] and cut.meta["limit"] == 2
    assert head(nextqa_mc, None) is nextqa_mc and head(nextqa_mc, 99) is nextqa_mc
    report = evaluate(cut, fixtures / "nextqa_mc" / "official.json")
    assert (report.count, report.unknown, report.accuracy) == (2, 4, 50.0)
