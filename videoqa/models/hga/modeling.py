"""HGA — Jiang & Han, "Reasoning with Heterogeneous Graph Alignment for Video Question
Answering", AAAI 2020.

The paper builds the network in four steps, all of them here:

1. **Representation** (§3.1): video units and words are each encoded by a BiLSTM. The
   paper's units are clips with appearance + motion features; here a unit is one frame
   feature (``QABatch.video``), linearly projected and contextualised by the temporal
   BiLSTM. Words use trainable embeddings (the paper's GloVe) and a BiLSTM.
2. **Fusion/alignment** (§3.2): co-attention between video units and words: one
   affinity matrix, video→word and word→video attended summaries added residually.
3. **Reasoning** (§3.3): one heterogeneous graph whose nodes are the aligned video units
   and words, with a learned soft adjacency (``softmax(φ(X)ψ(X)^T)``) and GCN layers.
4. **Answer prediction** (§3.4): attention pooling of the word nodes and of the video
   nodes (guided by the pooled words), fusion, and one score per question+answer pair;
   for multiple choice the paper scores every (question, candidate) pair separately,
   which is what :class:`HGAModel` does, and trains with a loss over the C scores.

Departures from the paper, for CPU cost: the question and each candidate are run
through the shared word BiLSTM separately (once per question, once per candidate) and
their word states are concatenated into the pair's word nodes, instead of running the
BiLSTM over the concatenated pair text C times; the pooled vectors are fused by an MLP
over ``[v, q, v⊙q]`` instead of the paper's bilinear block fusion.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from videoqa.models.base import QABatch, QAOutput, VideoQAModel
from videoqa.models.hga.configuration import HGAConfig
from videoqa.models.initialization import init_embeddings
from videoqa.models.registry import register_model
from videoqa.modules.attention import (
    AttentionPool,
    masked_mean,
    masked_softmax,
    mix_over_candidates,
    scatter_masked,
)
from videoqa.modules.graph import GraphReasoning
from videoqa.modules.recurrent import MaskedBiLSTM


class CoAttention(nn.Module):
    """Video↔word co-attention over one shared affinity matrix (HGA §3.2).

    ``S = (V W_a) Wᵀ / sqrt(H)``; ``V' = LN(V + softmax_words(S) W)``,
    ``W' = LN(W + softmax_frames(Sᵀ) V)``, each softmax over the valid side only.

    Args:
        hidden: width H.
        dropout: dropout on the attended summaries in training.
    """

    def __init__(self, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.affinity = nn.Linear(hidden, hidden, bias=False)
        self.norm_video = nn.LayerNorm(hidden)
        self.norm_words = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)
        self.scale = 1.0 / math.sqrt(hidden)

    def forward(
        self,
        video: torch.Tensor,
        video_mask: torch.Tensor,
        words: torch.Tensor,
        words_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``video`` ``(G, T, H)``, ``words`` ``(G, Lw, H)`` with their bool masks →
        aligned ``(G, T, H)`` video and ``(G, Lw, H)`` words."""
        scores = self.affinity(video) @ words.transpose(1, 2) * self.scale  # (G, T, Lw)
        to_words = masked_softmax(scores, words_mask[:, None, :])
        to_video = masked_softmax(scores.transpose(1, 2), video_mask[:, None, :])
        video = self.norm_video(video + self.dropout(to_words @ words))
        words = self.norm_words(words + self.dropout(to_video @ video))
        return video, words


@register_model
class HGAModel(VideoQAModel):
    """HGA multiple-choice scorer: ``QABatch`` → one score per (question, candidate) pair.

    Inputs: ``batch.video`` ``(B, T, D)`` with ``video_mask``; question ``(B, L)`` and
    candidates ``(B, C, La)`` word ids. ``batch.patches`` ``(B, T, P, Dp)`` is used only with
    ``slot_pooling`` (HGA's graph has no region nodes; the tokens are pooled into the
    video units). Outputs: ``logits`` ``(B, C)``; ``frame_weights`` ``(B, T)``: the video-node
    pooling attention of each pair (§3.4), averaged over candidates with their softmax
    probabilities (see :func:`~videoqa.modules.attention.mix_over_candidates`).

    Hidden frames and pad words take part nowhere: they are excluded from the BiLSTMs
    (:class:`~videoqa.modules.recurrent.MaskedBiLSTM`), the co-attention, the graph
    adjacency and the pooling, so the logits depend on visible frames only.

    Raises:
        UsageError: a batch that does not fit the config (:meth:`check_batch`).
    """

    config_class = HGAConfig
    model_type = "hga"

    def __init__(self, config: HGAConfig) -> None:
        super().__init__(config)
        h = config.hidden_size
        self.frame_proj = nn.Sequential(
            nn.Linear(config.feature_dim, h), nn.ReLU(), nn.Dropout(config.dropout)
        )
        self.slots = config.slot_pooling and config.patch_dim is not None
        if self.slots:
            self.slot_proj = nn.Sequential(
                nn.Linear(config.patch_dim, h), nn.ReLU(), nn.Dropout(config.dropout)
            )
            self.slot_pool = AttentionPool(h, guided=True)
        self.video_rnn = MaskedBiLSTM(h, h)
        self.embed = nn.Embedding(config.vocab_size, h, padding_idx=0)
        self.word_dropout = nn.Dropout(config.dropout)
        self.word_rnn = MaskedBiLSTM(h, h)
        self.co_attention = CoAttention(h, config.dropout)
        self.graph = GraphReasoning(h, config.num_layers, config.dropout)
        self.word_pool = AttentionPool(h)
        self.video_pool = AttentionPool(h, guided=True)
        self.fusion = nn.Sequential(
            nn.Linear(3 * h, h), nn.ELU(), nn.Dropout(config.dropout), nn.Linear(h, 1)
        )
        init_embeddings(self, config.embedding_std)

    def encode_video(
        self,
        video: torch.Tensor,
        mask: torch.Tensor,
        patches: torch.Tensor | None = None,
        question: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """§3.1 video units: ``(B, T, D)`` frames → ``(B, T, H)`` BiLSTM states (0 on
        hidden). With ``slot_pooling``, ``patches`` ``(B, T, P, Dp)`` and the ``(B, H)``
        pooled ``question``: unit = projected frame + question-guided pool of the
        frame's projected non-empty tokens."""
        units = self.frame_proj(scatter_masked(video, mask))
        if self.slots and patches is not None and question is not None:
            b, t, p, _ = patches.shape
            patches = scatter_masked(patches, mask)
            slot_mask = (patches != 0).any(dim=-1).view(b * t, p)
            tokens = self.slot_proj(patches).view(b * t, p, -1)
            pooled, _ = self.slot_pool(tokens, slot_mask, question.repeat_interleave(t, dim=0))
            units = units + pooled.view(b, t, -1)
        return self.video_rnn(units, mask)

    def encode_words(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """§3.1 words: ``(N, L)`` ids → ``(N, L, H)`` BiLSTM states (0 on pads)."""
        return self.word_rnn(self.word_dropout(self.embed(ids)), mask)

    def forward(self, batch: QABatch) -> QAOutput:
        """Score every candidate of ``batch`` (see the class docstring for shapes)."""
        self.check_batch(batch)
        b, c, la = batch.candidates.shape
        t = batch.num_frames
        question = self.encode_words(batch.question, batch.question_mask)
        pooled_q = masked_mean(question, batch.question_mask, dim=1)
        video = self.encode_video(batch.video, batch.video_mask, batch.patches, pooled_q)
        answers = self.encode_words(
            batch.candidates.view(b * c, la), batch.candidates_mask.view(b * c, la)
        )
        # one graph per (question, candidate) pair: G = B·C
        words = torch.cat([question.repeat_interleave(c, dim=0), answers], dim=1)
        words_mask = torch.cat(
            [
                batch.question_mask.repeat_interleave(c, dim=0),
                batch.candidates_mask.view(b * c, la),
            ],
            dim=1,
        )
        video = video.repeat_interleave(c, dim=0)
        video_mask = batch.video_mask.repeat_interleave(c, dim=0)
        video, words = self.co_attention(video, video_mask, words, words_mask)
        nodes, _ = self.graph(
            torch.cat([video, words], dim=1), torch.cat([video_mask, words_mask], dim=1)
        )
        video, words = nodes[:, :t], nodes[:, t:]
        q, _ = self.word_pool(words, words_mask)
        v, weights = self.video_pool(video, video_mask, q)
        logits = self.fusion(torch.cat([v, q, v * q], dim=-1)).view(b, c)
        return QAOutput(
            logits=logits, frame_weights=mix_over_candidates(weights.view(b, c, t), logits)
        )
