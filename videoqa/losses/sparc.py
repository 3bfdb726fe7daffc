"""SpARC training losses: causal-frame guidance, consistency and spatial distillation.

Source: SpARC (spatio-temporal answer-rationale consistency), §3. An image-QA teacher
``M_I`` answers the question on every sampled frame ``k`` of the video and gives
``p_{k,a}``, the probability of the correct answer ``a`` at that frame (§3.1). Frames
where the teacher already finds the answer are the *causal frames*
``V_c = {f_k | p_{k,a} > t}`` (§3.2, Eq. 1). The video model ``M`` is then trained with

* the guided loss ``L_g = CE(M(V_c, Q), A)`` (§3.2, Eq. 2): answer from the causal frames;
* the consistency loss ``L_c = KL(M(V, Q) ‖ M(V_c, Q))`` (§3.2, Eq. 3): the whole-video
  prediction must agree with the causal-frame prediction;
* the spatial distillation loss ``L_s = CE(M({f_i}, Q), M_I(I_i, Q))`` (§3.3, Eq. 4) for
  one frame ``i`` drawn uniformly among the visible frames: the video model, shown that
  single frame, must match the teacher's distribution on it;
* the total ``L = L_g + w_c·L_c + w_s·L_s`` (§3.4, Eq. 5).

Guidance is used only in training; at inference the model sees the whole video.

Fallback (not in the paper's equations, documented here): a question with *no* frame
above ``t`` would have an empty ``V_c``. We then keep the ``fallback_topk`` frames with
the highest ``p_{k,a}`` (the frames the teacher finds most supportive, which is the set
``V_c`` tends to as ``t`` is lowered), and flag the question in
:attr:`CausalFrames.fallback` so the trainer can count how often it fires.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from videoqa.errors import UsageError


@dataclass(frozen=True)
class CausalFrames:
    """The causal frames of a batch (SpARC §3.2, Eq. 1).

    Attributes:
        mask: ``(B, T)`` bool, True = causal frame; a subset of the visible frames and
            every row has at least one True.
        fallback: ``(B,)`` bool, True where no visible frame had ``p_{k,a} > t`` and the
            top-``fallback_topk`` frames were used instead.
    """

    mask: Tensor
    fallback: Tensor

    @property
    def fallback_count(self) -> int:
        """Number of questions of the batch that used the fallback."""
        return int(self.fallback.sum().item())


def answer_frame_probs(teacher_probs: Tensor, answers: Tensor) -> Tensor:
    """``p_{k,a}``: the teacher's probability of the correct answer at each frame (§3.1).

    Args:
        teacher_probs: ``(B, T, C)`` per-frame teacher distributions over the candidates.
        answers: ``(B,)`` long, index of the correct candidate.

    Returns:
        ``(B, T)`` float.

    Raises:
        UsageError: on mismatched shapes.
    """
    if teacher_probs.dim() != 3 or answers.shape != teacher_probs.shape[:1]:
        raise UsageError(
            f"teacher probs {tuple(teacher_probs.shape)} and answers {tuple(answers.shape)} "
            "must be (B, T, C) and (B,)"
        )
    index = answers.long().view(-1, 1, 1).expand(-1, teacher_probs.shape[1], 1)
    return teacher_probs.gather(2, index).squeeze(2)


def causal_frame_mask(
    answer_probs: Tensor, video_mask: Tensor, threshold: float, fallback_topk: int = 1
) -> CausalFrames:
    """Causal frames ``V_c = {f_k | p_{k,a} > t}`` among the visible frames (§3.2, Eq. 1).

    A row with no visible frame above ``threshold`` falls back to its ``fallback_topk``
    visible frames of highest ``p_{k,a}`` (all visible frames when it has fewer); ties
    go to the earlier frame.

    Args:
        answer_probs: ``(B, T)`` float, ``p_{k,a}`` (see :func:`answer_frame_probs`).
        video_mask: ``(B, T)`` bool, True = visible frame; every row needs one.
        threshold: ``t``; a frame is causal when ``p_{k,a} > t`` (strictly).
        fallback_topk: frames kept when none passes the threshold (>= 1).

    Returns:
        :class:`CausalFrames` with ``mask`` ``(B, T)`` and ``fallback`` ``(B,)``.

    Raises:
        UsageError: on mismatched shapes, ``fallback_topk < 1`` or a row with no
            visible frame.
    """
    if answer_probs.shape != video_mask.shape or answer_probs.dim() != 2:
        raise UsageError(
            f"answer probs {tuple(answer_probs.shape)} and video mask "
            f"{tuple(video_mask.shape)} must both be (B, T)"
        )
    if fallback_topk < 1:
        raise UsageError(f"fallback_topk must be >= 1, got {fallback_topk}")
    visible = video_mask.bool()
    if not bool(visible.any(dim=1).all()):
        raise UsageError("every row of video_mask needs at least one visible frame")
    above = (answer_probs > threshold) & visible
    fallback = ~above.any(dim=1)
    scores = answer_probs.float().masked_fill(~visible, float("-inf"))
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(order.shape[1], device=order.device).expand_as(order))
    top = (rank < fallback_topk) & visible
    mask = torch.where(fallback.unsqueeze(1), top, above)
    return CausalFrames(mask=mask, fallback=fallback)


def guided_loss(causal_logits: Tensor, answers: Tensor) -> Tensor:
    """``L_g = CE(M(V_c, Q), A)`` (§3.2, Eq. 2), averaged over the batch.

    Args:
        causal_logits: ``(B, C)`` candidate scores of the model shown the causal frames.
        answers: ``(B,)`` long, correct candidate.

    Returns:
        Scalar tensor.
    """
    return F.cross_entropy(causal_logits, answers)


def consistency_loss(full_logits: Tensor, causal_logits: Tensor) -> Tensor:
    """``L_c = KL(P(V, Q) ‖ P(V_c, Q))`` with ``P = softmax`` over the candidates (§3.2, Eq. 3).

    ``KL(p ‖ q) = Σ_c p_c (log p_c − log q_c)``, summed over candidates and averaged over
    the batch ("batchmean"). Gradients flow into both predictions.

    Args:
        full_logits: ``(B, C)`` scores of the model shown the whole video.
        causal_logits: ``(B, C)`` scores of the model shown the causal frames.

    Returns:
        Scalar tensor, >= 0.
    """
    log_p = F.log_softmax(full_logits, dim=-1)
    log_q = F.log_softmax(causal_logits, dim=-1)
    return F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)


def spatial_distillation_loss(frame_logits: Tensor, teacher_frame_probs: Tensor) -> Tensor:
    """``L_s = CE(M({f_i}, Q), M_I(I_i, Q))`` (§3.3, Eq. 4): soft cross-entropy.

    ``L_s = −(1/B) Σ_b Σ_c q_{b,c} log softmax(z_b)_c`` where ``q`` is the teacher's
    distribution at the chosen frame ``i`` and ``z`` the model's scores on that frame alone.

    Args:
        frame_logits: ``(B, C)`` scores of the model shown the single frame ``i``.
        teacher_frame_probs: ``(B, C)`` teacher probabilities at frame ``i`` (rows sum to 1).

    Returns:
        Scalar tensor.
    """
    return -(teacher_frame_probs * F.log_softmax(frame_logits, dim=-1)).sum(dim=-1).mean()


def sample_spatial_frames(video_mask: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Draw the frame ``i`` of §3.3 uniformly among each row's visible frames.

    Args:
        video_mask: ``(B, T)`` bool, every row with >= 1 visible frame.
        generator: torch RNG (default: the global one).

    Returns:
        ``(B,)`` long frame indices.
    """
    noise = torch.rand(video_mask.shape, generator=generator, device=video_mask.device)
    return noise.masked_fill(~video_mask.bool(), -1.0).argmax(dim=1)


def single_frame_mask(frames: Tensor, num_frames: int) -> Tensor:
    """``(B, T)`` bool mask showing only frame ``frames[b]`` of each row (``{f_i}``)."""
    return F.one_hot(frames.long(), num_frames).bool()


@dataclass(frozen=True)
class SparcLossParts:
    """The terms of one SpARC objective (§3.4, Eq. 5), as computed for one batch.

    Attributes:
        total: scalar to back-propagate, ``main + w_c·consistency + w_s·spatial
            + w_m·mixup``.
        main: ``L_g`` with temporal guidance, else plain CE on ``M(V, Q)``.
        consistency: ``L_c`` (None when temporal guidance is off).
        spatial: ``L_s`` (None when spatial distillation is off).
        mixup: mixup loss ``L_m`` (None when no mixup was applied to this batch).
        fallback: questions of the batch whose causal frames used the fallback.
    """

    total: Tensor
    main: Tensor
    consistency: Tensor | None = None
    spatial: Tensor | None = None
    mixup: Tensor | None = None
    fallback: int = 0

    def as_floats(self) -> dict[str, float]:
        """Detached values of the terms that were computed, for logging."""
        out = {"loss": float(self.total.detach()), "main": float(self.main.detach())}
        for name in ("consistency", "spatial", "mixup"):
            value = getattr(self, name)
            if value is not None:
                out[name] = float(value.detach())
        return out


def sparc_loss(
    *,
    answers: Tensor,
    full_logits: Tensor | None,
    causal_logits: Tensor | None = None,
    frame_logits: Tensor | None = None,
    teacher_frame_probs: Tensor | None = None,
    w_c: float = 1.0,
    w_s: float = 1.0,
    mixup: Tensor | None = None,
    w_m: float = 1.0,
    fallback: int = 0,
) -> SparcLossParts:
    """Combine the SpARC terms (§3.4, Eq. 5): ``L = L_g + w_c·L_c + w_s·L_s`` (+ ``w_m·L_m``).

    With ``causal_logits`` (temporal guidance on) the main term is ``L_g`` and ``L_c``
    is added; without it the main term is plain CE on ``M(V, Q)``. With ``frame_logits``
    and ``teacher_frame_probs`` (spatial distillation on) ``w_s·L_s`` is added.

    Args:
        answers: ``(B,)`` long.
        full_logits: ``(B, C)`` scores on the whole video (needed for the main term
            without guidance and for ``L_c``; may be None with guidance and ``w_c = 0``).
        causal_logits: ``(B, C)`` scores on the causal frames, or None.
        frame_logits: ``(B, C)`` scores on one frame, or None.
        teacher_frame_probs: ``(B, C)`` teacher probabilities at that frame, or None.
        w_c, w_s, w_m: weights of ``L_c``, ``L_s`` and of an already computed mixup
            loss ``mixup`` (scalar, or None).
        fallback: number of questions whose causal frames used the fallback (logged).

    Raises:
        UsageError: when a term's inputs are missing.
    """
    if causal_logits is not None:
        main = guided_loss(causal_logits, answers)
    elif full_logits is not None:
        main = F.cross_entropy(full_logits, answers)
    else:
        raise UsageError("sparc_loss needs full_logits or causal_logits")
    total = main
    consistency = spatial = None
    if causal_logits is not None and w_c != 0:
        if full_logits is None:
            raise UsageError("the consistency term needs full_logits")
        consistency = consistency_loss(full_logits, causal_logits)
        total = total + w_c * consistency
    if frame_logits is not None:
        if teacher_frame_probs is None:
            raise UsageError("spatial distillation needs teacher_frame_probs")
        spatial = spatial_distillation_loss(frame_logits, teacher_frame_probs)
        total = total + w_s * spatial
    if mixup is not None:
        total = total + w_m * mixup
    return SparcLossParts(
        total=total,
        main=main,
        consistency=consistency,
        spatial=spatial,
        mixup=mixup,
        fallback=fallback,
    )
