"""The question-conditioned frame localizer of SGVLM: a UniVTG-style dual-stream model
that scores every sampled frame for its relevance to the question and regresses the
answer's moment.

Sources: Lin et al., "UniVTG: Towards Unified Video-Language Temporal Grounding",
ICCV 2023, §3.2 (unified formulation: per-clip foreground, boundary offsets, saliency)
and §3.3 (multi-modal interaction and clip encoder); Dai et al., "Towards Fine-Grained
Video Question Answering" (SGVLM), 2025, §3.3 (the localizer reads frame *and*
scene-graph tokens; frame and scene-graph tokens attend only to question tokens, and
removing that attention mask is an ablation).

Layout of one sequence (``N = L + T + T*K`` tokens)::

    [question tokens (L); frame tokens (T); scene-graph tokens (T*K, frame-major)]

With the dual-stream mask (:func:`dual_stream_attention_mask`) a frame or scene-graph
token attends only to the non-pad question tokens and a question token to the non-pad
question tokens, so a frame's state depends on its own features and the question only.
The per-frame fusion (frame state + masked mean of its scene-graph token states) then
goes through ``temporal_layers`` transformer layers over the frames (UniVTG's clip
encoder) and three heads: saliency (cosine of a frame key and a pooled question key),
foreground logit and two boundary offsets (softplus, seconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor, nn
from torch.nn import functional as F

from videoqa.errors import UsageError
from videoqa.persistence import PretrainedMixin

#: Time unit of the sinusoidal time embedding: 0.1 s, so frames 0.25 s apart differ by
#: 2.5 units on the fastest sinusoid.
TIME_UNIT_SECONDS = 0.1


class LocalizerConfig(BaseModel):
    """Size and options of :class:`FrameLocalizer`.

    Attributes:
        frame_dim: ``Df`` of the frame features.
        sg_dim: ``Dsg`` of the scene-graph tokens; ``None`` = NoSG (frames only).
        vocab_size: size of the LLM tokenizer's vocabulary (question ids index it).
        hidden_size, num_heads: transformer width ``H`` and heads.
        num_layers: masked dual-stream layers over [question; frames; SG tokens].
        temporal_layers: transformer layers over the fused frames (clip encoder).
        max_frames: longest ``T``; max_text_len: longest ``L``; max_sg_tokens: ``K``.
        attention_mask: ``True`` = dual-stream mask; ``False`` = every token attends to
            every non-pad token (SGVLM's "without attention mask" ablation).
        dropout: dropout on attention/MLP outputs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    frame_dim: int = Field(gt=0)
    sg_dim: int | None = Field(53, gt=0)
    vocab_size: int = Field(gt=0)
    hidden_size: int = Field(128, gt=0)
    num_heads: int = Field(4, gt=0)
    num_layers: int = Field(2, ge=1)
    temporal_layers: int = Field(2, ge=0)
    max_frames: int = Field(64, gt=0)
    max_text_len: int = Field(40, gt=0)
    max_sg_tokens: int = Field(8, gt=0)
    attention_mask: bool = True
    dropout: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _check_heads(self) -> LocalizerConfig:
        if self.hidden_size % self.num_heads:
            raise ValueError("hidden_size must be divisible by num_heads")
        return self


@dataclass
class LocalizerOutput:
    """What :meth:`FrameLocalizer.forward` returns.

    Attributes:
        saliency: ``(B, T)`` scores (cosine of frame key and question key, in [-1, 1]),
            higher = more relevant to the question; masked frames are ``-inf``.
        foreground: ``(B, T)`` logits that the frame lies inside the answer's moment.
        offsets: ``(B, T, 2)`` >= 0, seconds from the frame time back to the moment
            start / on to the moment end.
        frame_states: ``(B, T, H)`` question-conditioned frame states.
        frame_keys: ``(B, T, H)`` unit-norm frame keys of the saliency head.
        question_keys: ``(B, H)`` unit-norm question keys (``saliency[b, t] =
            frame_keys[b, t] · question_keys[b]``); the inter-video saliency loss pairs
            a question with the frames of other videos through them.
    """

    saliency: Tensor
    foreground: Tensor
    offsets: Tensor
    frame_states: Tensor
    frame_keys: Tensor
    question_keys: Tensor


def sinusoidal_time_embedding(times: Tensor, dim: int) -> Tensor:
    """Transformer sinusoids (Vaswani et al., 2017, §3.5) of times in seconds.

    Args:
        times: ``(...)`` seconds; measured in units of :data:`TIME_UNIT_SECONDS`.
        dim: embedding width (even).

    Returns:
        ``(..., dim)``: ``[sin(u * w_k), cos(u * w_k)]`` with ``w_k = 10000^(-2k/dim)``.
    """
    half = dim // 2
    freqs = torch.exp(
        -math.log(10000.0) * torch.arange(half, device=times.device, dtype=torch.float32) / half
    )
    angles = (times.float() / TIME_UNIT_SECONDS)[..., None] * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def dual_stream_attention_mask(
    question_mask: Tensor,
    frame_mask: Tensor,
    sg_mask: Tensor | None,
    masked: bool = True,
) -> Tensor:
    """Which token may attend to which in the sequence [question; frames; SG tokens].

    SGVLM §3.3: with ``masked``, frame and scene-graph tokens attend only to the non-pad
    question tokens (not to each other, not to other frames) and question tokens to the
    non-pad question tokens. Without it (the ablation) every token attends to every
    non-pad token.

    Args:
        question_mask: ``(B, L)`` bool, True = real question token.
        frame_mask: ``(B, T)`` bool, True = real frame.
        sg_mask: ``(B, T, K)`` bool, True = real scene-graph token, or ``None`` (no SG
            tokens in the sequence).
        masked: dual-stream mask (``True``) or full attention over real tokens.

    Returns:
        ``(B, N, N)`` bool, ``N = L + T + T*K``; ``[b, i, j]`` True = query ``i`` may
        attend to key ``j``. Every row has at least one True.

    Raises:
        UsageError: a question with no real token.
    """
    if not bool(question_mask.any(dim=1).all()):
        raise UsageError("every question needs at least one real token")
    keys = [question_mask, frame_mask]
    if sg_mask is not None:
        keys.append(sg_mask.flatten(1))
    key_ok = torch.cat(keys, dim=1).bool()  # (B, N)
    size = key_ok.shape[1]
    if masked:
        length = question_mask.shape[1]
        allowed = torch.zeros(key_ok.shape[0], size, size, dtype=torch.bool, device=key_ok.device)
        allowed[:, :, :length] = question_mask.bool()[:, None, :]
        return allowed
    return key_ok[:, None, :].expand(-1, size, -1).clone()


class _QuestionEncoder(nn.Module):
    """Own word embedding + learned positions + one transformer layer (UniVTG §3.3
    text branch, trained from scratch here)."""

    def __init__(self, config: LocalizerConfig) -> None:
        super().__init__()
        hidden = config.hidden_size
        self.words = nn.Embedding(config.vocab_size, hidden)
        self.positions = nn.Embedding(config.max_text_len, hidden)
        self.layer = _layer(config)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        if ids.shape[1] > self.positions.num_embeddings:
            raise UsageError(f"question of {ids.shape[1]} tokens > max_text_len")
        if int(ids.max()) >= self.words.num_embeddings or int(ids.min()) < 0:
            raise UsageError("question ids outside the localizer's vocabulary")
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.words(ids) + self.positions(pos)[None]
        return self.norm(self.layer(x, src_key_padding_mask=~mask.bool()))


def _layer(config: LocalizerConfig) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(
        config.hidden_size,
        config.num_heads,
        dim_feedforward=2 * config.hidden_size,
        dropout=config.dropout,
        batch_first=True,
        norm_first=True,
    )


class _MaskedLayer(nn.Module):
    """Pre-norm transformer layer driven by an explicit ``(B, N, N)`` boolean mask.

    Key columns that no query may attend to are cut before the attention (exact: they
    get zero weight), so the dual-stream mask costs ``O(N * L)``, not ``O(N^2)``.
    """

    def __init__(self, config: LocalizerConfig) -> None:
        super().__init__()
        hidden = config.hidden_size
        self.heads = config.num_heads
        self.norm1 = nn.LayerNorm(hidden)
        self.attn = nn.MultiheadAttention(hidden, config.num_heads, batch_first=True)
        self.norm2 = nn.LayerNorm(hidden)
        self.mlp = nn.Sequential(
            nn.Linear(hidden, 2 * hidden), nn.GELU(), nn.Linear(2 * hidden, hidden)
        )
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, allowed: Tensor) -> Tensor:
        used = torch.nonzero(allowed.any(dim=(0, 1))).flatten()
        keys = int(used.max()) + 1
        h = self.norm1(x)
        blocked = (~allowed[:, :, :keys]).repeat_interleave(self.heads, dim=0)
        kv = h[:, :keys]
        attended = self.attn(h, kv, kv, attn_mask=blocked, need_weights=False)[0]
        x = x + self.drop(attended)
        return x + self.drop(self.mlp(self.norm2(x)))


def compact_scene_graph_tokens(tokens: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Move each frame's real scene-graph tokens first and drop the slots that are pad in
    every frame of the batch.

    Exact for :class:`FrameLocalizer`: the tokens of one frame share its time embedding
    and are pooled with a masked mean, so their order does not matter.

    Args:
        tokens: ``(B, T, K, D)``; mask: ``(B, T, K)`` bool.

    Returns:
        ``(B, T, K', D)`` tokens and ``(B, T, K')`` mask, ``K' = max(1, most real tokens
        of a frame)``.
    """
    order = torch.sort((~mask).to(torch.uint8), dim=2, stable=True).indices
    keep = max(1, int(mask.sum(2).max()))
    order = order[:, :, :keep]
    tokens = torch.gather(tokens, 2, order[..., None].expand(-1, -1, -1, tokens.shape[-1]))
    return tokens, torch.gather(mask, 2, order)


def _masked_mean(x: Tensor, mask: Tensor, dim: int) -> Tensor:
    weights = mask.to(x.dtype).unsqueeze(-1)
    return (x * weights).sum(dim) / weights.sum(dim).clamp(min=1.0)


class FrameLocalizer(PretrainedMixin, nn.Module):
    """Question-conditioned frame localizer (UniVTG §3.2–3.3, SGVLM §3.3).

    Saved by ``save_pretrained(directory)`` (``config.json`` with ``model_type``
    ``"sgvlm-localizer"`` + ``model.safetensors``) and loaded, in eval mode, by
    ``from_pretrained(directory or hub id)`` (:class:`~videoqa.persistence.PretrainedMixin`;
    checkpoints written before it, without ``model_type``, still load), which raises
    :class:`~videoqa.errors.CheckpointError` on a missing or mismatched checkpoint.

    Args:
        config: :class:`LocalizerConfig`.
    """

    model_type = "sgvlm-localizer"
    config_class = LocalizerConfig
    untyped_legacy = True

    def __init__(self, config: LocalizerConfig) -> None:
        super().__init__()
        self.config = config
        hidden = config.hidden_size
        self.question = _QuestionEncoder(config)
        self.frame_proj = nn.Sequential(
            nn.LayerNorm(config.frame_dim), nn.Linear(config.frame_dim, hidden)
        )
        self.frame_index = nn.Embedding(config.max_frames, hidden)
        self.sg_proj = (
            nn.Sequential(nn.LayerNorm(config.sg_dim), nn.Linear(config.sg_dim, hidden))
            if config.sg_dim is not None
            else None
        )
        self.token_type = nn.Embedding(3, hidden)  # question, frame, scene-graph token
        self.dual_layers = nn.ModuleList(_MaskedLayer(config) for _ in range(config.num_layers))
        self.dual_norm = nn.LayerNorm(hidden)
        self.temporal = nn.ModuleList(_layer(config) for _ in range(config.temporal_layers))
        self.temporal_norm = nn.LayerNorm(hidden)
        self.frame_key = nn.Linear(hidden, hidden)
        self.question_key = nn.Linear(hidden, hidden)
        self.foreground_head = nn.Sequential(
            nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, 1)
        )
        self.offset_head = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, 2))

    def _check(self, frames: Tensor, frame_mask: Tensor, sg_tokens: Tensor | None) -> None:
        cfg = self.config
        if frames.ndim != 3 or frames.shape[-1] != cfg.frame_dim:
            raise UsageError(f"frames must be (B, T, {cfg.frame_dim}), got {tuple(frames.shape)}")
        if frames.shape[1] > cfg.max_frames:
            raise UsageError(f"{frames.shape[1]} frames > max_frames={cfg.max_frames}")
        if not bool(frame_mask.any(dim=1).all()):
            raise UsageError("every video needs at least one real frame")
        if sg_tokens is None:
            return
        if cfg.sg_dim is None:
            raise UsageError("scene-graph tokens given to a NoSG localizer (sg_dim=None)")
        if sg_tokens.ndim != 4 or sg_tokens.shape[:2] != frames.shape[:2]:
            raise UsageError(
                f"sg_tokens must be (B, T, K, {cfg.sg_dim}), got {tuple(sg_tokens.shape)}"
            )
        if sg_tokens.shape[-1] != cfg.sg_dim or sg_tokens.shape[2] > cfg.max_sg_tokens:
            raise UsageError(
                f"sg_tokens {tuple(sg_tokens.shape)}: need Dsg={cfg.sg_dim}, K<={cfg.max_sg_tokens}"
            )

    def _dual_stream(
        self, q: Tensor, question_mask: Tensor, f: Tensor, frame_mask: Tensor,
        s: Tensor | None, sg_mask: Tensor | None,
    ) -> tuple[Tensor, Tensor | None]:  # fmt: skip
        """Run the masked layers; return frame states ``(B,T,H)`` and SG states ``(B,T,K,H)``."""
        batch, frames, hidden = f.shape
        parts = [q, f] + ([s.flatten(1, 2)] if s is not None else [])
        x = torch.cat(parts, dim=1)
        allowed = dual_stream_attention_mask(
            question_mask,
            frame_mask,
            sg_mask if s is not None else None,
            self.config.attention_mask,
        )
        for layer in self.dual_layers:
            x = layer(x, allowed)
        x = self.dual_norm(x)
        length = q.shape[1]
        f_out = x[:, length : length + frames]
        s_out = None if s is None else x[:, length + frames :].reshape(batch, frames, -1, hidden)
        return f_out, s_out

    def forward(
        self,
        frames: Tensor,
        frame_mask: Tensor,
        question_ids: Tensor,
        question_mask: Tensor,
        sg_tokens: Tensor | None,
        sg_mask: Tensor | None,
        times: Tensor,
    ) -> LocalizerOutput:
        """Score every frame for the question and regress the answer's moment.

        Args:
            frames: ``(B, T, Df)`` frame features; frame_mask: ``(B, T)`` bool.
            question_ids: ``(B, L)`` long token ids of the LLM tokenizer;
                question_mask: ``(B, L)`` bool.
            sg_tokens: ``(B, T, K, Dsg)`` scene-graph tokens or ``None`` (frames only);
                sg_mask: ``(B, T, K)`` bool (all True when ``None`` with tokens given).
            times: ``(B, T)`` seconds of each frame.

        Returns:
            :class:`LocalizerOutput`.

        Raises:
            UsageError: wrong shapes, ids outside the vocabulary, a video with no frame,
                a question with no token, SG tokens given to a NoSG model.
        """
        self._check(frames, frame_mask, sg_tokens)
        frame_mask, question_mask = frame_mask.bool(), question_mask.bool()
        batch, count, _ = frames.shape
        q = self.question(question_ids, question_mask) + self.token_type.weight[0]
        index = torch.arange(count, device=frames.device)
        time_emb = sinusoidal_time_embedding(times, self.config.hidden_size) + self.frame_index(
            index
        )
        f = self.frame_proj(frames) + time_emb + self.token_type.weight[1]
        s = None
        if sg_tokens is not None and self.sg_proj is not None:
            if sg_mask is None:
                sg_mask = torch.ones(sg_tokens.shape[:3], dtype=torch.bool, device=frames.device)
            sg_mask = sg_mask.bool() & frame_mask[:, :, None]
            sg_tokens, sg_mask = compact_scene_graph_tokens(sg_tokens, sg_mask)
            s = self.sg_proj(sg_tokens) + time_emb[:, :, None] + self.token_type.weight[2]
        f_states, s_states = self._dual_stream(q, question_mask, f, frame_mask, s, sg_mask)
        fused = f_states if s_states is None else f_states + _masked_mean(s_states, sg_mask, dim=2)
        for layer in self.temporal:
            fused = layer(fused, src_key_padding_mask=~frame_mask)
        states = self.temporal_norm(fused)
        frame_keys = F.normalize(self.frame_key(states), dim=-1)
        question_keys = F.normalize(
            self.question_key(_masked_mean(q, question_mask, dim=1)), dim=-1
        )
        saliency = torch.einsum("bth,bh->bt", frame_keys, question_keys)
        saliency = saliency.masked_fill(~frame_mask, float("-inf"))
        return LocalizerOutput(
            saliency=saliency,
            foreground=self.foreground_head(states).squeeze(-1),
            offsets=F.softplus(self.offset_head(states)),
            frame_states=states,
            frame_keys=frame_keys,
            question_keys=question_keys,
        )


def select_frames(saliency: Tensor, frame_mask: Tensor, num: int) -> Tensor:
    """Indices of the ``num`` most salient real frames, in time order.

    Args:
        saliency: ``(B, T)`` scores; frame_mask: ``(B, T)`` bool.
        num: frames to keep (``1 <= num <= T``).

    Returns:
        ``(B, num)`` long indices, ascending. Where a video has fewer than ``num`` real
        frames, padded frames fill the remaining slots (lowest index first).

    Raises:
        UsageError: ``num`` outside ``[1, T]``.
    """
    count = saliency.shape[1]
    if not 1 <= num <= count:
        raise UsageError(f"num must be in [1, {count}], got {num}")
    masked = saliency.float().masked_fill(~frame_mask.bool(), float("-inf"))
    # ties (e.g. several -inf) go to the earlier frame: stable sort of the negated scores
    order = torch.sort(-masked, dim=1, stable=True).indices[:, :num]
    return torch.sort(order, dim=1).values
