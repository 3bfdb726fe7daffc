"""QVHighlights moment retrieval and highlight detection metrics, as the official evaluator.

Source: Lei et al., "QVHighlights: Detecting Moments and Highlights in Videos via Natural
Language Queries" (Moment-DETR), NeurIPS 2021, Sec. 5.1; official script
``standalone_eval/eval.py`` and ``utils.py`` of ``jayleicn/moment_detr``. Semantics
reproduced exactly:

* **MR R1@IoU**: the *first* predicted window in list order (not the best scored) against
  the ground-truth window it overlaps most; IoU >= threshold counts a hit.
* **MR mAP@IoU**: per query, the first 10 predicted windows (list order) are sorted by
  score (stable) and greedily matched to unmatched ground-truth windows in decreasing
  IoU order; AP uses VOC-style interpolation (precision made monotone, summed over recall
  steps); the mean over queries, then over IoU 0.50:0.05:0.95 for ``average``.
* **length splits** (ground-truth window length ``l`` s): short ``0 < l <= 10``, middle
  ``10 < l <= 30``, long ``30 < l <= 150``; a query stays with only its windows in the
  split and is dropped if none is; ``full`` keeps everything.
* **HL** (2 s clips; ``num_clips = int(duration / 2)``): a clip is positive for an
  annotator when its saliency >= 2 (Fair), 3 (Good) or 4 (VeryGood). HIT@1: the clip
  with the highest predicted score (first on ties) scores 1 when *any* of the 3
  annotators marks it positive, averaged over queries. mAP: AP per (query, annotator)
  with the predicted scores zero-padded or cut to the number of clips, averaged over all.
  ("min" in ``HL-min-Fair`` is the minimum saliency of a positive clip.)
* every number is ``float(f"{100 * v:.2f}")``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from videoqa.errors import DataFormatError
from videoqa.metrics.registry import METRICS

#: IoU thresholds 0.5, 0.55, …, 0.95 as the official script rounds them.
IOU_THRESHOLDS: tuple[float, ...] = tuple(float(f"{e:.2f}") for e in np.linspace(0.5, 0.95, 10))
#: Split name → (min, max] ground-truth window length in seconds; ``full`` keeps all.
LENGTH_RANGES: dict[str, tuple[float, float]] = {
    "short": (0.0, 10.0),
    "middle": (10.0, 30.0),
    "long": (30.0, 150.0),
    "full": (0.0, 150.0),
}
#: Highlight level name → minimum saliency (0–4 scale) of a positive clip.
SALIENCY_LEVELS: dict[str, int] = {"Fair": 2, "Good": 3, "VeryGood": 4}
CLIP_LENGTH = 2.0
MAX_PRED_WINDOWS = 10
NUM_ANNOTATORS = 3


class MomentGroundTruth(BaseModel):
    """One QVHighlights query's annotation (a ``highlight_*_release.jsonl`` line).

    Attributes:
        qid: query id.
        duration: video length in seconds.
        relevant_windows: ``(start, end)`` windows in seconds.
        relevant_clip_ids: indices of the relevant 2 s clips.
        saliency_scores: per relevant clip, one 0–4 score per annotator.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    qid: int | str
    duration: float = Field(ge=0)
    relevant_windows: list[tuple[float, float]]
    relevant_clip_ids: list[int] = Field(default_factory=list)
    saliency_scores: list[list[float]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> MomentGroundTruth:
        if len(self.relevant_clip_ids) != len(self.saliency_scores):
            raise ValueError(
                f"qid {self.qid}: {len(self.relevant_clip_ids)} clip ids but "
                f"{len(self.saliency_scores)} saliency rows"
            )
        for start, end in self.relevant_windows:
            if end < start:
                raise ValueError(f"qid {self.qid}: window end before start: {(start, end)}")
        return self


class MomentPrediction(BaseModel):
    """One query's predictions (a submission line).

    Attributes:
        qid: query id.
        pred_relevant_windows: ``(start, end, score)``, seconds; only the first 10 count
            for mAP and only the first for R1@IoU.
        pred_saliency_scores: one score per 2 s clip of the video, higher = more salient.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    qid: int | str
    pred_relevant_windows: list[tuple[float, float, float]] | None = None
    pred_saliency_scores: list[float] | None = None


class MomentRetrievalScores(BaseModel):
    """MR metrics of one length split, percent (2 dp).

    Attributes:
        num_queries: queries in the split.
        mean_ap: IoU threshold (``"0.5"`` … ``"0.95"``) or ``"average"`` → mAP.
        r1: IoU threshold → recall@1.
    """

    model_config = ConfigDict(frozen=True)

    num_queries: int
    mean_ap: dict[str, float]
    r1: dict[str, float]


class HighlightScores(BaseModel):
    """HL metrics at one saliency level, percent (2 dp)."""

    model_config = ConfigDict(frozen=True)

    mean_ap: float
    hit1: float


class QVHighlightsMetrics(BaseModel):
    """All QVHighlights metrics.

    Attributes:
        brief: the official headline numbers (``MR-full-R1@0.5`` … ``HL-min-VeryGood-Hit1``).
        moment_retrieval: split (``full``, ``short``, ``middle``, ``long``) → scores.
        highlight: ``HL-min-Fair`` / ``HL-min-Good`` / ``HL-min-VeryGood`` → scores.
    """

    model_config = ConfigDict(frozen=True)

    brief: dict[str, float]
    moment_retrieval: dict[str, MomentRetrievalScores]
    highlight: dict[str, HighlightScores]

    def to_official_dict(self) -> dict[str, dict]:
        """The JSON object the official ``eval.py`` writes (same keys and nesting)."""
        out: dict[str, dict] = {"brief": dict(self.brief)}
        rest: dict[str, dict] = {
            name: {"MR-mAP": dict(s.mean_ap), "MR-R1": dict(s.r1)}
            for name, s in self.moment_retrieval.items()
        }
        rest.update(
            {k: {"HL-mAP": h.mean_ap, "HL-Hit1": h.hit1} for k, h in self.highlight.items()}
        )
        out.update(sorted(rest.items()))
        return out


# ---- IoU ------------------------------------------------------------------------------
def temporal_iou_cross(spans1: np.ndarray, spans2: np.ndarray) -> np.ndarray:
    """IoU of every window in ``spans1`` ``(N, 2+)`` with every window in ``spans2`` ``(M, 2)``.

    Returns:
        ``(N, M)`` IoU (``nan`` where both windows are empty and coincide, as the official).
    """
    s1 = np.asarray(spans1, dtype=np.float64)
    s2 = np.asarray(spans2, dtype=np.float64)
    left = np.maximum(s1[:, None, 0], s2[None, :, 0])
    right = np.minimum(s1[:, None, 1], s2[None, :, 1])
    inter = np.clip(right - left, 0, None)
    union = (s1[:, 1] - s1[:, 0])[:, None] + (s2[:, 1] - s2[:, 0])[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def temporal_iou_paired(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of ``pred[i]`` with ``gt[i]`` for ``(N, 2)`` windows, 0 where the hull is empty.

    The official denominator is the hull ``max(end) - min(start)``, which equals the union
    for overlapping windows (and the IoU is 0 otherwise).
    """
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    inter = np.maximum(0, np.minimum(p[:, 1], g[:, 1]) - np.maximum(p[:, 0], g[:, 0]))
    hull = np.maximum(p[:, 1], g[:, 1]) - np.minimum(p[:, 0], g[:, 0])
    return np.divide(inter, hull, out=np.zeros_like(inter), where=hull != 0)


# ---- moment retrieval -----------------------------------------------------------------
def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC 2011 interpolated AP: ``sum (r_i - r_{i-1}) * max_{j >= i} p_j`` over recall steps.

    Args:
        precision: ``(K,)`` precision after each ranked prediction.
        recall: ``(K,)`` recall after each ranked prediction.
    """
    mprec = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    idx = np.where(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def detection_average_precision(
    gt_windows: np.ndarray, pred_windows: np.ndarray, iou_thresholds: Sequence[float]
) -> np.ndarray:
    """AP of one query's ranked windows at each IoU threshold (ActivityNet-style matching).

    Args:
        gt_windows: ``(M, 2)`` ground-truth ``(start, end)`` in seconds.
        pred_windows: ``(K, 3)`` ``(start, end, score)``; ranked by score, ties kept in order.
        iou_thresholds: ``T`` thresholds.

    Returns:
        ``(T,)`` AP in [0, 1]; zeros when ``K == 0``.
    """
    thr = np.asarray(iou_thresholds, dtype=np.float64)
    preds = np.asarray(pred_windows, dtype=np.float64).reshape(-1, 3)
    gts = np.asarray(gt_windows, dtype=np.float64).reshape(-1, 2)
    n_t, n_p = len(thr), len(preds)
    if n_p == 0:
        return np.zeros(n_t)
    preds = preds[np.argsort(-preds[:, 2], kind="stable")]
    tp = np.zeros((n_t, n_p))
    locked = np.zeros((n_t, len(gts)), dtype=bool)
    if len(gts):
        ious = temporal_iou_cross(preds[:, :2], gts)
        for k in range(n_p):
            order = ious[k].argsort()[::-1]  # same order as the official (nan first)
            sorted_iou = ious[k][order][None, :]
            # the official walks gts by decreasing IoU, stops at the first one below the
            # threshold (nan never is) and takes the first one not matched yet
            ok = ((sorted_iou >= thr[:, None]) | np.isnan(sorted_iou)) & ~locked[:, order]
            first = ok.argmax(axis=1)
            hit = ok[np.arange(n_t), first]
            tp[hit, k] = 1
            locked[np.nonzero(hit)[0], order[first[hit]]] = True
    tp_cum = np.cumsum(tp, axis=1)
    fp_cum = np.cumsum(1 - tp, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp_cum / float(len(gts))
    precision = tp_cum / (tp_cum + fp_cum)
    return np.array([interpolated_ap(precision[t], recall[t]) for t in range(n_t)])


def _pct(value: float) -> float:
    return float(f"{100 * value:.2f}")


def _split(
    preds: list[MomentPrediction], gts: list[MomentGroundTruth], bounds: tuple[float, float]
) -> tuple[list[MomentPrediction], list[MomentGroundTruth]]:
    low, high = bounds
    if (low, high) == LENGTH_RANGES["full"]:
        return preds, gts
    kept: list[MomentGroundTruth] = []
    for g in gts:
        windows = [w for w in g.relevant_windows if low < w[1] - w[0] <= high]
        if windows:
            kept.append(g.model_copy(update={"relevant_windows": windows}))
    qids = {g.qid for g in kept}
    return [p for p in preds if p.qid in qids], kept


def _mr_map(preds: list[MomentPrediction], gt_by_qid: dict) -> dict[str, float]:
    if not preds:  # an empty split: the official prints NaN
        return {**{str(t): float("nan") for t in IOU_THRESHOLDS}, "average": float("nan")}
    rows = [
        detection_average_precision(
            gt_by_qid[p.qid].relevant_windows,
            (p.pred_relevant_windows or [])[:MAX_PRED_WINDOWS],
            IOU_THRESHOLDS,
        )
        for p in preds
    ]
    per_thr = np.array(rows).mean(0)
    out = {str(t): _pct(v) for t, v in zip(IOU_THRESHOLDS, per_thr, strict=True)}
    out["average"] = _pct(float(np.mean(per_thr)))
    return out


def _mr_r1(preds: list[MomentPrediction], gt_by_qid: dict) -> dict[str, float]:
    if not preds:
        return {str(t): float("nan") for t in IOU_THRESHOLDS}
    first = np.array([p.pred_relevant_windows[0][:2] for p in preds], dtype=np.float64)
    best = []
    for p, window in zip(preds, first, strict=True):
        gt_windows = np.array(gt_by_qid[p.qid].relevant_windows, dtype=np.float64)
        best.append(gt_windows[int(np.argmax(temporal_iou_cross(window[None], gt_windows)[0]))])
    iou = temporal_iou_paired(first, np.array(best))
    return {str(t): float(f"{np.mean(iou >= t) * 100:.2f}") for t in IOU_THRESHOLDS}


def moment_retrieval_scores(
    predictions: Sequence[MomentPrediction], ground_truth: Sequence[MomentGroundTruth]
) -> dict[str, MomentRetrievalScores]:
    """R1@IoU and mAP@IoU for every length split (``full``, ``short``, ``middle``, ``long``).

    Empty splits give ``nan`` (the official prints ``NaN`` too).

    Raises:
        DataFormatError: when a prediction has no windows or a query has no ground-truth
            window (the official script crashes on both).
    """
    preds, gts = list(predictions), list(ground_truth)
    for p in preds:
        if not p.pred_relevant_windows:
            raise DataFormatError(f"qid {p.qid}: no predicted windows")
    for g in gts:
        if not g.relevant_windows:
            raise DataFormatError(f"qid {g.qid}: no ground-truth window")
    out: dict[str, MomentRetrievalScores] = {}
    for name in ("short", "middle", "long", "full"):
        sub_preds, sub_gts = _split(preds, gts, LENGTH_RANGES[name])
        gt_by_qid = {g.qid: g for g in sub_gts}
        out[name] = MomentRetrievalScores(
            num_queries=len(sub_gts),
            mean_ap=_mr_map(sub_preds, gt_by_qid),
            r1=_mr_r1(sub_preds, gt_by_qid),
        )
    return out


# ---- highlight detection --------------------------------------------------------------
def saliency_average_precision(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """AP of clip scores against binary labels, as the official ``get_ap``.

    Precision/recall at every distinct score (scikit-learn's ``precision_recall_curve``
    semantics, ties grouped), precision made non-decreasing from the lowest threshold up,
    then averaged at the points where recall changes. All-negative labels give 0,
    all-positive 1.

    Args:
        y_true: ``(C,)`` labels in {0, 1}.
        y_score: ``(C,)`` predicted scores.

    Raises:
        DataFormatError: when the labels are empty or not binary.
    """
    t = np.asarray(y_true, dtype=np.float64)
    s = np.asarray(y_score, dtype=np.float64)
    labels = set(t.tolist())
    if len(labels) == 1:
        return 0.0 if t[0] == 0 else 1.0
    if labels != {0.0, 1.0}:
        raise DataFormatError(f"saliency labels must be binary and non-empty, got {labels}")
    order = np.argsort(s, kind="mergesort")[::-1]
    s, t = s[order], t[order]
    cut = np.r_[np.where(np.diff(s))[0], t.size - 1]
    tps = np.cumsum(t)[cut]
    fps = 1 + cut - tps
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    last = int(tps.searchsorted(tps[-1]))  # stop at full recall, then reverse
    precision = np.r_[precision[last::-1], 1.0]
    recall = np.r_[recall[last::-1], 0.0].astype(np.float32)
    precision = np.maximum.accumulate(precision)
    return float(np.mean(precision[np.where(np.diff(recall))]))


def _clip_labels(gt: MomentGroundTruth, clip_length: float = CLIP_LENGTH) -> np.ndarray:
    """``(int(duration / clip_length), 3)`` saliency of every clip (0 outside relevant
    clips); QVHighlights clips are 2 s."""
    n_clips = int(gt.duration / clip_length)
    scores = np.zeros((n_clips, NUM_ANNOTATORS))
    if gt.relevant_clip_ids:
        ids = np.asarray(gt.relevant_clip_ids)
        rows = np.asarray(gt.saliency_scores, dtype=np.float64)
        if rows.shape[1] != NUM_ANNOTATORS:
            raise DataFormatError(f"qid {gt.qid}: expected {NUM_ANNOTATORS} saliency annotators")
        if ids.min() < 0 or ids.max() >= n_clips:
            raise DataFormatError(
                f"qid {gt.qid}: clip ids outside the {n_clips} clips of a {gt.duration} s video"
            )
        scores[ids] = rows
    return scores


def highlight_scores(
    predictions: Sequence[MomentPrediction],
    ground_truth: Sequence[MomentGroundTruth],
    *,
    clip_length: float = CLIP_LENGTH,
) -> dict[str, HighlightScores]:
    """HIT@1 and mAP at the Fair / Good / VeryGood saliency levels (keys ``HL-min-*``).

    ``clip_length`` (seconds) is QVHighlights' 2 s unless another benchmark's clips
    are shorter (e.g. one clip per sampled frame).

    Raises:
        DataFormatError: when a prediction has no saliency scores, a video has no 2 s
            clip, or clip ids fall outside the video.
    """
    gt_by_qid = {g.qid: _clip_labels(g, clip_length) for g in ground_truth}
    scores = []
    for p in predictions:
        if not p.pred_saliency_scores:
            raise DataFormatError(f"qid {p.qid}: no predicted saliency scores")
        if len(gt_by_qid[p.qid]) == 0:
            raise DataFormatError(
                f"qid {p.qid}: the video is shorter than one {clip_length:g} s clip"
            )
        scores.append(np.asarray(p.pred_saliency_scores, dtype=np.float64))
    out: dict[str, HighlightScores] = {}
    for level, minimum in SALIENCY_LEVELS.items():
        hits = np.zeros((len(scores), NUM_ANNOTATORS))
        aps = np.zeros((len(scores), NUM_ANNOTATORS))
        for i, (p, pred) in enumerate(zip(predictions, scores, strict=True)):
            labels = (gt_by_qid[p.qid] >= minimum).astype(np.float64)
            top = int(np.argmax(pred))
            if top < len(labels):
                hits[i] = labels[top]
            fitted = np.zeros(len(labels))
            fitted[: min(len(pred), len(labels))] = pred[: len(labels)]
            for a in range(NUM_ANNOTATORS):
                aps[i, a] = saliency_average_precision(labels[:, a], fitted)
        out[f"HL-min-{level}"] = HighlightScores(
            mean_ap=_pct(float(np.mean(aps))),
            hit1=_pct(float(np.mean(np.max(hits, 1)))),
        )
    return out


def _matched(
    predictions: Sequence[MomentPrediction],
    ground_truth: Sequence[MomentGroundTruth],
    match_number: bool,
) -> tuple[list[MomentPrediction], list[MomentGroundTruth]]:
    for what, items in (("prediction", predictions), ("ground truth", ground_truth)):
        qids = [x.qid for x in items]
        if len(set(qids)) != len(qids):
            raise DataFormatError(f"duplicate qids in the {what}")
    pred_qids = {p.qid for p in predictions}
    gt_qids = {g.qid for g in ground_truth}
    if match_number and pred_qids != gt_qids:
        raise DataFormatError(
            f"qids differ: {len(pred_qids - gt_qids)} predicted only, "
            f"{len(gt_qids - pred_qids)} in the ground truth only (match_number=False "
            "scores the shared ones)"
        )
    shared = pred_qids & gt_qids
    return [p for p in predictions if p.qid in shared], [g for g in ground_truth if g.qid in shared]


def _has(preds: list[MomentPrediction], attr: str) -> bool:
    present = [getattr(p, attr) is not None for p in preds]
    if any(present) and not all(present):
        raise DataFormatError(f"{attr} is given for some predictions only")
    return bool(present) and all(present)


def qvhighlights_metrics(
    predictions: Sequence[MomentPrediction],
    ground_truth: Sequence[MomentGroundTruth],
    *,
    match_number: bool = True,
    clip_length: float = CLIP_LENGTH,
) -> QVHighlightsMetrics:
    """Every QVHighlights metric, as ``standalone_eval/eval.py`` computes and rounds it.

    MR metrics are computed when the predictions carry windows, HL metrics when they
    carry saliency scores. ``.to_official_dict()`` gives the official JSON layout and
    ``.brief`` the headline numbers.

    Args:
        predictions: one :class:`MomentPrediction` per query.
        ground_truth: one :class:`MomentGroundTruth` per query.
        match_number: require the same qids on both sides (official default); ``False``
            scores the shared qids only.
        clip_length: seconds per highlight clip (QVHighlights: 2 s); the ground truth's
            ``relevant_clip_ids`` and the predicted saliency scores index such clips.

    Raises:
        DataFormatError: on mismatched or duplicate qids, or malformed records.
    """
    preds, gts = _matched(predictions, ground_truth, match_number)
    if not preds:
        raise DataFormatError("no query to score")
    brief: dict[str, float] = {}
    mr: dict[str, MomentRetrievalScores] = {}
    hl: dict[str, HighlightScores] = {}
    if _has(preds, "pred_relevant_windows"):
        mr = moment_retrieval_scores(preds, gts)
        headline = {
            "MR-full-mAP": mr["full"].mean_ap["average"],
            "MR-full-mAP@0.5": mr["full"].mean_ap["0.5"],
            "MR-full-mAP@0.75": mr["full"].mean_ap["0.75"],
            "MR-short-mAP": mr["short"].mean_ap["average"],
            "MR-middle-mAP": mr["middle"].mean_ap["average"],
            "MR-long-mAP": mr["long"].mean_ap["average"],
            "MR-full-R1@0.5": mr["full"].r1["0.5"],
            "MR-full-R1@0.7": mr["full"].r1["0.7"],
        }
        brief.update(sorted(headline.items()))
    if _has(preds, "pred_saliency_scores"):
        hl = highlight_scores(preds, gts, clip_length=clip_length)
        for key, h in hl.items():
            brief[f"{key}-mAP"] = h.mean_ap
            brief[f"{key}-Hit1"] = h.hit1
    return QVHighlightsMetrics(brief=brief, moment_retrieval=mr, highlight=hl)


METRICS.register("qvhighlights", qvhighlights_metrics)
