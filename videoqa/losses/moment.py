"""Targets and losses of the frame localizer (moment retrieval + highlight detection).

Source: Lin et al., "UniVTG: Towards Unified Video-Language Temporal Grounding",
ICCV 2023, §3.3 "Training objectives": foreground loss (binary focal loss on each clip),
boundary loss (smooth-L1 on the two offsets + temporal IoU loss, on foreground clips),
intra-video saliency contrast (each positive clip against the negative clips of the same
video, InfoNCE with temperature τ) and inter-video saliency contrast (a query against
positive clips of other videos in the batch).

Time is in seconds throughout; a frame at time ``t`` stands for the clip window
``[t - clip/2, t + clip/2)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor
from torch.nn import functional as F

from videoqa.errors import UsageError


class LocalizerOutput(Protocol):
    """What the moment losses read from a localizer's output (structurally: e.g.
    :class:`videoqa.models.sgvlm.localizer.LocalizerOutput`, whose docstring gives the
    shapes): ``saliency`` ``(B, T)``, ``foreground`` ``(B, T)`` logits, ``offsets``
    ``(B, T, 2)`` seconds, ``frame_keys`` ``(B, T, H)`` and ``question_keys`` ``(B, H)``
    unit-norm keys. The losses layer defines it so that it needs no model import."""

    saliency: Tensor
    foreground: Tensor
    offsets: Tensor
    frame_keys: Tensor
    question_keys: Tensor


@dataclass(frozen=True)
class MomentTargets:
    """Per-frame targets of a batch of questions.

    Attributes:
        foreground: ``(B, T)`` bool, the frame's clip window overlaps the moment (and
            the frame nearest to the moment's centre always is); False on pad frames.
        offsets: ``(B, T, 2)`` seconds ``(t - start, end - t)`` clamped at 0 (a frame's
            predicted window always contains the frame time).
        frame_mask: ``(B, T)`` bool, real frames.
    """

    foreground: Tensor
    offsets: Tensor
    frame_mask: Tensor


def moment_targets(
    intervals: Tensor, times: Tensor, frame_mask: Tensor, clip_length: float
) -> MomentTargets:
    """Foreground frames and boundary offsets of the answer moments (UniVTG §3.2).

    A frame at time ``t`` is foreground when its window ``[t - c/2, t + c/2)`` overlaps
    a moment ``[start, end)`` (a zero-length moment: contains ``start``); for each
    moment, the real frame whose time is nearest to the moment's centre is always
    foreground (so a moment between two sampled frames has one). With several moments
    per query (QVHighlights' ``relevant_windows``), a foreground frame regresses the
    boundaries of the first moment it is foreground for.

    Args:
        intervals: ``(B, 2)`` ``(start, end)`` seconds, one moment per query; or
            ``(B, W, 2)``, up to ``W`` moments per query, rows of NaN padding the
            queries with fewer (each query has at least one).
        times: ``(B, T)`` frame times, seconds.
        frame_mask: ``(B, T)`` bool, real frames (each row has one).
        clip_length: ``c``, seconds covered by one frame.

    Returns:
        :class:`MomentTargets`.

    Raises:
        UsageError: ``clip_length <= 0``, an interval ending before it starts, a query
            without a moment, or a row without a real frame.
    """
    if clip_length <= 0:
        raise UsageError(f"clip_length must be > 0, got {clip_length}")
    frame_mask = frame_mask.bool()
    if not bool(frame_mask.any(1).all()):
        raise UsageError("every video needs at least one real frame")
    windows = intervals[:, None] if intervals.ndim == 2 else intervals  # (B, W, 2)
    valid = ~torch.isnan(windows).any(-1)  # (B, W)
    if not bool(valid.any(1).all()):
        raise UsageError("every query needs at least one moment")
    windows = torch.where(valid[..., None], windows, torch.zeros_like(windows))
    start = windows[..., 0:1].to(times.dtype)  # (B, W, 1)
    end = windows[..., 1:2].to(times.dtype)
    if bool((end < start).any()):
        raise UsageError("an interval ends before it starts")
    t = times[:, None]  # (B, 1, T)
    low, high = t - clip_length / 2, t + clip_length / 2
    overlap = (start < high) & ((low < end) | ((start == end) & (low <= start)))
    centre = (start + end) / 2
    distance = (t - centre).abs().masked_fill(~frame_mask[:, None], float("inf"))
    nearest = F.one_hot(distance.argmin(-1), times.shape[1]).bool()
    per_window = (overlap | nearest) & frame_mask[:, None] & valid[..., None]  # (B, W, T)
    foreground = per_window.any(1)
    # the first moment each frame is foreground for (moment 0 where it is for none)
    pick = per_window.to(torch.uint8).argmax(1, keepdim=True)  # (B, 1, T)
    s_pick = torch.gather(start.expand(-1, -1, times.shape[1]), 1, pick)[:, 0]  # (B, T)
    e_pick = torch.gather(end.expand(-1, -1, times.shape[1]), 1, pick)[:, 0]
    offsets = torch.stack([times - s_pick, e_pick - times], dim=-1).clamp(min=0.0)
    return MomentTargets(foreground=foreground, offsets=offsets, frame_mask=frame_mask)


def foreground_loss(
    logits: Tensor, foreground: Tensor, frame_mask: Tensor, gamma: float = 2.0, alpha: float = 0.5
) -> Tensor:
    """Binary focal loss (Lin et al., ICCV 2017, eq. 5) averaged over real frames.

    ``FL = -a_t (1 - p_t)^γ log p_t`` with ``p_t = σ(x)`` for foreground frames and
    ``1 - σ(x)`` otherwise, ``a_t = α`` / ``1 - α``. ``gamma=0, alpha=0.5`` is half the
    binary cross-entropy.

    Args:
        logits: ``(B, T)``; foreground, frame_mask: ``(B, T)`` bool.
        gamma: focusing exponent γ >= 0; alpha: weight α of foreground frames in (0, 1).

    Returns:
        Scalar.
    """
    target = foreground.to(logits.dtype)
    mask = frame_mask.bool()
    safe = logits.masked_fill(~mask, 0.0)
    bce = F.binary_cross_entropy_with_logits(safe, target, reduction="none")
    p_t = torch.exp(-bce)
    weight = alpha * target + (1 - alpha) * (1 - target)
    loss = weight * (1 - p_t).pow(gamma) * bce
    return loss[mask].mean()


def boundary_loss(
    pred_offsets: Tensor, target_offsets: Tensor, foreground: Tensor, beta: float = 0.1
) -> tuple[Tensor, Tensor]:
    """Smooth-L1 and temporal IoU losses of the offsets of foreground frames (UniVTG §3.3).

    The predicted window of a frame at ``t`` is ``[t - p_s, t + p_e]``, the target
    ``[t - g_s, t + g_e]``; both contain ``t``, so ``IoU = (min(p_s, g_s) +
    min(p_e, g_e)) / (max(p_s, g_s) + max(p_e, g_e))`` (1 when both are empty).

    Args:
        pred_offsets, target_offsets: ``(B, T, 2)`` seconds >= 0.
        foreground: ``(B, T)`` bool.
        beta: smooth-L1 transition point, seconds.

    Returns:
        ``(smooth_l1, 1 - IoU)``, each the mean over foreground frames (smooth-L1 also
        over the two offsets); zeros when no frame is foreground.
    """
    fg = foreground.bool()
    if not bool(fg.any()):
        zero = pred_offsets.sum() * 0.0
        return zero, zero
    pred, target = pred_offsets[fg], target_offsets[fg].to(pred_offsets.dtype)
    l1 = F.smooth_l1_loss(pred, target, beta=beta)
    inter = torch.minimum(pred, target).sum(-1)
    union = torch.maximum(pred, target).sum(-1)
    iou = torch.where(union > 0, inter / union.clamp(min=1e-9), torch.ones_like(union))
    return l1, (1 - iou).mean()


def _info_nce(pos: Tensor, negatives: Tensor, neg_mask: Tensor, tau: float) -> Tensor:
    """``-log(e^{p/τ} / (e^{p/τ} + Σ_n e^{n/τ}))`` per positive; ``pos (P,)``,
    ``negatives (P, M)``, ``neg_mask (P, M)``."""
    neg = (negatives / tau).masked_fill(~neg_mask, float("-inf"))
    logits = torch.cat([(pos / tau)[:, None], neg], dim=1)
    return torch.logsumexp(logits, dim=1) - pos / tau


def intra_video_saliency_loss(
    saliency: Tensor, foreground: Tensor, frame_mask: Tensor, tau: float = 0.07
) -> Tensor:
    """Intra-video contrast (UniVTG §3.3): each foreground frame against the
    non-foreground real frames of the same video, InfoNCE at temperature ``τ``.

    Args:
        saliency: ``(B, T)`` scores; foreground, frame_mask: ``(B, T)`` bool.
        tau: temperature.

    Returns:
        Scalar mean over foreground frames (a video with no negative frame adds 0);
        zero when no frame is foreground.
    """
    fg, mask = foreground.bool(), frame_mask.bool()
    negatives = mask & ~fg
    rows, cols = torch.nonzero(fg, as_tuple=True)
    if len(rows) == 0:
        return saliency.masked_fill(~mask, 0.0).sum() * 0.0
    safe = saliency.masked_fill(~mask, 0.0)
    loss = _info_nce(safe[rows, cols], safe[rows], negatives[rows], tau)
    return loss.mean()


def inter_video_saliency_loss(
    frame_keys: Tensor,
    question_keys: Tensor,
    foreground: Tensor,
    video_index: Tensor,
    tau: float = 0.07,
) -> Tensor:
    """Inter-video contrast (UniVTG §3.3): for question ``i``, each of its foreground
    frames against the foreground frames of the other videos in the batch, scored with
    ``s(i, j, t) = question_keys[i] · frame_keys[j, t]``, InfoNCE at temperature ``τ``.
    Rows of the same video (several questions on one video) are not negatives.

    Args:
        frame_keys: ``(B, T, H)``; question_keys: ``(B, H)``.
        foreground: ``(B, T)`` bool.
        video_index: ``(B,)`` long, equal for rows of the same video.
        tau: temperature.

    Returns:
        Scalar mean over (question, foreground frame) pairs; a question with no other
        video's foreground frame adds 0; zero when no frame is foreground.
    """
    fg = foreground.bool()
    scores = torch.einsum("ih,jth->ijt", question_keys, frame_keys)  # (B, B, T)
    rows, cols = torch.nonzero(fg, as_tuple=True)
    if len(rows) == 0:
        return scores.sum() * 0.0
    other = video_index[:, None] != video_index[None, :]  # (B, B)
    neg_mask = (other[:, :, None] & fg[None, :, :]).flatten(1)  # (B, B*T)
    pos = scores[rows, rows, cols]
    loss = _info_nce(pos, scores.flatten(1)[rows], neg_mask[rows], tau)
    return loss.mean()


class LossWeights(BaseModel):
    """Weights and hyper-parameters of :func:`localizer_loss` (UniVTG's defaults are
    foreground 10, L1 10, IoU 1, saliency 1, τ 0.07).

    Attributes:
        foreground, l1, iou, intra, inter: weights of the terms.
        focal_gamma, focal_alpha: focal loss γ and α; smooth_l1_beta: seconds.
        tau: temperature of both saliency contrasts.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    foreground: float = Field(10.0, ge=0)
    l1: float = Field(10.0, ge=0)
    iou: float = Field(1.0, ge=0)
    intra: float = Field(1.0, ge=0)
    inter: float = Field(1.0, ge=0)
    focal_gamma: float = Field(2.0, ge=0)
    focal_alpha: float = Field(0.5, gt=0, lt=1)
    smooth_l1_beta: float = Field(0.1, gt=0)
    tau: float = Field(0.07, gt=0)


@dataclass(frozen=True)
class LocalizerLoss:
    """The terms of one batch (scalars) and their weighted sum ``total``."""

    total: Tensor
    foreground: Tensor
    l1: Tensor
    iou: Tensor
    intra: Tensor
    inter: Tensor
    weights: LossWeights

    def as_floats(self) -> dict[str, float]:
        """Every term as a Python float (for logs)."""
        names = ("total", "foreground", "l1", "iou", "intra", "inter")
        return {n: float(getattr(self, n).detach()) for n in names}


def localizer_loss(
    output: LocalizerOutput, targets: MomentTargets, video_index: Tensor, weights: LossWeights
) -> LocalizerLoss:
    """UniVTG's training objective on one batch: ``w_f L_f + w_1 L_1 + w_iou L_iou +
    w_intra L_intra + w_inter L_inter`` (UniVTG §3.3).

    Args:
        output: the localizer's output; targets: :func:`moment_targets`.
        video_index: ``(B,)`` long, equal for rows of the same video.
        weights: :class:`LossWeights`.

    Returns:
        :class:`LocalizerLoss`.
    """
    w = weights
    fg = foreground_loss(
        output.foreground, targets.foreground, targets.frame_mask, w.focal_gamma, w.focal_alpha
    )
    l1, iou = boundary_loss(output.offsets, targets.offsets, targets.foreground, w.smooth_l1_beta)
    intra = intra_video_saliency_loss(
        output.saliency, targets.foreground, targets.frame_mask, w.tau
    )
    inter = inter_video_saliency_loss(
        output.frame_keys, output.question_keys, targets.foreground, video_index, w.tau
    )
    total = w.foreground * fg + w.l1 * l1 + w.iou * iou + w.intra * intra + w.inter * inter
    return LocalizerLoss(
        total=total, foreground=fg, l1=l1, iou=iou, intra=intra, inter=inter, weights=w
    )
