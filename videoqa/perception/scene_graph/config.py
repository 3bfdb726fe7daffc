"""Configuration and fixed vocabularies of the scene-graph predictor.

The attribute and predicate vocabularies are those of the synthetic benchmark
(:mod:`videoqa.synth.vocab`, :data:`videoqa.synth.scene_graph.PREDICATES`); the token
layout is the one of the SGVLM scene-graph tokens (Dai et al., "Towards Fine-Grained
Video Question Answering", 2025, §3.2), made interpretable: attribute probabilities,
boxes, predicate probabilities and a score.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from videoqa.synth.scene_graph import PREDICATES
from videoqa.synth.vocab import ATTRIBUTE_VALUES

__all__ = [
    "ATTRIBUTES",
    "ATTRIBUTE_DIM",
    "ATTRIBUTE_SIZES",
    "PREDICATE_NAMES",
    "SG_TOKEN_DIM",
    "SceneGraphConfig",
    "attribute_slices",
]

#: attribute heads, in the order of the token layout and of ``object_labels`` columns.
ATTRIBUTES: tuple[str, ...] = ("shape", "color", "size", "material")
#: number of values of each attribute (6, 8, 2, 3).
ATTRIBUTE_SIZES: tuple[int, ...] = tuple(len(ATTRIBUTE_VALUES[name]) for name in ATTRIBUTES)
#: length of the concatenated attribute probabilities of one object (19).
ATTRIBUTE_DIM: int = sum(ATTRIBUTE_SIZES)
#: predicate vocabulary, order of the predicate logits and token part (6).
PREDICATE_NAMES: tuple[str, ...] = tuple(PREDICATES)
#: ``2 * (19 + 4) + 6 + 1 = 53``: [subject attribute probs, subject box, predicate probs,
#: object attribute probs, object box, triplet score].
SG_TOKEN_DIM: int = 2 * (ATTRIBUTE_DIM + 4) + len(PREDICATE_NAMES) + 1


def attribute_slices() -> dict[str, slice]:
    """Where each attribute's probabilities sit inside the 19 attribute dimensions."""
    out: dict[str, slice] = {}
    start = 0
    for name, size in zip(ATTRIBUTES, ATTRIBUTE_SIZES, strict=True):
        out[name] = slice(start, start + size)
        start += size
    return out


class SceneGraphConfig(BaseModel):
    """Hyper-parameters of :class:`~videoqa.perception.scene_graph.motifs.SceneGraphPredictor`.

    Attributes:
        image_size: frames are resized to ``image_size x image_size`` pixels.
        trunk_channels: channels of the detector trunk (stride 4 output).
        max_objects: at most this many detected objects per frame (``R``).
        detect_threshold: minimum centre-heatmap peak (probability) of a detection.
        crop_size: side in pixels of the RoIAlign crop of each box.
        crop_scale: boxes are enlarged by this factor (about their centre) before cropping.
        region_dim: size of the region feature from the crop CNN.
        hidden_size: BiLSTM hidden size per direction (object and edge context).
        top_k: scene-graph tokens (triplets) kept per frame (``K``).
        dropout: dropout on the context features during training.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    image_size: int = Field(112, ge=32)
    trunk_channels: int = Field(32, ge=8)
    max_objects: int = Field(10, ge=1)
    detect_threshold: float = Field(0.3, gt=0, lt=1)
    crop_size: int = Field(24, ge=8)
    crop_scale: float = Field(1.2, ge=1.0)
    region_dim: int = Field(128, ge=8)
    hidden_size: int = Field(96, ge=8)
    top_k: int = Field(8, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _check(self) -> SceneGraphConfig:
        if self.image_size % 4:
            raise ValueError(
                f"image_size must be a multiple of 4 (stride 4), got {self.image_size}"
            )
        return self

    @property
    def map_size(self) -> int:
        """Side of the stride-4 output maps (28 for 112-pixel frames)."""
        return self.image_size // 4
