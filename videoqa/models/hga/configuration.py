"""Configuration of the HGA backbone (Jiang & Han, AAAI 2020)."""

from __future__ import annotations

from pydantic import Field

from videoqa.models.base import VideoQAConfig


class HGAConfig(VideoQAConfig):
    """HGA sizes.

    Attributes:
        hidden_size: width of every node (the BiLSTM output, both directions).
        num_layers: graph convolution layers over the heterogeneous graph (§3.3).
        num_heads: unused by the graph; kept for the shared config interface.
        embedding_std: standard deviation of the normal init of every learned embedding
            (words, positions; BERT's 0.02, see
            :func:`~videoqa.models.initialization.init_embeddings`; torch's default is 1.0).
        slot_pooling: when the frames come with object/region tokens
            (``QABatch.patches``, ``patch_dim`` set), each video unit is the frame's
            projected feature plus a question-guided attention pool over its projected
            tokens (all-zero tokens, empty slots, masked), instead of the projected
            frame feature alone. With concatenated oracle slots a single projection has
            to bind every slot's attributes in ``hidden_size`` units; the pool picks the
            object the question names. Off = the paper's units.
        See :class:`~videoqa.models.base.VideoQAConfig` for the shared fields.
    """

    hidden_size: int = Field(128, gt=0)
    num_layers: int = Field(2, ge=1)
    slot_pooling: bool = False
    embedding_std: float = Field(0.02, gt=0)
