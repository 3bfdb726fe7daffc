"""Prediction files: every accepted layout, malformed rows, alignment with a benchmark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from videoqa.data import load_dataset
from videoqa.data.readers import Record, Row
from videoqa.data.schema import Benchmark, MomentSample, QASample
from videoqa.errors import DataFormatError
from videoqa.eval.predictions import (
    AnswerPrediction,
    NoUsablePredictionsError,
    PredictionFormat,
    PredictionRows,
    PredictionsNotFoundError,
    align_predictions,
    read_moment_predictions,
    read_predictions,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def nextqa() -> Benchmark:
    return load_dataset("nextqa-mc", FIXTURES / "nextqa" / "val.csv")


def test_nextqa_official_format(tmp_path):
    text = (
        "{\n"
        '  "4010069381_6": {"prediction": 0, "answer": 0},\n'
        '  "4882821564_1": {"prediction": 3, "answer": 2},\n'
        '  "6666666666_1": {"prediction": 1.5, "answer": 4},\n'
        '  "7777777777_1": {"answer": 1}\n'
        "}\n"
    )
    preds = read_predictions(_write(tmp_path, "results.json", text))
    assert preds.format is PredictionFormat.NEXTQA and preds.source == "results.json"
    assert preds.items["4882821564_1"] == AnswerPrediction(
        qid="4882821564_1", prediction=3, answer=2, line=3
    )
    assert len(preds) == 2 and preds.records == 4 and preds.malformed == 2
    assert [(i.line, i.key) for i in preds.issues] == [(4, "6666666666_1"), (5, "7777777777_1")]
    assert preds.issues[0].reason == "prediction must be an option index or a text, got 1.5"
    assert preds.issues[1].reason == "missing field 'prediction'"


def test_plain_mapping_with_text_and_index(tmp_path):
    text = '{"a": 2, "b": "a red car", "c": true, "d": null, "e": [1]}'
    path = _write(tmp_path, "p.json", text)
    with pytest.raises(NoUsablePredictionsError, match="3 of 5 records are not usable mapping"):
        read_predictions(path)  # mostly malformed
    preds = read_predictions(path, strict=False)
    assert preds.format is PredictionFormat.MAPPING
    assert {k: v.prediction for k, v in preds.items.items()} == {"a": 2, "b": "a red car"}
    assert preds.items["a"].answer is None
    assert [i.key for i in preds.issues] == ["c", "d", "e"]


def test_json_lines_and_arrays(tmp_path):
    lines = (
        '{"qid": "a", "prediction": 1}\n'
        '{"qid": 7, "prediction": "dog"}\n'
        "\n"
        "not json\n"
        '{"prediction": 2}\n'
        '{"qid": "a", "prediction": 3}\n'
        '["qid", "b"]\n'
    )
    preds = read_predictions(_write(tmp_path, "p.jsonl", lines), strict=False)
    assert preds.format is PredictionFormat.JSON_LINES
    assert {k: (v.prediction, v.line) for k, v in preds.items.items()} == {
        "a": (1, 1),
        "7": ("dog", 2),
    }
    assert [i.line for i in preds.issues] == [4, 5, 6, 7]
    assert preds.issues[2].reason == "second prediction for 'a' (first on line 1), ignored"
    assert preds.records == 6
    single = read_predictions(_write(tmp_path, "one.jsonl", '{"qid": "x", "prediction": 0}'))
    assert single.format is PredictionFormat.JSON_LINES and list(single.items) == ["x"]
    array = read_predictions(
        _write(tmp_path, "p.json", '[{"qid": "a", "prediction": 1},\n {"qid": "b"}]')
    )
    assert list(array.items) == ["a"] and [(i.line, i.key) for i in array.issues] == [(2, "b")]


def test_unreadable_prediction_files(tmp_path):
    with pytest.raises(DataFormatError, match=r"b.json:4:1: broken JSON: Expecting value"):
        read_predictions(_write(tmp_path, "b.json", '{\n  "a": 1,\n  "b": \n}'))
    broken_first = read_predictions(
        _write(tmp_path, "l.jsonl", '{"qid": "a", "predic\n{"qid": "b", "prediction": 2}\n')
    )
    assert list(broken_first.items) == ["b"] and broken_first.issues[0].line == 1
    with pytest.raises(DataFormatError, match=r"d.json:2:7: broken JSON: Expecting value"):
        read_predictions(_write(tmp_path, "d.json", '{"a": 1,\n "b": }'))
    with pytest.raises(DataFormatError, match="expected a JSON object"):
        read_predictions(_write(tmp_path, "c.txt", "a,1\n"))
    with pytest.raises(PredictionsNotFoundError, match="^predictions file not found: none.json"):
        read_predictions(tmp_path / "none.json")
    assert issubclass(PredictionsNotFoundError, FileNotFoundError)


def test_alignment_counts(tmp_path, nextqa):
    preds = {
        "4010069381_6": {"prediction": 0, "answer": 0},
        "4882821564_1": {"prediction": 7, "answer": 1},
        "9999999999_1": {"prediction": 1, "answer": 1},
    }
    path = _write(tmp_path, "r.json", json.dumps(preds))
    aligned = align_predictions(read_predictions(path), nextqa)
    assert [(s.qid, p.prediction) for s, p in aligned.pairs] == [
        ("4010069381_6", 0),
        ("4882821564_1", 7),
    ]
    assert aligned.missing == ["6666666666_1"]
    assert aligned.unknown == ["9999999999_1"]
    assert aligned.answer_mismatch == ["4882821564_1"]  # the file says 1, the benchmark 2
    assert aligned.invalid == ["4882821564_1"]  # index 7 of 5 choices


def test_alignment_open_ended(tmp_path, nextqa):
    oe = load_dataset("nextqa-oe", FIXTURES / "nextqa_oe" / "val.csv")
    lines = "\n".join(
        json.dumps(r)
        for r in [
            {"qid": "3233088823_1", "prediction": "yes", "answer": " yes"},
            {"qid": "3233088823_2", "prediction": 1},
            {"qid": "4189100053_4", "prediction": "cry", "answer": "cry"},
        ]
    )
    aligned = align_predictions(read_predictions(_write(tmp_path, "oe.jsonl", lines)), oe)
    assert len(aligned.pairs) == 3 and aligned.unknown == []
    assert aligned.missing == ["3233088823_3", "4189100053_5"]
    assert aligned.invalid == ["3233088823_2"]  # an index for an open-ended question
    assert aligned.answer_mismatch == ["4189100053_4"]


def test_qvhighlights_predictions(tmp_path):
    rows = [
        {
            "qid": 5071,
            "query": "q",
            "vid": "v",
            "pred_relevant_windows": [[118, 124, 0.9], [0, 2, 0.1]],
            "pred_saliency_scores": [0.5, -1.0, 2],
        },
        {"qid": 9001, "pred_saliency_scores": [0.1]},
        {"qid": 9002, "pred_relevant_windows": [[10, 4, 0.3]]},
        {"qid": 9003, "pred_relevant_windows": [[1, 2]]},
        {"qid": 9004, "query": "nothing predicted"},
        {"qid": 9005, "pred_relevant_windows": [[1, 2, 0.5]], "pred_saliency_scores": "high"},
        {"qid": 4242, "pred_relevant_windows": []},
    ]
    path = _write(tmp_path, "hl_val_submission.jsonl", "\n".join(json.dumps(r) for r in rows))
    with pytest.raises(NoUsablePredictionsError, match="4 of 7 records are not usable"):
        read_moment_predictions(path)
    preds = read_moment_predictions(path, strict=False)
    assert preds.format is PredictionFormat.QVHIGHLIGHTS
    first = preds.items["5071"]
    assert first.windows == ((118.0, 124.0, 0.9), (0.0, 2.0, 0.1))
    assert first.saliency == (0.5, -1.0, 2.0) and first.line == 1
    assert preds.items["9001"].windows == () and preds.items["4242"].saliency is None
    assert [(i.line, i.key) for i in preds.issues] == [
        (3, "9002"),
        (4, "9003"),
        (5, "9004"),
        (6, "9005"),
    ]
    assert preds.issues[1].reason == "window [1, 2] is not [start, end, score]"
    bench = load_dataset("qvhighlights", FIXTURES / "qvhighlights" / "highlight_val_release.jsonl")
    aligned = align_predictions(preds, bench)
    assert [s.qid for s, _ in aligned.pairs] == ["5071", "9001"]
    assert aligned.missing == ["9004"] and aligned.unknown == ["4242"]
    assert isinstance(aligned.pairs[0][0], MomentSample)
    assert aligned.answer_mismatch == [] and aligned.invalid == []


def test_alignment_of_an_empty_file(tmp_path):
    bench = Benchmark[QASample](
        name="x",
        split="s",
        samples=[QASample(qid="q", video_id="v", question="?", answer="a")],
        records=1,
    )
    empty = _write(tmp_path, "e.json", "{}")
    with pytest.raises(NoUsablePredictionsError, match="no prediction records"):
        read_predictions(empty)
    aligned = align_predictions(read_predictions(empty, strict=False), bench)
    assert aligned.pairs == [] and aligned.missing == ["q"] and aligned.unknown == []


def test_prediction_rows_first_id_wins_and_bad_rows_are_issues():
    rows: PredictionRows[AnswerPrediction] = PredictionRows("p.jsonl", lambda p: p.qid, "guess")

    def parse(rec: Record) -> AnswerPrediction:
        row = Row(rec.value)
        return AnswerPrediction(qid=row.text("qid"), prediction=row.raw("p"), line=rec.line)

    records = [
        Record(1, None, {"qid": "a", "p": 1}),
        Record(2, None, {"qid": "a", "p": 2}),
        Record(3, None, None, "not valid JSON"),
        Record(4, None, {"id": 9, "p": 0}),
        Record(5, None, {"qid": "b", "p": 1.5}),
    ]
    kept = [rows.add(rec, parse) for rec in records]
    assert [k.prediction if k else None for k in kept] == [1, None, None, None, None]
    assert rows.records == 5 and list(rows.items) == ["a"]
    assert [(i.line, i.key) for i in rows.issues] == [(2, "a"), (3, None), (4, "9"), (5, "b")]
    assert rows.issues[0].reason == "second guess for 'a' (first on line 1), ignored"
    assert rows.issues[1].reason == "not valid JSON" and rows.issues[0].source == "p.jsonl"
