"""The contrastive objectives of MCG's Multi-granularity Contrastive Learning (Yu et
al., arXiv:2410.09379, §3.3; checked against the released code, OpenMICG/mcg).

* **Instance level** (§3.3, "instance-grained"; the released ``VTC`` loss): the video's
  CLS feature ``v_i`` and the question's (or caption's) CLS feature ``t_i``, both
  projected to the shared space and L2-normalised, form a symmetric InfoNCE

  ``L_inst = ½ [ −(1/B) Σ_i log softmax_j(v_i·t_j / τ)_i − (1/B) Σ_i log softmax_j(t_i·v_j / τ)_i ]``

  with a learnable temperature ``τ`` (initial 0.07, clamped to [0.001, 0.5]); under
  ``torch.distributed`` the negatives ``j`` run over the features of every process
  (``all_gather``), the positives being this process's slice.
* **Token level** (§3.3, "token-grained"; the released ``MCL`` local loss, after
  GLoRIA, Huang et al. 2021): every word attends to the patches
  (``a_{wp} = softmax_p(w·p / τ_l)``, ``τ_l = 0.1``) giving a visual context
  ``c_w = normalise(Σ_p a_{wp} p)``; the words of a sample are then contrasted with
  their own contexts, ``s_{wk} = w·c_k / τ_l``, by cross-entropy in both directions
  (word→context and context→word), each word's term weighted by its importance —
  the last text layer's CLS attention, clipped to its 10–90 % quantiles and normalised
  to sum 1. The same is done from the patches' side (patches attend to the words,
  weights from the video CLS attention). ``L_tok = L_word + L_patch``. Pad words are
  masked everywhere (as attention keys, as contrast candidates and as rows).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from videoqa.errors import UsageError

#: initial value and clamp range of the learnable instance temperature (released code).
TEMPERATURE_INIT = 0.07
TEMPERATURE_RANGE = (0.001, 0.5)
#: temperature of the token-level contrast (released: ``mcl_local_temperature``).
TOKEN_TEMPERATURE = 0.1
#: quantiles the importance weights are clipped to.
WEIGHT_QUANTILES = (0.1, 0.9)

_NEG = -1e9


def _gather(features: Tensor) -> tuple[Tensor, int]:
    """``(B, D)`` → the features of every process ``(world·B, D)`` (gradients flow to
    this process's slice) and this process's offset; unchanged when not distributed."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return features, 0
    world = torch.distributed.get_world_size()
    if world == 1:
        return features, 0
    from torch.distributed.nn.functional import all_gather

    parts = all_gather(features)
    return torch.cat(list(parts), dim=0), torch.distributed.get_rank() * features.shape[0]


def instance_contrastive_loss(video: Tensor, text: Tensor, temperature: Tensor | float) -> Tensor:
    """Symmetric video–text InfoNCE (MCG §3.3, instance level; see the module doc).

    Args:
        video: ``(B, D)`` L2-normalised video features (projected CLS).
        text: ``(B, D)`` L2-normalised text features (projected CLS); row ``i`` is the
            positive of ``video[i]``.
        temperature: τ > 0 (a scalar tensor when learnable; clamp it before calling).

    Returns:
        scalar loss in nats: ``log B`` when every similarity is equal; → 0 when each
        pair is much closer than every other.

    Raises:
        UsageError: shapes differ or the batch is empty.
    """
    if video.shape != text.shape or video.dim() != 2 or video.shape[0] == 0:
        raise UsageError(f"video {tuple(video.shape)} and text {tuple(text.shape)} must be (B, D)")
    all_text, offset = _gather(text)
    all_video, _ = _gather(video)
    targets = torch.arange(video.shape[0], device=video.device) + offset
    v2t = video @ all_text.t() / temperature
    t2v = text @ all_video.t() / temperature
    return 0.5 * (F.cross_entropy(v2t, targets) + F.cross_entropy(t2v, targets))


def clip_weights(
    weights: Tensor, mask: Tensor | None = None, quantiles: tuple[float, float] = WEIGHT_QUANTILES
) -> Tensor:
    """Importance weights clipped to their per-row quantiles and normalised (MCG's
    token-level weighting, released code).

    Args:
        weights: ``(B, N)`` non-negative (e.g. CLS attention to each word / patch).
        mask: ``(B, N)`` bool, True = valid (pad words False); None = all valid.
        quantiles: ``(low, high)`` quantiles over the valid entries of each row.

    Returns:
        ``(B, N)``: ``clip(w, q_low, q_high)`` on valid entries, 0 elsewhere, each row
        summing to 1 (uniform over the valid entries if they were all 0). No gradient.
    """
    weights = weights.detach().float()
    if mask is None:
        mask = torch.ones_like(weights, dtype=torch.bool)
    out = torch.zeros_like(weights)
    for i in range(weights.shape[0]):
        valid = weights[i][mask[i]]
        if valid.numel() == 0:
            continue
        low = torch.quantile(valid, quantiles[0])
        high = torch.quantile(valid, quantiles[1])
        clipped = valid.clamp(min=low, max=high)
        if float(clipped.sum()) <= 0:
            clipped = torch.ones_like(clipped)
        out[i][mask[i]] = clipped / clipped.sum()
    return out


def attend(queries: Tensor, keys: Tensor, key_mask: Tensor | None, temperature: float) -> Tensor:
    """Attention of each query on the keys: ``softmax_k(q·k / τ)`` with masked keys
    excluded: ``(B, Nq, D)``, ``(B, Nk, D)``, ``(B, Nk)`` → ``(B, Nq, Nk)``."""
    logits = queries @ keys.transpose(1, 2) / temperature
    if key_mask is not None:
        logits = logits.masked_fill(~key_mask[:, None, :], _NEG)
    return torch.softmax(logits, dim=-1)


def _one_side(
    queries: Tensor,
    query_mask: Tensor,
    query_weights: Tensor,
    keys: Tensor,
    key_mask: Tensor,
    temperature: float,
) -> Tensor:
    """One side of the token-level loss: queries attend to keys, then are contrasted
    with their own attended contexts in both directions, weighted (see module doc)."""
    context = F.normalize(attend(queries, keys, key_mask, temperature) @ keys, dim=-1)
    sim = queries @ context.transpose(1, 2) / temperature  # (B, N, N): query n vs context k
    cand = query_mask[:, None, :]
    forward = torch.log_softmax(sim.masked_fill(~cand, _NEG), dim=-1).diagonal(dim1=1, dim2=2)
    backward = torch.log_softmax(sim.transpose(1, 2).masked_fill(~cand, _NEG), dim=-1)
    backward = backward.diagonal(dim1=1, dim2=2)
    per_query = -(forward + backward) / 2 * query_mask
    return (per_query * query_weights).sum() / queries.shape[0]


def token_contrastive_loss(
    words: Tensor,
    word_mask: Tensor,
    word_weights: Tensor,
    patches: Tensor,
    patch_weights: Tensor,
    temperature: float = TOKEN_TEMPERATURE,
    patch_mask: Tensor | None = None,
) -> Tensor:
    """Token-level word↔patch contrast (MCG §3.3; see the module doc).

    Args:
        words: ``(B, W, D)`` L2-normalised word features (pieces summed to words).
        word_mask: ``(B, W)`` bool, True = a real word.
        word_weights: ``(B, W)`` importance of each word (raw CLS attention; clipped to
            the 10–90 % quantiles and normalised here).
        patches: ``(B, P, D)`` L2-normalised patch features (all frames' patches).
        patch_weights: ``(B, P)`` importance of each patch (raw video CLS attention).
        temperature: τ_l (0.1).
        patch_mask: ``(B, P)`` bool or None (all patches valid).

    Returns:
        scalar ``L_word + L_patch`` in nats (0 for one word and one patch).

    Raises:
        UsageError: the widths or batch sizes differ, or a sample has no word.
    """
    if words.shape[0] != patches.shape[0] or words.shape[2] != patches.shape[2]:
        raise UsageError(f"words {tuple(words.shape)} and patches {tuple(patches.shape)} differ")
    if not bool(word_mask.any(dim=1).all()):
        raise UsageError("every sample needs at least one word")
    if patch_mask is None:
        patch_mask = torch.ones(patches.shape[:2], dtype=torch.bool, device=patches.device)
    w_weights = clip_weights(word_weights, word_mask).to(words.dtype)
    p_weights = clip_weights(patch_weights, patch_mask).to(words.dtype)
    loss_word = _one_side(words, word_mask, w_weights, patches, patch_mask, temperature)
    loss_patch = _one_side(patches, patch_mask, p_weights, words, word_mask, temperature)
    return loss_word + loss_patch


__all__ = [
    "TEMPERATURE_INIT",
    "TEMPERATURE_RANGE",
    "TOKEN_TEMPERATURE",
    "attend",
    "clip_weights",
    "instance_contrastive_loss",
    "token_contrastive_loss",
]
