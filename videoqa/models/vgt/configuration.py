"""Configuration of the VGT backbone (Xiao et al., ECCV 2022)."""

from __future__ import annotations

from typing import Literal

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
        mask_empty_nodes: a patch that is all zeros (an empty object slot of the oracle
            features, an object absent from the frame) is no graph node: it is masked in
            the temporal node transformer, the spatial graph and the node pooling
            instead of being attended like an object.
        embedding_std: standard deviation of the normal init of every learned embedding
            (node index, frame time, words, word positions; BERT's 0.02, see
            :func:`~videoqa.models.initialization.init_embeddings`; torch's default 1.0
            makes the index and time codes as large as the LayerNormed content they are
            added to).
        answer_pool: how ``f_a`` pools the ``question [SEP] answer`` text:
            ``"answer"`` averages the candidate's own tokens only (they have attended to
            the question), ``"pair"`` averages every token of the pair (where the
            question's tokens, the same for every candidate, outnumber the answer's).
        See :class:`~videoqa.models.base.VideoQAConfig` for the shared fields.
    """

    hidden_size: int = Field(128, gt=0)
    num_layers: int = Field(1, ge=1)
    graph_layers: int = Field(1, ge=1)
    clip_len: int = Field(4, ge=1)
    text_layers: int = Field(1, ge=1)
    pair_question_answer: bool = True
    max_patches: int = Field(64, gt=0)
    mask_empty_nodes: bool = True
    answer_pool: Literal["answer", "pair"] = "answer"
    embedding_std: float = Field(0.02, gt=0)
