"""VGT — Xiao et al., "Video Graph Transformer for Video Question Answering", ECCV 2022.

Structure (sections of the paper):

* §3.2 **Video graph representation + dynamic graph transformer (DGT)**: each frame is a
  graph over its region nodes (here ``QABatch.patches`` ``(B, T, P, Dp)``, nodes aligned
  by index across frames as the paper's linked object tracks; when ``patches`` is None
  or the config has no ``patch_dim``, each frame is a single node made from its frame
  feature). A DGT layer runs a *temporal node transformer* (each node attends to the same
  node in the other visible frames of its clip of ``clip_len`` frames: object dynamics)
  and a *spatial graph convolution* over dot-product edges between the nodes of one
  frame. *Hierarchical aggregation* pools the nodes of a frame by attention and adds the
  frame's global feature, giving one token per frame.
* §3.3 **Cross-modal interaction**: the question is integrated at the node level (each
  region node attends to the question's word tokens and the nodes of a frame are pooled
  by question-guided attention, so "the small object" selects its node) and at the frame
  level (frame tokens attend to the word tokens).
* §3.4 **Global transformer**: a temporal transformer over the frame tokens.
* §3.5 **Answer prediction**: the video-question representation ``f_qv`` (question-guided
  attention pooling of the frame tokens, fused with the question) is compared by dot
  product with each candidate's text representation ``f_a``; the paper's
  contrastive formulation (softmax over the C similarities). The paper's BERT text
  encoder is :class:`~videoqa.modules.text.WordEncoder` here; candidates are encoded as
  ``question [SEP] answer`` when ``pair_question_answer`` is set.

Departures: the paper's edge transformer over the adjacency matrices across frames is
left out (edges are recomputed per frame from the node features after the temporal node
transformer); frame tokens are kept through the global transformer instead of pooling
each clip into one token, so ``frame_weights`` are per frame.
"""

from __future__ import annotations

import torch
from torch import nn

from videoqa.errors import UsageError
from videoqa.models.base import QABatch, QAOutput, VideoQAModel
from videoqa.models.initialization import init_embeddings
from videoqa.models.registry import register_model
from videoqa.models.text import SEP
from videoqa.models.vgt.configuration import VGTConfig
from videoqa.modules.attention import AttentionPool, TransformerLayer, masked_mean, scatter_masked
from videoqa.modules.graph import GraphReasoning
from videoqa.modules.text import WordEncoder


def clip_attention_mask(video_mask: torch.Tensor, clip_len: int) -> torch.Tensor:
    """``(B, T)`` visible frames → ``(B, T, T)`` bool: frame i may attend to frame j when
    both lie in the same clip ``⌊i / clip_len⌋ = ⌊j / clip_len⌋`` and j is visible."""
    clip = torch.arange(video_mask.shape[1], device=video_mask.device) // clip_len
    return (clip[:, None] == clip[None, :]).unsqueeze(0) & video_mask[:, None, :]


class DynamicGraphLayer(nn.Module):
    """One DGT layer (VGT §3.2): temporal node transformer, then spatial graph convolution.

    Args:
        hidden: node width H.
        heads: attention heads of the node transformer.
        dropout: dropout probability.
    """

    def __init__(self, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.temporal = TransformerLayer(hidden, heads, dropout)
        self.spatial = GraphReasoning(hidden, 1, dropout)

    def forward(
        self, nodes: torch.Tensor, clip_mask: torch.Tensor, node_mask: torch.Tensor
    ) -> torch.Tensor:
        """``nodes`` ``(B, T, P, H)``, ``clip_mask`` ``(B, T, T)``, ``node_mask``
        ``(B, T, P)`` bool (True = a node) → ``(B, T, P, H)``. A node attends to its own
        track in the frames of its clip where that track is a node, and to the nodes of
        its frame."""
        b, t, p, h = nodes.shape
        tracks = nodes.transpose(1, 2).reshape(b * p, t, h)
        track_mask = clip_mask.unsqueeze(1) & node_mask.transpose(1, 2).unsqueeze(2)
        tracks, _ = self.temporal(tracks, track_mask.reshape(b * p, t, t))
        frames = tracks.view(b, p, t, h).transpose(1, 2).reshape(b * t, p, h)
        frames, _ = self.spatial(frames, node_mask.reshape(b * t, p))
        return frames.view(b, t, p, h)


@register_model
class VGTModel(VideoQAModel):
    """VGT multiple-choice scorer: ``QABatch`` → ``QAOutput``.

    Inputs: ``video`` ``(B, T, D)``, ``video_mask`` ``(B, T)``, optional ``patches``
    ``(B, T, P, Dp)`` (used when ``config.patch_dim`` is set; P ≤ ``max_patches``),
    question ``(B, L)`` and candidates ``(B, C, La)`` word ids. Outputs: ``logits``
    ``(B, C)`` = ``f_qv · f_a`` (§3.5) and ``frame_weights`` ``(B, T)``, the
    question-guided pooling attention over frame tokens.

    Hidden frames are zeroed on input and masked in every attention and pooling, so the
    logits depend on visible frames only. With ``mask_empty_nodes`` an all-zero patch
    (an empty object slot) is masked the same way: it is no node of the graph.

    Raises:
        UsageError: a batch that does not fit the config (:meth:`check_batch`), or
            patches whose Dp differs from ``patch_dim`` or with more than ``max_patches``.
    """

    config_class = VGTConfig
    model_type = "vgt"

    def __init__(self, config: VGTConfig) -> None:
        super().__init__(config)
        h, heads, p = config.hidden_size, config.num_heads, config.dropout
        self.frame_proj = nn.Sequential(nn.Linear(config.feature_dim, h), nn.LayerNorm(h))
        if config.patch_dim is not None:
            self.node_proj = nn.Sequential(nn.Linear(config.patch_dim, h), nn.LayerNorm(h))
            self.node_position = nn.Embedding(config.max_patches, h)
        self.graph_layers = nn.ModuleList(
            DynamicGraphLayer(h, heads, p) for _ in range(config.graph_layers)
        )
        self.node_cross = TransformerLayer(h, heads, p)
        self.node_pool = AttentionPool(h, guided=True)
        self.frame_norm = nn.LayerNorm(h)
        self.text = WordEncoder(
            config.vocab_size, h, 2 * config.max_text_len + 1, config.text_layers, heads, p
        )
        self.cross_modal = TransformerLayer(h, heads, p)
        self.time = nn.Embedding(config.max_frames, h)
        self.global_layers = nn.ModuleList(
            TransformerLayer(h, heads, p) for _ in range(config.num_layers)
        )
        self.video_pool = AttentionPool(h, guided=True)
        self.video_question = nn.Sequential(nn.Linear(2 * h, h), nn.GELU(), nn.Linear(h, h))
        self.answer_proj = nn.Linear(h, h)
        init_embeddings(self, config.embedding_std)

    def _nodes(self, batch: QABatch, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """§3.2 graph nodes ``(B, T, P, H)`` (projected patches, or the frame token alone)
        and their ``(B, T, P)`` bool mask: visible frames, and with
        ``mask_empty_nodes`` only patches that are not all zeros."""
        cfg = self.config
        if cfg.patch_dim is None or batch.patches is None:
            return frames.unsqueeze(2), batch.video_mask.unsqueeze(2)
        if batch.patches.shape[-1] != cfg.patch_dim or batch.patches.shape[2] > cfg.max_patches:
            raise UsageError(
                f"patches {tuple(batch.patches.shape)} do not fit patch_dim={cfg.patch_dim}, "
                f"max_patches={cfg.max_patches}"
            )
        patches = scatter_masked(batch.patches, batch.video_mask)
        index = torch.arange(patches.shape[2], device=patches.device)
        mask = batch.video_mask.unsqueeze(2).expand(patches.shape[:3])
        if cfg.mask_empty_nodes:
            mask = mask & (patches != 0).any(dim=-1)
        return self.node_proj(patches) + self.node_position(index), mask

    def encode_video(
        self, batch: QABatch, question: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """§3.2–3.4: ``(B, T, H)`` frame tokens after DGT, cross-modal interaction with the
        ``(B, L, H)`` question tokens and the global transformer; also returns the
        ``(B, T, T)`` clip mask used."""
        mask = batch.video_mask
        frames = self.frame_proj(scatter_masked(batch.video, mask))
        nodes, node_mask = self._nodes(batch, frames)
        clip_mask = clip_attention_mask(mask, self.config.clip_len)
        for layer in self.graph_layers:
            nodes = layer(nodes, clip_mask, node_mask)
        b, t, p, h = nodes.shape
        # node-level question interaction: every node of every frame attends to the
        # question's words, so the (B, T·P) nodes attend to the (B, L) words at once
        flat, _ = self.node_cross(nodes.reshape(b, t * p, h), batch.question_mask, context=question)
        flat = flat.reshape(b * t, p, h)
        q = masked_mean(question, batch.question_mask, dim=1).repeat_interleave(t, dim=0)
        pooled, _ = self.node_pool(flat, node_mask.reshape(b * t, p), q)
        tokens = self.frame_norm(frames + pooled.view(b, t, h))
        tokens, _ = self.cross_modal(tokens, batch.question_mask, context=question)
        tokens = tokens + self.time(torch.arange(t, device=tokens.device))
        for layer in self.global_layers:
            tokens, _ = layer(tokens, mask)
        return tokens, clip_mask

    def encode_answers(self, batch: QABatch) -> torch.Tensor:
        """§3.5 candidate representations ``f_a`` ``(B, C, H)``."""
        b, c, la = batch.candidates.shape
        ids = batch.candidates.view(b * c, la)
        mask = batch.candidates_mask.view(b * c, la)
        if self.config.pair_question_answer:
            sep = torch.full((b * c, 1), SEP, dtype=ids.dtype, device=ids.device)
            ids = torch.cat([batch.question.repeat_interleave(c, dim=0), sep, ids], dim=1)
            mask = torch.cat(
                [batch.question_mask.repeat_interleave(c, dim=0), sep > 0, mask], dim=1
            )
        tokens = self.text(ids, mask)
        pool = mask
        if self.config.pair_question_answer and self.config.answer_pool == "answer":
            pool = mask.clone()
            pool[:, : batch.question.shape[1] + 1] = False  # the question and [SEP]
        return self.answer_proj(masked_mean(tokens, pool, dim=1)).view(b, c, -1)

    def forward(self, batch: QABatch) -> QAOutput:
        """Score every candidate of ``batch`` (see the class docstring for shapes)."""
        self.check_batch(batch)
        question = self.text(batch.question, batch.question_mask)
        q = masked_mean(question, batch.question_mask, dim=1)
        tokens, _ = self.encode_video(batch, question)
        v, weights = self.video_pool(tokens, batch.video_mask, q)
        f_qv = self.video_question(torch.cat([v, q], dim=-1))
        logits = torch.einsum("bh,bch->bc", f_qv, self.encode_answers(batch))
        return QAOutput(logits=logits, frame_weights=weights)
