"""A small transformer word encoder over :class:`~videoqa.models.text.WordTokenizer` ids.

Stands in for the pretrained text encoders of the papers (BERT in VGT, Xiao et al.,
ECCV 2022, §3.5) where no weights can be downloaded: trainable word embeddings, learned
positions, pre-LN transformer layers (Vaswani et al., NeurIPS 2017, §3).

Positions count valid tokens only (``cumsum(mask) - 1``), so the encoding of a text does
not depend on how much padding its batch has or where the padding sits.
"""

from __future__ import annotations

import torch
from torch import nn

from videoqa.modules.attention import TransformerLayer


def token_positions(mask: torch.Tensor) -> torch.Tensor:
    """``(..., L)`` bool mask → ``(..., L)`` long index of each valid token among the
    valid tokens of its row (the last axis; 0 on padding before the first one). A
    ``(B, C, La)`` candidates mask gets positions per candidate."""
    return (mask.long().cumsum(dim=-1) - 1).clamp_min(0)


class WordEncoder(nn.Module):
    """Word embeddings + positions + ``layers`` transformer layers.

    Args:
        vocab_size: embedding rows (id 0 is padding).
        hidden: width H.
        max_len: most tokens per text (learned positions).
        layers: transformer layers (0 = embeddings only).
        heads: attention heads.
        dropout: dropout probability.
    """

    def __init__(
        self, vocab_size: int, hidden: int, max_len: int, layers: int, heads: int, dropout: float
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, hidden, padding_idx=0)
        self.position = nn.Embedding(max_len, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(TransformerLayer(hidden, heads, dropout) for _ in range(layers))
        self.out_norm = nn.LayerNorm(hidden)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``ids`` ``(N, L)`` long, ``mask`` ``(N, L)`` bool → ``(N, L)`` tokens ``(N, L, H)``.

        Raises:
            IndexError: a text has more valid tokens than ``max_len``.
        """
        x = self.dropout(self.norm(self.embed(ids) + self.position(token_positions(mask))))
        for layer in self.layers:
            x, _ = layer(x, mask)
        return self.out_norm(x)
