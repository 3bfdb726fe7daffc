"""Moment decoding of the frame localizer and its scoring with the QVHighlights metrics.

Decoding follows UniVTG (Lin et al., ICCV 2023, §3.4 "Inference"): every real frame
proposes the window ``[t - off_start, t + off_end]`` with confidence ``σ(foreground)``;
the proposals are ranked by confidence, de-duplicated with non-maximum suppression and
clipped to the video. Scoring uses :func:`videoqa.metrics.qvhighlights_metrics`
(Lei et al., NeurIPS 2021, §5.1) with one highlight clip per sampled frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from videoqa.data.grounding import GroundingExample
from videoqa.data.schema import QASample
from videoqa.errors import DataFormatError, UsageError
from videoqa.losses.moment import moment_targets
from videoqa.metrics.moment_retrieval import (
    MomentGroundTruth,
    MomentPrediction,
    QVHighlightsMetrics,
    qvhighlights_metrics,
)
from videoqa.models.sgvlm.localizer import FrameLocalizer, LocalizerOutput
from videoqa.training.localizer_data import LocalizerData, make_batch

#: Saliency each of the 3 pseudo-annotators gives a foreground frame (QVHighlights'
#: "Very Good"), so every HL level counts exactly the foreground frames as positives.
FOREGROUND_SALIENCY = 4.0


class MomentWindow(NamedTuple):
    """A predicted moment: ``start``, ``end`` seconds and a ``score`` in [0, 1]."""

    start: float
    end: float
    score: float


@dataclass(frozen=True)
class LocalizerPrediction:
    """The localizer's answer to one question.

    Attributes:
        qid: question id.
        windows: ranked :class:`MomentWindow` list (best first).
        saliency: ``(T,)`` per-frame saliency of the real frames (time order).
        times: ``(T,)`` seconds of those frames.
        duration: video length, seconds.
    """

    qid: str
    windows: list[MomentWindow]
    saliency: np.ndarray
    times: np.ndarray
    duration: float


def _window_iou(a: MomentWindow, b: MomentWindow) -> float:
    inter = max(0.0, min(a.end, b.end) - max(a.start, b.start))
    union = (a.end - a.start) + (b.end - b.start) - inter
    if union <= 0:
        return 1.0 if (a.start, a.end) == (b.start, b.end) else 0.0
    return inter / union


def nms(windows: Sequence[MomentWindow], iou_threshold: float, top_n: int) -> list[MomentWindow]:
    """Greedy 1-D non-maximum suppression: walk the windows by decreasing score (stable)
    and keep one unless its IoU with a kept window is >= ``iou_threshold``; at most
    ``top_n`` are kept."""
    kept: list[MomentWindow] = []
    for w in sorted(windows, key=lambda x: -x.score):
        if all(_window_iou(w, k) < iou_threshold for k in kept):
            kept.append(w)
            if len(kept) == top_n:
                break
    return kept


def decode_moments(
    output: LocalizerOutput,
    times: Tensor,
    frame_mask: Tensor,
    duration: float | Sequence[float],
    top_n: int = 10,
    nms_iou: float = 0.7,
) -> list[list[MomentWindow]]:
    """Ranked moment windows of every question of a batch (UniVTG §3.4).

    Args:
        output: :class:`LocalizerOutput` of ``B`` questions.
        times: ``(B, T)`` frame times, seconds; frame_mask: ``(B, T)`` bool.
        duration: video length(s), seconds (one for all or one per question).
        top_n: windows kept per question; nms_iou: suppression threshold.

    Returns:
        ``B`` lists of at most ``top_n`` windows ``(start, end, score)``, best first,
        clipped to ``[0, duration]``, ``score = σ(foreground logit)``.

    Raises:
        UsageError: ``top_n < 1`` or a duration list of the wrong length.
    """
    if top_n < 1:
        raise UsageError("top_n must be >= 1")
    batch = times.shape[0]
    durations = [float(duration)] * batch if isinstance(duration, int | float) else list(duration)
    if len(durations) != batch:
        raise UsageError(f"{len(durations)} durations for {batch} questions")
    score = torch.sigmoid(output.foreground.detach().float()).cpu().numpy()
    off = output.offsets.detach().float().cpu().numpy()
    t = times.detach().double().cpu().numpy()
    mask = frame_mask.bool().cpu().numpy()
    out: list[list[MomentWindow]] = []
    for b in range(batch):
        idx = np.nonzero(mask[b])[0]
        starts = np.clip(t[b, idx] - off[b, idx, 0], 0.0, durations[b])
        ends = np.clip(t[b, idx] + off[b, idx, 1], 0.0, durations[b])
        proposals = [
            MomentWindow(float(s), float(e), float(c))
            for s, e, c in zip(starts, ends, score[b, idx], strict=True)
        ]
        out.append(nms(proposals, nms_iou, top_n))
    return out


def predictions_from_output(
    qids: Sequence[str],
    output: LocalizerOutput,
    times: Tensor,
    frame_mask: Tensor,
    durations: Sequence[float],
    top_n: int = 10,
    nms_iou: float = 0.7,
) -> list[LocalizerPrediction]:
    """:class:`LocalizerPrediction` of each question of a batch (windows from
    :func:`decode_moments`, saliency of the real frames)."""
    windows = decode_moments(output, times, frame_mask, durations, top_n, nms_iou)
    sal = output.saliency.detach().float().cpu().numpy()
    t = times.detach().double().cpu().numpy()
    mask = frame_mask.bool().cpu().numpy()
    return [
        LocalizerPrediction(
            qid=q, windows=w, saliency=sal[b, mask[b]], times=t[b, mask[b]], duration=float(d)
        )
        for b, (q, w, d) in enumerate(zip(qids, windows, durations, strict=True))
    ]


def _windows_of(sample: QASample | GroundingExample) -> tuple[tuple[float, float], ...]:
    if isinstance(sample, GroundingExample):
        return sample.windows
    if sample.interval is None:
        raise DataFormatError(f"{sample.qid}: no interval to localize")
    return (tuple(sample.interval),)


def localizer_ground_truth(
    sample: QASample | GroundingExample, times: np.ndarray, duration: float, clip_length: float
) -> MomentGroundTruth:
    """The metric's ground truth of one query: its moments (a QA sample's interval, a
    grounding example's windows) as the relevant windows, the foreground frames
    (:func:`videoqa.losses.moment.moment_targets`) as relevant clips, each scored
    :data:`FOREGROUND_SALIENCY` by the 3 annotators.

    Raises:
        DataFormatError: a QA sample without an interval.
    """
    windows = _windows_of(sample)
    t = torch.as_tensor(np.asarray(times, dtype=np.float64))[None]
    fg = moment_targets(
        torch.tensor([windows], dtype=torch.float64),
        t,
        torch.ones_like(t, dtype=torch.bool),
        clip_length,
    ).foreground[0]
    clips = [int(i) for i in torch.nonzero(fg).flatten()]
    return MomentGroundTruth(
        qid=sample.qid,
        duration=duration,
        relevant_windows=list(windows),
        relevant_clip_ids=clips,
        saliency_scores=[[FOREGROUND_SALIENCY] * 3 for _ in clips],
    )


def score_localizer(
    predictions: Sequence[LocalizerPrediction],
    samples: Sequence[QASample | GroundingExample],
    clip_length: float,
) -> QVHighlightsMetrics:
    """QVHighlights MR (R1@0.5/0.7, mAP) and HL (mAP, HIT@1) metrics of the localizer.

    One highlight clip per sampled frame (``clip_length`` seconds, frame ``i`` = clip
    ``i``); ground truth from :func:`localizer_ground_truth` on each prediction's frame
    times.

    Args:
        predictions: one per query to score.
        samples: the queries: QA samples with an ``interval`` or grounding examples
            (:class:`~videoqa.data.grounding.GroundingExample`, one or more windows);
            those without a prediction are ignored.
        clip_length: seconds per frame clip (e.g. ``duration / T`` for uniform sampling).

    Raises:
        DataFormatError: a prediction whose qid is not among ``samples``, a sample without
            interval, or malformed records (see :func:`qvhighlights_metrics`).
    """
    by_qid: Mapping[str, QASample | GroundingExample] = {s.qid: s for s in samples}
    unknown = [p.qid for p in predictions if p.qid not in by_qid]
    if unknown:
        raise DataFormatError(f"{len(unknown)} predictions of unknown questions, e.g. {unknown[0]}")
    gts = [
        localizer_ground_truth(by_qid[p.qid], p.times, p.duration, clip_length) for p in predictions
    ]
    preds = [
        MomentPrediction(
            qid=p.qid,
            pred_relevant_windows=[tuple(w) for w in p.windows],
            pred_saliency_scores=[float(x) for x in p.saliency],
        )
        for p in predictions
    ]
    return qvhighlights_metrics(preds, gts, clip_length=clip_length)


@torch.no_grad()
def predict_localizer(
    model: FrameLocalizer,
    data: LocalizerData,
    batch_size: int = 256,
    top_n: int = 10,
    nms_iou: float = 0.7,
) -> list[LocalizerPrediction]:
    """Moment windows and frame saliency of every query of ``data``, in order (the model
    runs in eval mode on its own device; its previous mode is restored).

    Args:
        model: the localizer; data: the split (:class:`~videoqa.training.localizer_data.LocalizerData`).
        batch_size: queries per forward pass; top_n, nms_iou: moment decoding
            (:func:`decode_moments`).
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out: list[LocalizerPrediction] = []
    for start in range(0, len(data), batch_size):
        index = torch.arange(start, min(start + batch_size, len(data)))
        batch = make_batch(data, index).to(device)
        output = batch.forward(model)
        out += predictions_from_output(
            batch.qids,
            output,
            batch.times,
            batch.frame_mask,
            batch.durations.tolist(),
            top_n,
            nms_iou,
        )
    model.train(was_training)
    return out


def whole_video_predictions(
    qids: Sequence[str], times: Sequence[np.ndarray], durations: Sequence[float]
) -> list[LocalizerPrediction]:
    """The trivial baseline: one window ``[0, duration]`` (score 1) and the same
    saliency (0) for every frame, per question."""
    return [
        LocalizerPrediction(
            qid=q,
            windows=[MomentWindow(0.0, float(d), 1.0)],
            saliency=np.zeros(len(t)),
            times=np.asarray(t, dtype=np.float64),
            duration=float(d),
        )
        for q, t, d in zip(qids, times, durations, strict=True)
    ]
