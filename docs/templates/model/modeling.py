"""Example: a minimal discriminative VideoQA backbone (the template of a model folder).

Frames ``(B, T, D)`` are projected to ``H`` with a learned temporal position, read by
``num_layers`` transformer layers that attend to visible frames only; the question
(masked mean of word embeddings) attends over the frames; each candidate answer
(masked mean of its word embeddings) is scored against ``[v; q; v ⊙ q]``. Hidden frames
and pad words take part nowhere, so the logits depend on the visible frames only — the
contract of :class:`~videoqa.models.contract.DiscriminativeQA` that the shared tests
check (``tests/models/test_every_model.py``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from videoqa.models.example.configuration import ExampleConfig

from videoqa.models.base import QABatch, QAOutput, VideoQAModel
from videoqa.models.registry import register_model
from videoqa.modules.attention import TransformerLayer, masked_mean, masked_softmax, scatter_masked


@register_model
class ExampleModel(VideoQAModel):
    """Example multiple-choice scorer: :class:`QABatch` → :class:`QAOutput`.

    Inputs: ``batch.video`` ``(B, T, D)`` with ``video_mask`` ``(B, T)``; ``question``
    ``(B, L)`` and ``candidates`` ``(B, C, La)`` word ids with their masks
    (``patches`` unused). Outputs: ``logits`` ``(B, C)``; ``frame_weights`` ``(B, T)``,
    the question's attention over the visible frames (sums to 1, 0 on hidden frames).

    Checkpoints: ``save_pretrained`` / ``from_pretrained`` (``model_type`` ``"example"``)
    from :class:`~videoqa.persistence.PretrainedMixin` — nothing to write here.

    Raises:
        UsageError: a batch that does not fit the config (:meth:`check_batch`).
    """

    config_class = ExampleConfig
    model_type = "example"

    def __init__(self, config: ExampleConfig) -> None:
        super().__init__(config)
        h = config.hidden_size
        self.frame_proj = nn.Linear(config.feature_dim, h)
        self.position = nn.Embedding(config.max_frames, h)
        self.layers = nn.ModuleList(
            TransformerLayer(h, config.num_heads, config.dropout) for _ in range(config.num_layers)
        )
        self.norm = nn.LayerNorm(h)
        self.words = nn.Embedding(config.vocab_size, h, padding_idx=0)
        self.fuse = nn.Sequential(nn.Linear(3 * h, h), nn.GELU(), nn.Dropout(config.dropout))
        self.answer = nn.Linear(h, h)
        self.scale = 1.0 / math.sqrt(h)

    def encode_video(self, video: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(B, T, D)`` frames → ``(B, T, H)`` states that read visible frames only."""
        t = video.shape[1]
        x = self.frame_proj(scatter_masked(video, mask)) + self.position.weight[:t]
        for layer in self.layers:
            x, _ = layer(x, mask)
        return self.norm(x)

    def forward(self, batch: QABatch) -> QAOutput:
        """Score every candidate of ``batch`` (shapes in the class docstring)."""
        self.check_batch(batch)
        frames = self.encode_video(batch.video, batch.video_mask)
        q = masked_mean(self.words(batch.question), batch.question_mask, dim=1)  # (B, H)
        weights = masked_softmax(
            torch.einsum("bth,bh->bt", frames, q) * self.scale, batch.video_mask
        )
        v = torch.einsum("bt,bth->bh", weights, frames)
        z = self.fuse(torch.cat([v, q, v * q], dim=-1))  # (B, H)
        answers = masked_mean(self.words(batch.candidates), batch.candidates_mask, dim=2)
        logits = torch.einsum("bh,bch->bc", z, self.answer(answers))
        return QAOutput(logits=logits, frame_weights=weights)
