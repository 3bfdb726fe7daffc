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
        See :class:`~videoqa.models.base.VideoQAConfig` for the shared fields.
    """

    hidden_size: int = Field(128, gt=0)
    num_layers: int = Field(2, ge=1)
