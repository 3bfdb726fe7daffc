"""Scoring quality predictions against a MOS table, and reading quality prediction files."""

from __future__ import annotations

import json

import pytest

from videoqa.data import load_dataset
from videoqa.errors import DataFormatError, UsageError
from videoqa.eval import QualityReport, evaluate, read_quality_predictions


@pytest.fixture()
def mos(fixtures):
    return load_dataset("mos-csv", fixtures / "mos" / "mos.csv")


def test_perfect_monotone_prediction(fixtures, mos):
    # predictions are 10 * MOS^2: a monotone, non-linear map of the MOS
    report = evaluate(mos, fixtures / "mos" / "monotone.json")
    assert isinstance(report, QualityReport)
    assert report.srcc == pytest.approx(1.0) and report.krcc == pytest.approx(1.0)
    assert report.plcc > 0.99 and report.rmse < 0.15
    assert (report.count, report.answered, report.missing, report.unknown) == (6, 6, 0, 0)


def test_partial_file_reverse_order(fixtures, mos):
    report = evaluate(mos, fixtures / "mos" / "partial.jsonl")
    # v1..v5 scored in reverse order of their MOS; v6's score is text; zz is unknown
    assert report.srcc == pytest.approx(-1.0) and report.krcc == pytest.approx(-1.0)
    assert (report.answered, report.missing, report.unknown, report.malformed) == (5, 1, 1, 1)
    assert report.examples == {"missing": ["v6"], "unknown": ["zz"]}
    assert report.issues == ["partial.jsonl:7 [v6]: field 'score' must be a number, got 'high'"]


def test_reader_layouts(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"a": 1.5, "b": {"score": 2}, "c": "x", "a": 3}')
    preds = read_quality_predictions(path)
    assert {k: v.score for k, v in preds.items.items()} == {"a": 1.5, "b": 2.0}
    assert [i.key for i in preds.issues] == ["c", "a"] and preds.records == 4
    lines = tmp_path / "b.jsonl"
    lines.write_text('{"video": "a", "prediction": 1}\n{"name": "b", "mos": 2}\n{"score": 3}\n')
    preds = read_quality_predictions(lines)
    assert list(preds.items) == ["a", "b"] and preds.issues[0].line == 3
    single = tmp_path / "c.jsonl"
    single.write_text(json.dumps({"video_id": "a", "score": 0.5}))
    assert list(read_quality_predictions(single).items) == ["a"]
    array = tmp_path / "d.json"
    array.write_text('[{"video_id": "a", "score": 1}, {"video_id": "b", "score": NaN}]')
    preds = read_quality_predictions(array)
    assert list(preds.items) == ["a"] and len(preds.issues) == 1
    with pytest.raises(DataFormatError, match="expected a JSON"):
        bad = tmp_path / "e.csv"
        bad.write_text("a,1\n")
        read_quality_predictions(bad)


def test_too_few_videos(tmp_path, mos):
    path = tmp_path / "p.json"
    path.write_text('{"v1": 1, "v2": 2, "v3": 3}')
    with pytest.raises(UsageError, match="at least 4"):
        evaluate(mos, path)
