"""BLIP-2 Querying Transformer (Q-Former) and the linear projection to an LLM.

Li et al., "BLIP-2: Bootstrapping Language-Image Pre-training with Frozen Image
Encoders and Large Language Models", ICML 2023, §3.1: a fixed number of learned query
tokens go through transformer layers whose self-attention runs among the queries and
whose cross-attention reads the (frozen) encoder's features; the output queries are a
fixed-size summary of any number of input tokens. §3.3: a fully-connected layer maps
them to the LLM's input embedding width ("soft visual prompts").

The layers are ``transformers``' ``Blip2QFormerModel`` (so a BLIP-2 Q-Former's weights
load into it); this module adds the learned queries, the key padding mask and the
projection. SGVLM (Dai et al., 2025, §3.4) uses two: one over frame features and one
over scene-graph tokens.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn
from transformers import Blip2QFormerConfig, Blip2QFormerModel

from videoqa.errors import UsageError


class QFormerConfig(BaseModel):
    """Size of one Q-Former.

    Attributes:
        input_dim: width of the features it reads (cross-attention keys/values).
        hidden_size, num_layers, num_heads, intermediate_size: transformer size.
        num_queries: learned query tokens = output tokens (BLIP-2 uses 32).
        cross_attention_frequency: a cross-attention block every this many layers
            (BLIP-2: 2; 1 = every layer).
        output_dim: width of the projection (the LLM's embedding width).
        dropout: hidden and attention dropout.
        text_input: instruction-aware Q-Former (InstructBLIP, Dai et al., NeurIPS 2023,
            §3.2): text tokens join the queries' self-attention (not the
            cross-attention), so the queries extract what the question asks for.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_dim: int = Field(gt=0)
    output_dim: int = Field(gt=0)
    hidden_size: int = Field(128, gt=0)
    num_layers: int = Field(2, gt=0)
    num_heads: int = Field(4, gt=0)
    intermediate_size: int = Field(256, gt=0)
    num_queries: int = Field(16, gt=0)
    cross_attention_frequency: int = Field(1, gt=0)
    dropout: float = Field(0.1, ge=0, lt=1)
    text_input: bool = False


class QFormer(nn.Module):
    """Learned queries → ``Blip2QFormerModel`` → ``Linear`` to ``output_dim``.

    Raises:
        UsageError: ``hidden_size`` is not divisible by ``num_heads``.
    """

    def __init__(self, config: QFormerConfig) -> None:
        super().__init__()
        if config.hidden_size % config.num_heads:
            raise UsageError("Q-Former hidden_size must be divisible by num_heads")
        self.config = config
        hf = Blip2QFormerConfig(
            hidden_size=config.hidden_size,
            num_hidden_layers=config.num_layers,
            num_attention_heads=config.num_heads,
            intermediate_size=config.intermediate_size,
            encoder_hidden_size=config.input_dim,
            cross_attention_frequency=config.cross_attention_frequency,
            hidden_dropout_prob=config.dropout,
            attention_probs_dropout_prob=config.dropout,
            vocab_size=4,
            use_qformer_text_input=config.text_input,
        )
        self.queries = nn.Parameter(torch.randn(1, config.num_queries, config.hidden_size) * 0.02)
        self.qformer = Blip2QFormerModel(hf)
        self.projection = nn.Linear(config.hidden_size, config.output_dim)

    def forward(
        self,
        features: Tensor,
        mask: Tensor,
        text: Tensor | None = None,
        text_mask: Tensor | None = None,
    ) -> Tensor:
        """Summarise ``features`` into ``num_queries`` tokens of the LLM's width.

        Args:
            features: ``(B, N, input_dim)`` tokens to read.
            mask: ``(B, N)`` bool, True = real token. A row with no real token reads
                nothing (its queries only see each other).
            text: ``(B, L, hidden_size)`` text embeddings for an instruction-aware
                Q-Former (``text_input``), else None; ``text_mask`` ``(B, L)`` bool.

        Returns:
            ``(B, num_queries, output_dim)``.

        Raises:
            UsageError: ``text`` given to a Q-Former without ``text_input`` or without
                ``text_mask``.
        """
        batch, nq = features.shape[0], self.config.num_queries
        keep = mask.clone()
        empty = ~keep.any(dim=1)
        if empty.any():  # attend to one zeroed token rather than to nothing (NaN)
            keep[empty, 0] = True
            features = features.masked_fill(empty[:, None, None], 0.0)
        queries = self.queries.expand(batch, -1, -1)
        self_mask = None
        if text is not None:
            if not self.config.text_input or text_mask is None:
                raise UsageError("text needs a Q-Former with text_input and a text_mask")
            queries = torch.cat([queries, text.to(queries.dtype)], dim=1)
            ones = torch.ones(batch, nq, dtype=torch.long, device=text_mask.device)
            self_mask = torch.cat([ones, text_mask.long()], dim=1)
        # a (B, 1, queries, N) cross-attention mask: transformers would build the 2-D
        # mask's expansion over queries + text rows, which the cross-attention (queries
        # only) cannot take
        cross_mask = keep[:, None, None, :].expand(-1, 1, nq, -1)
        out = self.qformer(
            query_embeds=queries,
            query_length=nq,
            attention_mask=self_mask,
            encoder_hidden_states=features,
            encoder_attention_mask=cross_mask,
        )
        return self.projection(out.last_hidden_state[:, :nq])
