"""The official prediction layouts (tests/fixtures/predictions, written from each
repository's documentation): detection, forcing, scores, and the errors of files that
cannot be used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from videoqa.data import load_dataset
from videoqa.errors import DataFormatError, UsageError
from videoqa.eval import evaluate
from videoqa.eval.predictions import (
    NoUsablePredictionsError,
    PredictionFormat,
    align_predictions,
    forced_format,
    read_moment_predictions,
    read_predictions,
)

TESTS = Path(__file__).resolve().parents[1]
PRED = TESTS / "fixtures" / "predictions"
EVAL = TESTS / "fixtures" / "eval"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("path", "fmt", "first"),
    [
        (EVAL / "nextqa_mc" / "official.json", "nextqa", ("1000000001_1", 1, 1)),
        (PRED / "nextoe" / "results.json", "nextoe", ("3233088823_3", "the driver cabin", None)),
        (PRED / "tvqa" / "qid2preds_valid.json", "mapping", ("7", 4, None)),
        (PRED / "star" / "submission.json", "star", ("Interaction_T1_13", 1, None)),
        (PRED / "activitynet_qa" / "pred_val.json", "activitynet-qa", ("v_TIEzvhv6xaI_2", "yes", None)),
        (PRED / "activitynet_qa" / "video_chatgpt.json", "video-chatgpt", ("v_TIEzvhv6xaI_2", "yes", "yes")),
        (PRED / "msrvtt_qa" / "video_chatgpt.jsonl", "video-chatgpt", ("158581", "man", "man")),
        (PRED / "msvd_qa" / "video_chatgpt.json", "video-chatgpt", ("30933", "dog", "dog")),
        (PRED / "agqa" / "test_preds.json", "agqa", ("d1Xc0YHt", "Yes", "Yes")),
        (PRED / "lmms_eval" / "samples_nextqa_mc_test.jsonl", "lmms-eval", ("doc_id:0", 1, 1)),
        (PRED / "lmms_eval" / "nextqa_oe_val.json", "lmms-eval", ("3233088823_2", "three", "two")),
        (EVAL / "msrvtt_qa" / "pred.jsonl", "jsonl", ("0", " Dog", None)),
    ],
)  # fmt: skip
def test_each_layout_is_detected(path, fmt, first):
    preds = read_predictions(path)
    assert preds.format is PredictionFormat(fmt) and preds.malformed == 0
    qid, prediction, answer = first
    item = next(iter(preds.items.values()))
    assert (item.qid, item.prediction, item.answer) == (qid, prediction, answer)
    # forcing the detected layout reads the same
    assert read_predictions(path, fmt) == preds
    with forced_format(fmt):
        assert read_predictions(path) == preds


def test_nextoe_nested_ids_and_lines():
    preds = read_predictions(PRED / "nextoe" / "results.json")
    assert {q: (p.prediction, p.line) for q, p in preds.items.items()} == {
        "3233088823_3": ("the driver cabin", 3),
        "3233088823_2": ("three", 4),
        "4189100053_4": ("laugh", 7),
        "4189100053_6": ("no", 8),
        "4189100053_5": ("cry", 9),
    }


def test_multiple_choice_layouts_score():
    star = load_dataset("star", PRED / "star" / "STAR_val.json")
    report = evaluate(star, PRED / "star" / "submission.json")
    assert (report.accuracy, report.answered, report.malformed) == (75.0, 4, 0)
    assert report.by_type == {
        "Interaction": 100.0,
        "Sequence": 0.0,
        "Prediction": 100.0,
        "Feasibility": 100.0,
    }
    tvqa = load_dataset("tvqa", PRED / "tvqa" / "tvqa_val.jsonl")
    assert evaluate(tvqa, PRED / "tvqa" / "qid2preds_valid.json").accuracy == 75.0


def test_lmms_eval_samples_without_docs_follow_the_file_order():
    bench = load_dataset("nextqa-mc", EVAL / "nextqa_mc" / "val.csv")
    path = PRED / "lmms_eval" / "samples_nextqa_mc_test.jsonl"
    aligned = align_predictions(read_predictions(path), bench)
    assert [s.qid for s, _ in aligned.pairs] == [s.qid for s in bench.samples]
    assert [p.prediction for _, p in aligned.pairs] == [1, 0, 0, 3, "The answer is five", 2]
    assert aligned.answer_mismatch == [] and aligned.unknown == []
    report = evaluate(bench, path)
    # B, A (wrong), (A), D, text matching no option (invalid), C
    assert (report.accuracy, report.correct, report.invalid) == (66.67, 4, 1)


def test_lmms_eval_in_another_order_is_refused(tmp_path):
    bench = load_dataset("nextqa-mc", EVAL / "nextqa_mc" / "val.csv")
    rows = [json.loads(x) for x in (PRED / "lmms_eval" / "samples_nextqa_mc_test.jsonl").open()]
    for i, row in enumerate(rows):
        row["doc_id"] = len(rows) - 1 - i
    path = _write(tmp_path, "samples.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(NoUsablePredictionsError, match="not in the task's order"):
        evaluate(bench, path)


def test_lmms_eval_likelihoods_and_filters(tmp_path):
    bench = load_dataset("nextqa-mc", EVAL / "nextqa_mc" / "val.csv")
    rows = [
        {"doc_id": 0, "target": "1", "filtered_resps": [[-3.0, False], [-1.0, True], [-2.0, False]],
         "filter": "none"},
        {"doc_id": 0, "target": "1", "filtered_resps": ["E"], "filter": "strict"},
        {"doc_id": 1, "target": "2", "filtered_resps": ["C. pushed it"], "filter": "none"},
        {"doc_id": 1, "target": "2", "filtered_resps": ["A"], "filter": "strict"},
    ]  # fmt: skip
    path = _write(tmp_path, "samples.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    preds = read_predictions(path)
    assert preds.records == 2  # the first filter's rows
    assert [p.prediction for p in preds.items.values()] == [1, 2]
    assert evaluate(bench, path).correct == 2


@pytest.mark.usefixtures("requires_wordnet")
def test_open_ended_layouts_score():
    oe = load_dataset("nextqa-oe", EVAL / "nextqa_oe" / "val.csv")
    flat = evaluate(oe, EVAL / "nextqa_oe" / "pred.json")
    for path in (PRED / "nextoe" / "results.json", PRED / "lmms_eval" / "nextqa_oe_val.json"):
        report = evaluate(oe, path)
        assert report.model_copy(update={"predictions": flat.predictions}) == flat
    anet = load_dataset("activitynet-qa", PRED / "activitynet_qa" / "val_q.json")
    official = evaluate(anet, PRED / "activitynet_qa" / "pred_val.json")
    assert (official.accuracy, official.answered) == (75.0, 4)  # blue for red
    chatgpt = evaluate(anet, PRED / "activitynet_qa" / "video_chatgpt.json")
    assert (chatgpt.accuracy, chatgpt.answer_mismatch) == (50.0, 0)
    msrvtt = load_dataset("msrvtt-qa", PRED / "msrvtt_qa" / "test_qa.json")
    assert evaluate(msrvtt, PRED / "msrvtt_qa" / "video_chatgpt.jsonl").accuracy == 66.67
    msvd = load_dataset("msvd-qa", PRED / "msvd_qa" / "test_qa.json")
    assert evaluate(msvd, PRED / "msvd_qa" / "video_chatgpt.json").accuracy == 33.33
    agqa = load_dataset("agqa", PRED / "agqa" / "test_balanced.txt")
    report = evaluate(agqa, PRED / "agqa" / "test_preds.json")
    assert (report.accuracy, report.answer_mismatch) == (66.67, 0)


def test_a_file_of_no_known_layout_names_the_formats_tried():
    windows = EVAL / "qvhighlights" / "windows.jsonl"
    with pytest.raises(NoUsablePredictionsError) as err:
        read_predictions(windows)
    assert str(err.value) == (
        "windows.jsonl: matches none of the prediction formats (tried: lmms-eval, agqa, "
        "video-chatgpt, jsonl, activitynet-qa); first record: line 1: "
        '{"qid": 1, "pred_relevant_windows": [[10, 20, 0.9]]}'
    )
    with pytest.raises(UsageError, match="for moment benchmarks"):
        read_predictions(windows, "qvhighlights")
    with pytest.raises(UsageError, match="unknown prediction format 'csv'"):
        read_predictions(windows, "csv")
    with pytest.raises(UsageError, match="is for question answering"):
        read_moment_predictions(windows, "star")
    assert len(read_moment_predictions(windows, "qvhighlights")) == 4


def test_a_forced_layout_that_does_not_fit():
    with pytest.raises(NoUsablePredictionsError) as err:
        read_predictions(PRED / "tvqa" / "qid2preds_valid.json", "star")
    assert str(err.value) == (
        "qid2preds_valid.json: 4 of 4 records are not usable star predictions (formats "
        "tried: star); first offending record (line 1, id '7'): 4 — expected a list of "
        "records under '7'"
    )
    with pytest.raises(NoUsablePredictionsError, match="predictions are rows"):
        read_predictions(PRED / "tvqa" / "qid2preds_valid.json", "agqa")


def test_mostly_malformed_files_fail_and_half_good_ones_pass(tmp_path):
    rows = ['{"qid": "a", "prediction": 1}', '{"qid": "b"}', '{"qid": "c", "prediction": 1.5}']
    with pytest.raises(NoUsablePredictionsError) as err:
        read_predictions(_write(tmp_path, "p.jsonl", "\n".join(rows)))
    assert str(err.value) == (
        "p.jsonl: 2 of 3 records are not usable jsonl predictions (formats tried: lmms-eval, "
        "agqa, video-chatgpt, jsonl, activitynet-qa); first offending record (line 2, id "
        """'b'): {"qid": "b"} — missing field 'prediction'"""
    )
    ok = read_predictions(_write(tmp_path, "q.jsonl", "\n".join(rows[:2])))
    assert list(ok.items) == ["a"] and ok.malformed == 1


def test_truncated_json_keeps_its_position(tmp_path):
    whole = json.dumps({"a": {"prediction": 1, "answer": 1}, "b": {"prediction": 2, "answer": 0}})
    with pytest.raises(DataFormatError) as err:
        read_predictions(_write(tmp_path, "r.json", whole[:41]))
    assert str(err.value) == (
        "r.json:1:42: broken JSON: Expecting ':' delimiter (character 41 of 41) "
        "(the file ends there: is it truncated?)"
    )
    with pytest.raises(DataFormatError) as err:
        read_predictions(_write(tmp_path, "r.json", whole[:50]))
    assert str(err.value) == (
        "r.json:1:45: broken JSON: Unterminated string starting at (character 44 of 50) "
        "(the file ends there: is it truncated?)"
    )
    nested = (PRED / "nextoe" / "results.json").read_text()[:70]
    with pytest.raises(
        DataFormatError, match=r"results.json:4:14: broken JSON: Unterminated string.*truncated"
    ):
        read_predictions(_write(tmp_path, "results.json", nested))


def test_settings_line_is_not_a_record(tmp_path):
    text = (
        '{"videoqa_settings": {"model": "tiny", "frames": 4}}\n'
        '{"qid": "1000000001_1", "prediction": 1, "model": "tiny"}\n'
    )
    preds = read_predictions(_write(tmp_path, "run.jsonl", text))
    assert preds.records == 1 and preds.items["1000000001_1"].line == 2
    only = _write(tmp_path, "empty.jsonl", '{"videoqa_settings": {"model": "tiny"}}\n')
    with pytest.raises(NoUsablePredictionsError, match="no prediction records"):
        read_predictions(only)
