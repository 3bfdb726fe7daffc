"""Configuration of the VGT backbone (Xiao et al., ECCV 2022)."""

from __future__ import annotations

from pydantic import Field

from videoqa.models.base import VideoQAConfig


class VGTConfig(VideoQAConfig):
    """VGT sizes.

    Attributes:
        hidden_size: width of nodes, frame tokens and text tokens.
        num_layers: layers of the global (temporal) transformer over frames (§3.4).
        graph_layers: dynamic graph transformer layers (§3.2), each a temporal node
            transformer + spatial graph convolution.
        clip_len: frames per clip: the node transformer links a node to the same node in
            the other frames of its clip only (the paper's short-term dynamics window).
        text_layers: transformer layers of the word encoder (stands in for BERT).
        pair_question_answer: encode each candidate as ``question [SEP] answer`` (the
            paper's multiple-choice text) rather than the answer alone.
        patch_dim: Dp of ``QABatch.patches``; None = one node per frame.
        max_patches: most patches P per frame (learned node-index embeddings).
        See :class:`~videoqa.models.base.VideoQAConfig` for the shared fields.
    """

    hidden_size: int = Field(128, gt=0)
    num_layers: int = Field(1, ge=1)
    graph_layers: int = Field(1, ge=1)
    clip_len: int = Field(4, ge=1)
    text_layers: int = Field(1, ge=1)
    pair_question_answer: bool = True
    max_patches: int = Field(64, gt=0)
