"""QVHighlights metrics: a 3-query set computed by hand, IoU/AP goldens, invariants."""

from __future__ import annotations

import json

import numpy as np
import pytest

from videoqa.errors import DataFormatError
from videoqa.metrics import MomentGroundTruth, MomentPrediction, qvhighlights_metrics
from videoqa.metrics.moment_retrieval import (
    IOU_THRESHOLDS,
    detection_average_precision,
    interpolated_ap,
    saliency_average_precision,
    temporal_iou_cross,
    temporal_iou_paired,
)

# Q1: 20 s video, one short window (10 s); predicted exactly.
# Q2: 40 s video, one middle window [10, 30]; first prediction [10, 20] (IoU 0.5) scores higher
#     than the exact one, so at IoU > 0.5 the ranking is FP then TP.
# Q3: 150 s video, two long windows; the best-scored prediction [0, 20] has IoU 0.5.
GT = [
    MomentGroundTruth(
        qid=1,
        duration=20,
        relevant_windows=[(0, 10)],
        relevant_clip_ids=[0, 1, 2, 3, 4],
        saliency_scores=[[4, 4, 4], [3, 3, 2], [2, 1, 0], [1, 1, 1], [0, 0, 0]],
    ),
    MomentGroundTruth(
        qid=2,
        duration=40,
        relevant_windows=[(10, 30)],
        relevant_clip_ids=list(range(5, 15)),
        saliency_scores=[[2, 2, 2]] * 10,
    ),
    MomentGroundTruth(
        qid=3,
        duration=150,
        relevant_windows=[(0, 40), (100, 150)],
        relevant_clip_ids=list(range(20)) + list(range(50, 75)),
        saliency_scores=[[4, 4, 4]] * 45,
    ),
]
Q2_SALIENCY = [9.0] + [0.0] * 4 + [5.0] * 10 + [0.0] * 5  # a negative clip ranked first
Q3_SALIENCY = [1.0 if (i < 20 or i >= 50) else 0.0 for i in range(75)]
PRED = [
    MomentPrediction(
        qid=1,
        pred_relevant_windows=[(0, 10, 0.9)],
        pred_saliency_scores=[5, 4, 3, 2, 1, 0, 0, 0, 0, 0],
    ),
    MomentPrediction(
        qid=2,
        pred_relevant_windows=[(10, 20, 0.9), (10, 30, 0.5)],
        pred_saliency_scores=Q2_SALIENCY,
    ),
    MomentPrediction(
        qid=3,
        pred_relevant_windows=[(100, 150, 0.8), (0, 20, 0.9)],
        pred_saliency_scores=Q3_SALIENCY,
    ),
]


def test_three_queries_by_hand() -> None:
    res = qvhighlights_metrics(PRED, GT)
    # AP per query: Q1 1 everywhere; Q2 1 at 0.5 and 0.5 above; Q3 1 at 0.5 and 0.25 above
    # (one TP at rank 2 of 2 gts: precision 1/2 over recall 0.5).
    assert res.brief == {
        "MR-full-R1@0.5": 100.0,
        "MR-full-R1@0.7": 66.67,  # Q2's first window has IoU 0.5
        "MR-full-mAP": 62.5,  # mean over thresholds of (1 + 0.55 + 0.325) / 3
        "MR-full-mAP@0.5": 100.0,
        "MR-full-mAP@0.75": 58.33,  # (1 + 0.5 + 0.25) / 3
        "MR-long-mAP": 32.5,
        "MR-middle-mAP": 55.0,
        "MR-short-mAP": 100.0,
        # Fair: Q2's AP = 10/11 for each annotator (one negative above 10 tied positives):
        # mean AP = (6 + 3 * 10/11) / 9 = 96.97; HIT@1: Q2's top clip is negative.
        "HL-min-Fair-mAP": 96.97,
        "HL-min-Fair-Hit1": 66.67,
        "HL-min-Good-mAP": 66.67,  # Q2 has no positive: AP 0
        "HL-min-Good-Hit1": 66.67,
        "HL-min-VeryGood-mAP": 66.67,
        "HL-min-VeryGood-Hit1": 66.67,
    }
    assert {k: v.num_queries for k, v in res.moment_retrieval.items()} == {
        "short": 1,
        "middle": 1,
        "long": 1,
        "full": 3,
    }


def test_official_layout() -> None:
    off = qvhighlights_metrics(PRED, GT).to_official_dict()
    assert list(off) == ["brief", "HL-min-Fair", "HL-min-Good", "HL-min-VeryGood"] + [
        "full",
        "long",
        "middle",
        "short",
    ]
    assert list(off["full"]["MR-mAP"]) == [str(t) for t in IOU_THRESHOLDS] + ["average"]
    assert off["HL-min-Fair"] == {"HL-mAP": 96.97, "HL-Hit1": 66.67}
    assert json.loads(json.dumps(off)) == off


def test_r1_non_increasing_in_iou() -> None:
    r1 = list(qvhighlights_metrics(PRED, GT).moment_retrieval["full"].r1.values())
    assert all(a >= b for a, b in zip(r1, r1[1:], strict=False))


def test_iou_goldens() -> None:
    iou = temporal_iou_cross(np.array([[0, 10], [5, 15]]), np.array([[0, 10], [10, 20], [30, 40]]))
    np.testing.assert_allclose(iou, [[1, 0, 0], [5 / 15, 5 / 15, 0]])
    np.testing.assert_allclose(temporal_iou_paired(np.array([[0, 10]]), np.array([[20, 30]])), [0])
    np.testing.assert_allclose(temporal_iou_paired(np.array([[5, 5]]), np.array([[5, 5]])), [0])


def test_detection_ap_by_hand() -> None:
    gts = np.array([[0, 10], [20, 30]])
    preds = np.array([[0, 10, 0.9], [40, 50, 0.8], [20, 28, 0.7]])
    ap = detection_average_precision(gts, preds, IOU_THRESHOLDS)
    # IoU(third, [20,30]) = 0.8 (counts at 0.8): TP FP TP -> 0.5 * 1 + 0.5 * 2/3
    np.testing.assert_allclose(ap[:7], 0.5 + 0.5 * 2 / 3)
    np.testing.assert_allclose(ap[7:], 0.5)  # TP FP FP
    assert detection_average_precision(gts, np.zeros((0, 3)), IOU_THRESHOLDS).tolist() == [0] * 10
    # a gt matched once: the duplicate is a false positive
    dup = detection_average_precision(gts[:1], np.array([[0, 10, 1], [0, 10, 1]]), [0.5])
    np.testing.assert_allclose(dup, [1.0])


def test_interpolated_ap() -> None:
    assert interpolated_ap(np.array([0.0, 0.5]), np.array([0.0, 1.0])) == 0.5
    assert interpolated_ap(np.array([1.0, 0.5, 2 / 3]), np.array([0.5, 0.5, 1.0])) == pytest.approx(
        5 / 6
    )


def test_saliency_ap() -> None:
    y = np.array([0, 1, 1, 0])
    assert saliency_average_precision(y, np.array([0.1, 0.9, 0.8, 0.2])) == 1.0
    # ranking 0 1 1 0 -> precision 1/2 at recall 1/2, 2/3 at recall 1 -> interpolated mean
    assert saliency_average_precision(y, np.array([0.9, 0.8, 0.7, 0.1])) == pytest.approx(2 / 3)
    assert saliency_average_precision(np.zeros(3), np.ones(3)) == 0.0
    assert saliency_average_precision(np.ones(3), np.zeros(3)) == 1.0
    with pytest.raises(DataFormatError):
        saliency_average_precision(np.array([0, 2]), np.array([1, 0]))


def test_saliency_ap_matches_sklearn_curve() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for _ in range(50):
        y = rng.integers(0, 2, 30)
        if y.min() == y.max():
            continue
        s = rng.integers(0, 5, 30).astype(float)  # many ties
        precision, recall, _ = metrics.precision_recall_curve(y, s)
        precision = np.maximum.accumulate(precision)
        steps = np.nonzero(np.diff(recall.astype(np.float32)))
        assert saliency_average_precision(y, s) == pytest.approx(np.mean(precision[steps]))


def test_data_errors() -> None:
    with pytest.raises(DataFormatError, match="qids differ"):
        qvhighlights_metrics(PRED[:2], GT)
    part = qvhighlights_metrics(PRED[:2], GT, match_number=False)
    assert part.brief["MR-full-R1@0.5"] == 100.0
    assert part.moment_retrieval["long"].num_queries == 0
    assert np.isnan(part.brief["MR-long-mAP"])  # an empty split is NaN, as the official prints
    with pytest.raises(DataFormatError, match="duplicate"):
        qvhighlights_metrics([*PRED, PRED[0]], GT)
    empty = MomentPrediction(qid=1, pred_relevant_windows=[], pred_saliency_scores=[1.0])
    with pytest.raises(DataFormatError, match="no predicted windows"):
        qvhighlights_metrics([empty, *PRED[1:]], GT)
    bad_gt = GT[0].model_copy(update={"relevant_clip_ids": [0, 1, 2, 3, 40]})
    with pytest.raises(DataFormatError, match="clip ids"):
        qvhighlights_metrics(PRED, [bad_gt, *GT[1:]])


def test_mr_only_predictions() -> None:
    mr_only = [
        MomentPrediction(qid=p.qid, pred_relevant_windows=p.pred_relevant_windows) for p in PRED
    ]
    res = qvhighlights_metrics(mr_only, GT)
    assert res.highlight == {} and not any(k.startswith("HL") for k in res.brief)


def test_ground_truth_as_predictions_scores_100(shared_data) -> None:
    path = shared_data / "qvhighlights" / "highlight_val_release.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    gts = [MomentGroundTruth.model_validate_json(line) for line in path.read_text().splitlines()]

    def as_prediction(g: MomentGroundTruth) -> MomentPrediction:
        windows = [(s, e, 1.0) for s, e in g.relevant_windows]
        return MomentPrediction(qid=g.qid, pred_relevant_windows=windows)

    full = qvhighlights_metrics([as_prediction(g) for g in gts], gts).moment_retrieval["full"]
    assert set(full.r1.values()) == {100.0}
    # the official keeps 10 predicted windows: queries with more gt windows lose recall
    assert full.mean_ap["average"] < 100.0
    few = [g for g in gts if len(g.relevant_windows) <= 10]
    assert len(few) < len(gts)
    full = qvhighlights_metrics([as_prediction(g) for g in few], few).moment_retrieval["full"]
    assert set(full.r1.values()) == {100.0} and set(full.mean_ap.values()) == {100.0}
