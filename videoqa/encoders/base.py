"""The interface every image–text dual encoder adapter implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np
import torch


class ImageTextEncoder(ABC):
    """An image–text dual encoder (CLIP, SigLIP) in a shared embedding space.

    Attributes:
        name: the registry name, hub id or local directory it was loaded from.
        pretrained: ``True`` only when real pretrained weights were loaded; ``False``
            for randomly initialised presets such as ``tiny``.
        embed_dim: dimension ``D`` of the joint embedding space.
        logit_scale: temperature multiplier applied to cosine similarities
            (CLIP's learned ``exp(t)``, Radford et al. 2021 §2.5).
        logit_bias: additive bias (SigLIP, Zhai et al. 2023 §3); 0 for CLIP.
        image_size: the square input resolution of the vision tower, pixels.
    """

    name: str
    pretrained: bool
    embed_dim: int
    logit_scale: float
    logit_bias: float = 0.0
    image_size: int

    @abstractmethod
    def encode_images(self, frames: np.ndarray, batch_size: int = 32) -> torch.Tensor:
        """Embed RGB frames.

        Args:
            frames: ``(T, H, W, 3)`` uint8 RGB, any size (preprocessing resizes).
            batch_size: frames per forward pass.

        Returns:
            ``(T, D)`` float32, L2-normalised rows.
        """

    @abstractmethod
    def encode_texts(self, texts: Sequence[str], batch_size: int = 256) -> torch.Tensor:
        """Embed texts.

        Returns:
            ``(N, D)`` float32, L2-normalised rows.
        """

    def similarity_logits(self, image_emb: torch.Tensor, text_emb: torch.Tensor) -> torch.Tensor:
        """Logits ``logit_scale · cos + logit_bias`` between ``(T, D)`` and ``(N, D)`` → ``(T, N)``."""
        return self.logit_scale * image_emb @ text_emb.T + self.logit_bias
