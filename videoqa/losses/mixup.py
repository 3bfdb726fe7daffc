"""Temporal-guided mixup (SpARC §3.5) and plain video mixup (Zhang et al., ICLR 2018).

Temporal-guided mixup (TGM): for a batch permutation ``j = π(i)`` and ``λ ~ Beta(α, β)``
(one draw per sample), the mixed video ``V̂_i`` keeps sample ``i``'s non-causal frames
and replaces each causal frame by ``λ·f^i_c + (1 − λ)·f^j_c``. ``j``'s causal frames are
aligned to ``i``'s causal positions by order: the ``r``-th of ``n_i`` causal frames of
``i`` is mixed with ``j``'s causal frame number ``⌊(r + ½)·n_j / n_i⌋`` (nearest-index
resampling; the identity when ``n_i = n_j``). The answer follows the mixed causal part:

    ``L_m = λ·CE(M(V̂, Q_i), a_i) + (1 − λ)·CE(M(V̂, Q_j), a_j)``

(candidates differ per question, so labels are mixed in the loss; the two question
passes run as one forward of ``2B`` rows, see :func:`mixup_pair_rows`).

Plain mixup (the baseline's): whole videos are mixed, ``V̂ = λ·V_i + (1 − λ)·V_j`` with
invisible frames zeroed first and the union of the masks visible; same loss form.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from videoqa.errors import UsageError


@dataclass(frozen=True)
class MixedVideo:
    """A mixed batch of videos.

    Attributes:
        video: ``(B, T, D)`` mixed frame features.
        video_mask: ``(B, T)`` bool visible frames of the mixed videos.
        permutation: ``(B,)`` long, ``j = π(i)``, the partner of each row.
        lam: ``(B,)`` float, weight of row ``i``'s own content (``λ``).
        patches: ``(B, T, P, Dp)`` patch/region tokens mixed at the same frames with the
            same ``λ``, or None when the batch has none.
    """

    video: Tensor
    video_mask: Tensor
    permutation: Tensor
    lam: Tensor
    patches: Tensor | None = None


def sample_mixup(batch_size: int, alpha: float, beta: float) -> tuple[Tensor, Tensor]:
    """Draw a batch permutation ``π`` and per-sample ``λ ~ Beta(α, β)`` from torch's global
    RNG (seeded by the trainer and saved in its checkpoints).

    Returns:
        ``(permutation (B,) long, lam (B,) float32)``.

    Raises:
        UsageError: when ``alpha`` or ``beta`` is not positive.
    """
    if alpha <= 0 or beta <= 0:
        raise UsageError(f"Beta(alpha, beta) needs positive parameters, got ({alpha}, {beta})")
    perm = torch.randperm(batch_size)
    dist = torch.distributions.Beta(torch.tensor(float(alpha)), torch.tensor(float(beta)))
    return perm, dist.sample((batch_size,)).float()


def _aligned_partner_positions(causal_mask: Tensor, permutation: Tensor) -> Tensor:
    """For each causal position of row ``i``, the position of the aligned causal frame of
    row ``π(i)`` (``(B, T)`` long; 0 at non-causal positions)."""
    mask = causal_mask.bool()
    b, t = mask.shape
    counts = mask.sum(dim=1)
    rank = mask.long().cumsum(dim=1) - 1  # order of each causal frame in its row
    key = (~mask).long() * t + torch.arange(t, device=mask.device)
    positions = key.argsort(dim=1)  # causal positions first, in order
    n_i = counts.unsqueeze(1)
    n_j = counts[permutation].unsqueeze(1)
    src_rank = torch.div((2 * rank.clamp_min(0) + 1) * n_j, 2 * n_i, rounding_mode="floor")
    src_rank = src_rank.clamp(max=t - 1)
    partner = positions[permutation].gather(1, src_rank)
    return torch.where(mask, partner, torch.zeros_like(partner))


def temporal_guided_mixup(
    video: Tensor,
    video_mask: Tensor,
    causal_mask: Tensor,
    permutation: Tensor,
    lam: Tensor,
    patches: Tensor | None = None,
) -> MixedVideo:
    """Mix the causal frames of each video with its partner's (SpARC §3.5).

    Args:
        video: ``(B, T, D)`` frame features.
        video_mask: ``(B, T)`` bool visible frames (kept as is).
        causal_mask: ``(B, T)`` bool causal frames (see
            :func:`~videoqa.losses.sparc.causal_frame_mask`), >= 1 per row.
        permutation: ``(B,)`` long partner index ``j = π(i)``.
        lam: ``(B,)`` float ``λ`` per row.
        patches: optional ``(B, T, P, Dp)`` tokens of the same frames, mixed alike.

    Returns:
        :class:`MixedVideo`; non-causal frames of row ``i`` are bit-identical to the input.

    Raises:
        UsageError: on mismatched shapes or a row without causal frames.
    """
    b, t, _ = video.shape
    if causal_mask.shape != (b, t) or video_mask.shape != (b, t):
        raise UsageError(f"masks must be (B, T) = {(b, t)}")
    if permutation.shape != (b,) or lam.shape != (b,):
        raise UsageError(f"permutation and lam must be ({b},)")
    mask = causal_mask.bool()
    if not bool(mask.any(dim=1).all()):
        raise UsageError("every row needs at least one causal frame to mix")
    partner_pos = _aligned_partner_positions(mask, permutation)

    def mix(x: Tensor) -> Tensor:
        flat = x.reshape(b, t, -1)
        index = partner_pos.unsqueeze(-1).expand(-1, -1, flat.shape[2])
        partner = flat[permutation].gather(1, index)
        lam_ = lam.to(x.dtype).view(b, 1, 1)
        out = torch.where(mask.unsqueeze(-1), lam_ * flat + (1 - lam_) * partner, flat)
        return out.reshape(x.shape)

    mixed_patches = None if patches is None else mix(patches)
    return MixedVideo(
        video=mix(video),
        video_mask=video_mask,
        permutation=permutation,
        lam=lam,
        patches=mixed_patches,
    )


def plain_mixup(
    video: Tensor,
    video_mask: Tensor,
    permutation: Tensor,
    lam: Tensor,
    patches: Tensor | None = None,
) -> MixedVideo:
    """Mix whole videos: ``V̂_i = λ_i·V_i + (1 − λ_i)·V_{π(i)}`` (Zhang et al., 2018).

    Args:
        video: ``(B, T, D)``; invisible frames are zeroed before mixing.
        video_mask: ``(B, T)`` bool; the mixed mask is ``mask_i | mask_π(i)``.
        permutation: ``(B,)`` long; lam: ``(B,)`` float.
        patches: optional ``(B, T, P, Dp)`` tokens, mixed alike.

    Returns:
        :class:`MixedVideo`.
    """
    b = video.shape[0]
    if permutation.shape != (b,) or lam.shape != (b,):
        raise UsageError(f"permutation and lam must be ({b},)")
    visible = video_mask.bool()

    def mix(x: Tensor) -> Tensor:
        flat = x.reshape(b, visible.shape[1], -1)
        clean = flat * visible.unsqueeze(-1).to(x.dtype)
        lam_ = lam.to(x.dtype).view(b, 1, 1)
        return (lam_ * clean + (1 - lam_) * clean[permutation]).reshape(x.shape)

    return MixedVideo(
        video=mix(video),
        video_mask=visible | visible[permutation],
        permutation=permutation,
        lam=lam,
        patches=None if patches is None else mix(patches),
    )


def mixup_pair_rows(permutation: Tensor) -> Tensor:
    """Row indices ``(2B,)`` = ``[0..B-1, π(0)..π(B-1)]``: the questions of the two passes
    of :func:`mixup_loss` stacked into one ``2B`` batch (mixed video repeated twice)."""
    b = permutation.shape[0]
    return torch.cat([torch.arange(b, device=permutation.device), permutation])


def mixup_loss(
    own_logits: Tensor, partner_logits: Tensor, answers: Tensor, permutation: Tensor, lam: Tensor
) -> Tensor:
    """``L_m = mean_i [λ_i·CE(M(V̂_i, Q_i), a_i) + (1 − λ_i)·CE(M(V̂_i, Q_j), a_j)]``.

    Args:
        own_logits: ``(B, C)`` scores of the mixed video with row ``i``'s own question.
        partner_logits: ``(B, C)`` scores of the mixed video with the partner's question
            and candidates.
        answers: ``(B,)`` long correct candidates (of the unpermuted batch).
        permutation: ``(B,)`` long ``π``; lam: ``(B,)`` float ``λ``.

    Returns:
        Scalar tensor.
    """
    own = F.cross_entropy(own_logits, answers, reduction="none")
    other = F.cross_entropy(partner_logits, answers[permutation], reduction="none")
    lam = lam.to(own.dtype)
    return (lam * own + (1 - lam) * other).mean()
