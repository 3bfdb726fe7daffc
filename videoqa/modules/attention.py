"""Masked attention building blocks shared by the VideoQA backbones.

Every block takes boolean masks (True = real token) and guarantees that masked keys get
exactly zero weight, so a model's output does not depend on the values of masked
tokens. Rows whose keys are all masked get all-zero weights instead of NaN.

Source: scaled dot-product multi-head attention, Vaswani et al., "Attention Is All You
Need", NeurIPS 2017, §3.2; pre-LayerNorm placement, Xiong et al., "On Layer
Normalization in the Transformer Architecture", ICML 2020.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None, dim: int = -1) -> torch.Tensor:
    """Softmax of ``scores`` over ``dim`` restricted to ``mask``.

    Args:
        scores: float tensor of any shape.
        mask: bool tensor broadcastable to ``scores`` (True = may be attended), or None.
        dim: the normalised dimension.

    Returns:
        Weights of ``scores``' shape, exactly 0 where ``mask`` is False, summing to 1 over
        ``dim`` where at least one entry is True and to 0 where none is.
    """
    if mask is None:
        return torch.softmax(scores, dim=dim)
    filled = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(filled, dim=dim) * mask


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """Mean of ``x`` over ``dim`` counting only entries where ``mask`` is True.

    Args:
        x: ``(..., N, D)`` values with ``dim`` the N axis.
        mask: ``(..., N)`` bool.

    Returns:
        ``(..., D)``; zeros where a row has no True entry.
    """
    weights = mask.to(x.dtype).unsqueeze(-1)
    total = (x * weights).sum(dim=dim)
    return total / weights.sum(dim=dim).clamp_min(1.0)


class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention with boolean masks (Vaswani et al. §3.2.2).

    Args:
        hidden: model width H (divisible by ``heads``).
        heads: number of heads.
        dropout: dropout on the attention weights in training.
    """

    def __init__(self, hidden: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden {hidden} not divisible by heads {heads}")
        self.heads = heads
        self.q = nn.Linear(hidden, hidden)
        self.k = nn.Linear(hidden, hidden)
        self.v = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        mask: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend from ``query`` to ``key`` (which also gives the values).

        Args:
            query: ``(B, Nq, H)``.
            key: ``(B, Nk, H)``.
            mask: ``(B, Nk)`` key mask or ``(B, Nq, Nk)`` pairwise mask, True = allowed.
            need_weights: also return the head-averaged weights.

        Returns:
            ``(B, Nq, H)`` output and, when asked, ``(B, Nq, Nk)`` weights (0 on masked keys).
        """
        b, nq, h = query.shape
        nk = key.shape[1]
        d = h // self.heads
        q = self.q(query).view(b, nq, self.heads, d).transpose(1, 2)
        k = self.k(key).view(b, nk, self.heads, d).transpose(1, 2)
        v = self.v(key).view(b, nk, self.heads, d).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)  # (B, heads, Nq, Nk)
        if mask is not None:
            mask = mask[:, None, None, :] if mask.dim() == 2 else mask[:, None]
        weights = masked_softmax(scores, mask)
        context = (self.dropout(weights) @ v).transpose(1, 2).reshape(b, nq, h)
        return self.out(context), weights.mean(dim=1) if need_weights else None


class TransformerLayer(nn.Module):
    """Pre-LayerNorm transformer block: self- (or cross-) attention, then a GELU MLP.

    Args:
        hidden: width H.
        heads: attention heads.
        dropout: dropout on the attention and MLP outputs (not on the attention
            probabilities: sampling a mask over every (query, key) pair costs about a
            sixth of a CPU training step at SpARC sizes).
        mlp_ratio: MLP width as a multiple of H.
    """

    def __init__(self, hidden: int, heads: int, dropout: float = 0.1, mlp_ratio: int = 2) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden)
        self.attn = MultiHeadAttention(hidden, heads)
        self.norm2 = nn.LayerNorm(hidden)
        self.mlp = nn.Sequential(
            nn.Linear(hidden, hidden * mlp_ratio),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden * mlp_ratio, hidden),
        )
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x`` ``(B, N, H)`` attends to itself, or to ``context`` ``(B, Nk, H)`` when given;
        ``mask`` as in :meth:`MultiHeadAttention.forward`. Returns ``(B, N, H)`` and the
        optional ``(B, N, Nk)`` weights."""
        normed = self.norm1(x)
        keys = normed if context is None else context
        attended, weights = self.attn(normed, keys, mask, need_weights)
        x = x + self.dropout(attended)
        x = x + self.dropout(self.mlp(self.norm2(x)))
        return x, weights


class AttentionPool(nn.Module):
    """Masked attention pooling of N tokens into one vector, optionally guided by a query.

    ``score_n = w^T tanh(W x_n + U q)``, ``a = softmax over visible n``, ``pooled = Σ a_n x_n``
    (additive attention, Bahdanau et al., ICLR 2015, §3.1; the pooling of HGA/VGT).

    Args:
        hidden: width H.
        guided: whether :meth:`forward` takes a ``(B, H)`` query.
    """

    def __init__(self, hidden: int, guided: bool = False) -> None:
        super().__init__()
        self.proj = nn.Linear(hidden, hidden)
        self.query = nn.Linear(hidden, hidden, bias=False) if guided else None
        self.score = nn.Linear(hidden, 1, bias=False)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, query: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool ``x`` ``(B, N, H)`` over ``mask`` ``(B, N)``.

        Returns:
            ``(B, H)`` pooled vector and ``(B, N)`` weights (0 on masked tokens).

        Raises:
            ValueError: a query is missing for a guided pool or given to an unguided one.
        """
        hidden = self.proj(x)
        if (query is None) != (self.query is None):
            raise ValueError("query must be given exactly when the pool is guided")
        if query is not None:
            hidden = hidden + self.query(query).unsqueeze(1)
        weights = masked_softmax(self.score(torch.tanh(hidden)).squeeze(-1), mask)
        return torch.einsum("bn,bnh->bh", weights, x), weights


def scatter_masked(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Zero the entries of ``values`` ``(B, N, ...)`` where ``mask`` ``(B, N)`` is False.

    Uses ``torch.where`` so masked NaN/inf values cannot leak (``0 * nan`` is NaN).
    """
    shape = mask.shape + (1,) * (values.dim() - mask.dim())
    return torch.where(mask.view(shape), values, torch.zeros((), dtype=values.dtype))


def mix_over_candidates(weights: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Frame weights of a multiple-choice model: the per-candidate attention over frames
    averaged with the candidates' answer probabilities.

    Args:
        weights: ``(B, C, T)`` per-candidate frame weights, each row summing to 1 over the
            visible frames (0 on hidden ones).
        logits: ``(B, C)`` candidate scores.

    Returns:
        ``(B, T)`` ``Σ_c softmax(logits)_c · weights_c``: still a distribution over the
        visible frames, dominated by the frames the favoured answer rests on.
    """
    return torch.einsum("bc,bct->bt", torch.softmax(logits, dim=-1), weights)


def gelu_mlp(hidden: int, out: int, dropout: float = 0.0) -> nn.Sequential:
    """``Linear(H, H) → GELU → Dropout → Linear(H, out)`` scoring/projection head."""
    return nn.Sequential(
        nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, out)
    )


__all__ = [
    "AttentionPool",
    "MultiHeadAttention",
    "TransformerLayer",
    "gelu_mlp",
    "masked_mean",
    "mix_over_candidates",
    "masked_softmax",
    "scatter_masked",
]
