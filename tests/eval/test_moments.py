"""Scoring QVHighlights moment predictions: ground truth as predictions, hand-computed IoUs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from videoqa.data import load_dataset
from videoqa.data.schema import Benchmark
from videoqa.errors import DataFormatError
from videoqa.eval import MomentReport, evaluate, head

BRIEF_KEYS = {
    "MR-full-R1@0.5",
    "MR-full-R1@0.7",
    "MR-full-mAP",
    "MR-full-mAP@0.5",
    "MR-full-mAP@0.75",
    "MR-short-mAP",
    "MR-middle-mAP",
    "MR-long-mAP",
    "HL-min-Fair-mAP",
    "HL-min-Fair-Hit1",
    "HL-min-Good-mAP",
    "HL-min-Good-Hit1",
    "HL-min-VeryGood-mAP",
    "HL-min-VeryGood-Hit1",
}


def _ground_truth_as_predictions(bench: Benchmark, path: Path) -> Path:
    """Each labeled query's windows (score 1) and per-clip saliency = sum of annotators."""
    rows = []
    for s in bench.samples:
        if not s.relevant_windows:
            continue
        saliency = [0.0] * s.num_clips
        for clip, scores in zip(s.relevant_clip_ids, s.saliency_scores, strict=True):
            saliency[clip] = float(sum(scores))
        windows = [[start, end, 1.0] for start, end in s.relevant_windows]
        rows.append(
            {"qid": s.qid, "pred_relevant_windows": windows, "pred_saliency_scores": saliency}
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture()
def qv(fixtures) -> Benchmark:
    return load_dataset("qvhighlights", fixtures / "qvhighlights" / "val.jsonl")


def test_ground_truth_scores_100(tmp_path, qv):
    report = evaluate(qv, _ground_truth_as_predictions(qv, tmp_path / "gt.jsonl"))
    assert isinstance(report, MomentReport)
    assert set(report.brief) == BRIEF_KEYS
    # every saliency is 4/4/4: all relevant clips positive at every level
    assert {k: v for k, v in report.brief.items() if "short" not in k and "middle" not in k} == {
        k: 100.0 for k in BRIEF_KEYS if "short" not in k and "middle" not in k
    }
    # query 2's window [30, 50] is middle, [60, 70] short; a split keeps all predicted
    # windows (official semantics), so the other one is a false positive there
    assert report.brief["MR-middle-mAP"] == 100.0  # [30, 50] is ranked first: AP 1
    assert report.brief["MR-short-mAP"] == 75.0  # query 1: AP 1; query 2: FP first, AP 1/2
    assert report.details["full"]["MR-R1"]["0.95"] == 100.0
    assert report.split_queries == {"short": 2, "middle": 1, "long": 1, "full": 3}
    assert (report.count, report.answered, report.missing, report.unlabeled) == (4, 3, 0, 1)
    assert report.coverage == 1.0


def test_hand_computed_windows(fixtures, qv):
    report = evaluate(qv, fixtures / "qvhighlights" / "windows.jsonl")
    # query 3 predicts [0, 25] for [0, 40]: IoU 0.625, a hit up to the 0.6 threshold
    assert report.brief["MR-full-R1@0.5"] == 100.0
    assert report.brief["MR-full-R1@0.7"] == 66.67
    assert report.brief["MR-full-mAP@0.5"] == 100.0
    assert report.brief["MR-full-mAP@0.75"] == 66.67
    assert report.brief["MR-full-mAP"] == 76.67  # (3 x 1 + 7 x 2/3) / 10
    assert report.brief["MR-long-mAP"] == 30.0
    assert not any(k.startswith("HL") for k in report.brief)  # no saliency predicted
    assert (report.unknown, report.malformed, report.unlabeled) == (1, 1, 1)
    assert report.examples["unknown"] == ["77"]
    assert "ends before it starts" in report.issues[0]


def test_missing_queries_are_reported_and_empty_splits_are_null(tmp_path, qv):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"qid": 3, "pred_relevant_windows": [[0, 40, 1.0]]}) + "\n")
    report = evaluate(qv, path)
    assert report.missing == 2 and report.examples["missing"] == ["1", "2"]
    assert report.coverage == pytest.approx(1 / 3)
    assert report.brief["MR-full-mAP"] == 100.0 and report.brief["MR-short-mAP"] is None
    assert report.details["short"]["MR-R1"]["0.5"] is None
    json.dumps(report.model_dump(mode="json"), allow_nan=False)  # valid JSON


def test_no_labeled_prediction_is_an_error(tmp_path, qv):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"qid": 4, "pred_relevant_windows": [[0, 4, 1.0]]}) + "\n")
    with pytest.raises(DataFormatError, match="no prediction for a labeled query"):
        evaluate(qv, path)


def test_shared_val_ground_truth(tmp_path, shared_data):
    bench = load_dataset(
        "qvhighlights", shared_data / "qvhighlights" / "highlight_val_release.jsonl"
    )
    bench = head(bench, 200)
    report = evaluate(bench, _ground_truth_as_predictions(bench, tmp_path / "gt.jsonl"))
    assert report.brief["MR-full-R1@0.5"] == 100.0 and report.brief["MR-full-R1@0.7"] == 100.0
    assert report.brief["HL-min-Fair-Hit1"] == 100.0
    # only the first 10 predicted windows count: full mAP is 100 iff no query has more
    many = [s for s in bench.samples if len(s.relevant_windows) > 10]
    assert (report.brief["MR-full-mAP"] == 100.0) == (not many)
    assert report.missing == 0 and report.count == 200
