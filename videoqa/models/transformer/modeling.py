"""Single-stream transformer baseline for multiple-choice VideoQA.

One transformer encoder (Vaswani et al., NeurIPS 2017, §3.1; pre-LN) reads the frame
tokens, the question words and, for every candidate, a ``[CLS]`` token followed by the
candidate's words; each candidate's ``[CLS]`` output is scored by a linear head, the
usual single-stream recipe (e.g. the cross-modal baselines of Lei et al., TVQA,
EMNLP 2018, §5, and the BERT-style multiple-choice head of Devlin et al., NAACL 2019,
§4.4).

To avoid running the frames and question C times, the C candidates share one sequence
per question with a block attention mask: frame and question tokens attend to frame and
question tokens only (so they are encoded once), and each candidate's ``[CLS]`` and words
attend to the frames, the question and their own candidate. This is exactly C separate
``frames + question + candidate`` encoders whose shared prefix does not look at the
candidate.
"""

from __future__ import annotations

import torch
from torch import nn

from videoqa.models.base import QABatch, QAOutput, VideoQAModel
from videoqa.models.initialization import init_embeddings
from videoqa.models.registry import register_model
from videoqa.models.transformer.configuration import TransformerQAConfig
from videoqa.modules.attention import TransformerLayer, mix_over_candidates, scatter_masked
from videoqa.modules.text import token_positions

FRAME, QUESTION, CLS_TYPE, ANSWER = 0, 1, 2, 3


def joint_attention_mask(shared: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """Block mask of the joint sequence ``[shared (S) | cand 1 (1+La) | … | cand C]``.

    Args:
        shared: ``(B, S)`` bool validity of the frame + question tokens.
        candidates: ``(B, C, 1+La)`` bool validity of each candidate group (``[CLS]`` first).

    Returns:
        ``(B, N, N)`` bool, N = S + C(1+La): query i may attend to key j.
    """
    b, s = shared.shape
    _, c, g = candidates.shape
    group = torch.cat(
        [
            torch.full((s,), -1, device=shared.device),
            torch.arange(c, device=shared.device).repeat_interleave(g),
        ]
    )
    key_valid = torch.cat([shared, candidates.reshape(b, c * g)], dim=1)  # (B, N)
    # shared keys are visible to everyone; a candidate's keys only to its own group
    allowed = (group[None, :] == -1) | (group[:, None] == group[None, :])
    return allowed.unsqueeze(0) & key_valid[:, None, :]


@register_model
class TransformerQAModel(VideoQAModel):
    """Single-stream transformer scorer: ``QABatch`` → ``QAOutput``.

    Inputs: ``video`` ``(B, T, D)``, ``video_mask`` ``(B, T)``, question ``(B, L)``,
    candidates ``(B, C, La)``; ``patches`` are not used. Outputs: ``logits`` ``(B, C)``
    from each candidate's ``[CLS]``; ``frame_weights`` ``(B, T)``: the last layer's
    ``[CLS]`` attention on the frames (head-averaged, renormalised over frames), averaged
    over candidates with their softmax probabilities.

    Raises:
        UsageError: a batch that does not fit the config (:meth:`check_batch`).
    """

    config_class = TransformerQAConfig
    model_type = "transformer"

    def __init__(self, config: TransformerQAConfig) -> None:
        super().__init__(config)
        h = config.hidden_size
        self.frame_proj = nn.Linear(config.feature_dim, h)
        self.time = nn.Embedding(config.max_frames, h)
        self.embed = nn.Embedding(config.vocab_size, h, padding_idx=0)
        self.position = nn.Embedding(config.max_text_len + 1, h)
        self.token_type = nn.Embedding(4, h)
        self.input_norm = nn.LayerNorm(h)
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(
            TransformerLayer(h, config.num_heads, config.dropout) for _ in range(config.num_layers)
        )
        self.out_norm = nn.LayerNorm(h)
        self.head = nn.Linear(h, 1)
        init_embeddings(self, config.embedding_std)

    def _embed(self, batch: QABatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Joint input tokens ``(B, N, H)``, shared validity ``(B, S)`` and candidate group
        validity ``(B, C, 1+La)``."""
        b, c, la = batch.candidates.shape
        t = batch.num_frames
        types = self.token_type.weight
        frames = self.frame_proj(scatter_masked(batch.video, batch.video_mask))
        frames = frames + self.time(torch.arange(t, device=frames.device)) + types[FRAME]
        question = self.embed(batch.question) + self.position(token_positions(batch.question_mask))
        question = question + types[QUESTION]
        answers = self.embed(batch.candidates) + self.position(
            token_positions(batch.candidates_mask) + 1
        )
        cls = (types[CLS_TYPE] + self.position.weight[0]).expand(b, c, 1, -1)
        groups = torch.cat([cls, answers + types[ANSWER]], dim=2)  # (B, C, 1+La, H)
        tokens = torch.cat([frames, question, groups.reshape(b, c * (1 + la), -1)], dim=1)
        shared = torch.cat([batch.video_mask, batch.question_mask], dim=1)
        cls_valid = torch.ones(b, c, 1, dtype=torch.bool, device=shared.device)
        group_valid = torch.cat([cls_valid, batch.candidates_mask], dim=2)
        return self.dropout(self.input_norm(tokens)), shared, group_valid

    def forward(self, batch: QABatch) -> QAOutput:
        """Score every candidate of ``batch`` (see the class docstring for shapes)."""
        self.check_batch(batch)
        b, c, la = batch.candidates.shape
        t = batch.num_frames
        x, shared, group_valid = self._embed(batch)
        mask = joint_attention_mask(shared, group_valid)
        weights = None
        for i, layer in enumerate(self.layers):
            x, weights = layer(x, mask, need_weights=i == len(self.layers) - 1)
        s = shared.shape[1]
        cls_index = s + torch.arange(c, device=x.device) * (1 + la)
        logits = self.head(self.out_norm(x[:, cls_index])).squeeze(-1)  # (B, C)
        to_frames = weights[:, cls_index, :t]  # (B, C, T), 0 on hidden frames
        to_frames = to_frames / to_frames.sum(dim=-1, keepdim=True).clamp_min(1e-12)
        return QAOutput(logits=logits, frame_weights=mix_over_candidates(to_frames, logits))
