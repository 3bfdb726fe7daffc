"""A small convolutional frame encoder trained from scratch (no pretrained weights).

Meant for the synthetic benchmark, where no pretrained image model exists offline: it
maps a frame to a frame embedding ``(D,)`` and a ``G × G`` grid of patch tokens
``(G², Dp)``. Two coordinate channels (x, y in [-1, 1]) are appended to the RGB input
(CoordConv, Liu et al. 2018, "An intriguing failing of convolutional neural networks and
the CoordConv solution", §3) and the frame embedding is a linear map of the *flattened*
grid, so both outputs keep where things are, which spatial-relation and motion questions
need. Training: probe heads and targets in :mod:`videoqa.encoders.cnn_probes`, the
``frame-encoder`` recipe (:mod:`videoqa.recipes.frame_encoder`).

Architecture (input ``S × S``, ``S`` divisible by 16): four stride-2 3×3 convolutions
with batch norm and ReLU (the last two followed by a stride-1 3×3 convolution), giving
an ``S/16 × S/16`` map = the patch grid; a 1×1 convolution projects it to ``Dp`` per
cell; the frame embedding ``(D,)`` is a linear map of the flattened grid (where) plus a
linear map of the spatially max-pooled last feature map (what is anywhere).

Saved as ``config.json`` (``model_type: "videoqa-cnn"``) + ``model.safetensors`` by
:class:`~videoqa.persistence.PretrainedMixin`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from videoqa.errors import CheckpointError, UsageError
from videoqa.persistence import WEIGHTS_FILE, PretrainedMixin, read_checkpoint_config

__all__ = ["CNN_MODEL_TYPE", "CNNConfig", "CNNFrameEncoder", "is_cnn_dir"]

CNN_MODEL_TYPE = "videoqa-cnn"


class CNNConfig(BaseModel):
    """Sizes of :class:`CNNFrameEncoder`.

    Attributes:
        image_size: input side ``S`` in pixels (frames are resized to ``S × S``);
            divisible by 16.
        channels: output channels of the four stages.
        patch_dim: ``Dp``, dimension of a patch token.
        embed_dim: ``D``, dimension of the frame embedding.
        mean, std: per-channel normalisation of RGB in [0, 1].
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    image_size: int = Field(112, ge=16)
    channels: tuple[int, int, int, int] = (24, 48, 64, 96)
    patch_dim: int = Field(32, ge=1)
    embed_dim: int = Field(256, ge=1)
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.25, 0.25, 0.25)

    @model_validator(mode="after")
    def _check(self) -> CNNConfig:
        if self.image_size % 16:
            raise ValueError(f"image_size must be divisible by 16, got {self.image_size}")
        return self

    @property
    def grid(self) -> int:
        """``G``: side of the patch grid (``S / 16``)."""
        return self.image_size // 16

    @property
    def num_patches(self) -> int:
        """``P = G²``."""
        return self.grid * self.grid


def _conv(cin: int, cout: int, stride: int) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


class CNNFrameEncoder(PretrainedMixin, nn.Module):
    """Frame → (frame embedding, patch tokens).

    ``save_pretrained`` / ``from_pretrained`` (eval mode) come from
    :class:`~videoqa.persistence.PretrainedMixin`; loading raises
    :class:`~videoqa.errors.CheckpointError` on a missing or mismatched checkpoint.

    Args:
        config: sizes (default :class:`CNNConfig`).
    """

    model_type = CNN_MODEL_TYPE
    config_class = CNNConfig

    def __init__(self, config: CNNConfig | None = None) -> None:
        super().__init__()
        self.config = config or CNNConfig()
        c1, c2, c3, c4 = self.config.channels
        layers = _conv(5, c1, 2)
        layers += _conv(c1, c2, 2)
        for cin, cout in ((c2, c3), (c3, c4)):
            layers += _conv(cin, cout, 2) + _conv(cout, cout, 1)
        self.body = nn.Sequential(*layers)
        self.to_patches = nn.Conv2d(c4, self.config.patch_dim, 1)
        self.to_global = nn.Linear(c4, self.config.embed_dim)
        self.to_frame = nn.Linear(
            self.config.num_patches * self.config.patch_dim, self.config.embed_dim
        )
        side = self.config.image_size
        axis = torch.linspace(-1.0, 1.0, side)
        coords = torch.stack(torch.meshgrid(axis, axis, indexing="xy"))  # (2, S, S): x, y
        self.register_buffer("coords", coords, persistent=False)
        self.register_buffer(
            "mean", torch.tensor(self.config.mean).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "std", torch.tensor(self.config.std).view(1, 3, 1, 1), persistent=False
        )

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 frames → normalised input.

        Args:
            frames: ``(T, H, W, 3)`` uint8 RGB; resized (bilinear, antialiased) to
                ``S × S`` when they are another size.

        Returns:
            ``(T, 3, S, S)`` float32 on the CPU.

        Raises:
            UsageError: frames not ``(T, H, W, 3)`` uint8.
        """
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise UsageError(
                f"frames must be (T, H, W, 3) uint8, got {frames.dtype} {frames.shape}"
            )
        pixels = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
        side = self.config.image_size
        if pixels.shape[-2:] != (side, side):
            pixels = F.interpolate(pixels, size=(side, side), mode="bilinear", antialias=True)
        return (pixels - self.mean.cpu()) / self.std.cpu()

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode preprocessed frames.

        Args:
            pixels: ``(B, 3, S, S)`` float, as :meth:`preprocess` returns.

        Returns:
            ``(B, D)`` frame embeddings and ``(B, P, Dp)`` patch tokens, row-major over
            the ``G × G`` grid (token ``i * G + j`` covers row ``i``, column ``j``).
        """
        coords = self.coords.expand(pixels.shape[0], -1, -1, -1)
        fmap = self.body(torch.cat([pixels, coords.to(pixels.dtype)], dim=1))
        patches = self.to_patches(fmap)  # (B, Dp, G, G)
        pooled = fmap.amax(dim=(2, 3))  # (B, C): what is anywhere in the frame
        frame = self.to_frame(patches.flatten(1).relu()) + self.to_global(pooled)
        return frame, patches.flatten(2).transpose(1, 2)


def is_cnn_dir(directory: str | Path) -> bool:
    """Whether ``directory`` holds a saved :class:`CNNFrameEncoder` (``config.json`` with
    its ``model_type`` and ``model.safetensors``)."""
    directory = Path(directory)
    if not (directory / WEIGHTS_FILE).is_file():
        return False
    try:
        raw = read_checkpoint_config(directory)
    except CheckpointError:
        return False
    return raw.get("model_type") == CNN_MODEL_TYPE
