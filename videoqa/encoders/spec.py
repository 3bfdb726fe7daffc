"""What a checkpoint needs besides its weights: preprocessing and dimensions.

A :class:`PretrainedSpec` is registered together with each checkpoint name so that the
image and text preprocessing the weights were trained with travels with them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

OPENAI_CLIP_MEAN: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
"""Per-channel RGB mean of CLIP's training images, on the [0, 1] scale (Radford et al. 2021)."""
OPENAI_CLIP_STD: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)
"""Per-channel RGB standard deviation of CLIP's training images, on the [0, 1] scale."""
HALF: tuple[float, float, float] = (0.5, 0.5, 0.5)
"""SigLIP's mean and std: maps [0, 1] to [-1, 1] (Zhai et al. 2023, big_vision preprocessing)."""

ResizePolicy = Literal["shortest_edge", "square"]
Interpolation = Literal["nearest", "lanczos", "bilinear", "bicubic", "box", "hamming"]
TextPadding = Literal["longest", "max_length"]


class PretrainedSpec(BaseModel):
    """A registered checkpoint: where its weights live and how inputs are prepared.

    Attributes:
        name: the registry name (``"openai/clip-vit-base-patch32"``, ``"tiny"``).
        arch: architecture key in :data:`videoqa.encoders.registry.ENCODERS`
            (``"clip"`` or ``"siglip"``).
        source: Hugging Face hub id of the weights; ``None`` for presets built locally.
        pretrained: ``True`` when ``source`` holds trained weights; ``False`` for the
            random-weight offline presets.
        image_size: square input side of the vision tower, pixels.
        resize: ``"shortest_edge"``: scale the shorter side to ``image_size`` keeping the
            aspect ratio (CLIP); ``"square"``: scale both sides to ``image_size`` (SigLIP).
        center_crop: take the central ``image_size × image_size`` crop after resizing.
        interpolation: resampling filter of the resize.
        mean, std: per-channel RGB normalisation on the [0, 1] scale.
        context_length: maximum number of text tokens, special tokens included; longer
            texts are truncated.
        text_padding: ``"longest"`` pads a batch to its longest text and passes an
            attention mask (CLIP); ``"max_length"`` pads every text to ``context_length``
            without a mask, as SigLIP was trained.
        embed_dim: dimension ``D`` of the joint embedding space.
        reference: the paper the weights come from.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    arch: str
    source: str | None = None
    pretrained: bool = True
    image_size: int = Field(gt=0)
    resize: ResizePolicy
    center_crop: bool
    interpolation: Interpolation
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    context_length: int = Field(gt=1)
    text_padding: TextPadding
    embed_dim: int = Field(gt=0)
    reference: str = ""

    def preprocessing_matches(self, other: PretrainedSpec, atol: float = 1e-6) -> bool:
        """Whether ``other`` prepares images and texts the same way (names ignored)."""
        same = (
            self.image_size == other.image_size
            and self.resize == other.resize
            and self.center_crop == other.center_crop
            and self.interpolation == other.interpolation
            and self.context_length == other.context_length
            and self.text_padding == other.text_padding
            and self.embed_dim == other.embed_dim
        )
        close = all(
            abs(a - b) <= atol
            for a, b in zip(self.mean + self.std, other.mean + other.std, strict=True)
        )
        return same and close
