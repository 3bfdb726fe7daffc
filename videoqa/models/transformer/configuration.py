"""Configuration of the single-stream transformer baseline."""

from __future__ import annotations

from pydantic import Field

from videoqa.models.base import VideoQAConfig


class TransformerQAConfig(VideoQAConfig):
    """Transformer baseline sizes.

    Attributes:
        hidden_size: token width.
        num_layers: transformer encoder layers over the joint sequence.
        embedding_std: standard deviation of the normal init of every learned embedding
            (words, positions, frame times, token types; BERT's 0.02, see
            :func:`~videoqa.models.initialization.init_embeddings`; torch's default is 1.0).
        See :class:`~videoqa.models.base.VideoQAConfig` for the shared fields.
    """

    hidden_size: int = Field(128, gt=0)
    num_layers: int = Field(2, ge=1)
    embedding_std: float = Field(0.02, gt=0)
