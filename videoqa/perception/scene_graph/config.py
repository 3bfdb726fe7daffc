"""Configuration and label space of the scene-graph predictor.

The label space (object attributes with their values, predicates) belongs to the data
the predictor is trained on, so it is a field of :class:`SceneGraphConfig`
(``label_space``, a :class:`SceneGraphLabels`) and travels in the checkpoint's
``config.json``: a trained predictor knows the names of its outputs. The training recipe
fills it from the dataset (for the synthetic benchmark, its ``scene_graph_labels.json``).

The token layout is the one of the SGVLM scene-graph tokens (Dai et al., "Towards
Fine-Grained Video Question Answering", 2025, §3.2), made interpretable::

    [subject attribute probs (A), subject box (4), predicate probs (P),
     object attribute probs (A), object box (4), triplet score (1)]

so one token has ``2 (A + 4) + P + 1`` dimensions (``A`` = sum of the attribute
vocabulary sizes): 53 for the synthetic benchmark (A = 6 + 8 + 2 + 3 = 19, P = 6).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["SceneGraphConfig", "SceneGraphLabels", "SceneGraphModelOptions"]


class SceneGraphLabels(BaseModel):
    """What the predictor names: object attributes and pairwise predicates.

    Attributes:
        attributes: attribute name → its values, in the order of the attribute heads,
            of the token layout and of the ``object_labels`` columns (e.g.
            ``{"shape": [...], "color": [...], ...}``); at least one attribute, each with
            at least one value, no value twice.
        predicates: predicate names, the order of the predicate logits and token part.
        phrase_order: attribute names in the order they are spoken when an object is
            described ("small red metal circle": ``size, color, material, shape``);
            empty = the order of ``attributes``.

    Raises:
        ValueError: (pydantic ``ValidationError``) empty vocabularies, duplicate values,
            or a ``phrase_order`` that is not a permutation of the attribute names.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    attributes: dict[str, tuple[str, ...]] = Field(min_length=1)
    predicates: tuple[str, ...] = Field(min_length=1)
    phrase_order: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> SceneGraphLabels:
        for name, values in self.attributes.items():
            if not values or len(set(values)) != len(values):
                raise ValueError(f"attribute {name!r} needs distinct values, got {list(values)}")
        if len(set(self.predicates)) != len(self.predicates):
            raise ValueError(f"duplicate predicates in {list(self.predicates)}")
        if self.phrase_order and sorted(self.phrase_order) != sorted(self.attributes):
            raise ValueError(
                f"phrase_order {list(self.phrase_order)} must order exactly the attributes "
                f"{list(self.attributes)}"
            )
        return self

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """The attribute names, head order."""
        return tuple(self.attributes)

    @property
    def attribute_sizes(self) -> tuple[int, ...]:
        """Number of values of each attribute, head order."""
        return tuple(len(v) for v in self.attributes.values())

    @property
    def attribute_dim(self) -> int:
        """``A``: length of the concatenated attribute probabilities of one object."""
        return sum(self.attribute_sizes)

    @property
    def token_dim(self) -> int:
        """Width of one scene-graph token, ``2 (A + 4) + P + 1``."""
        return 2 * (self.attribute_dim + 4) + len(self.predicates) + 1

    def attribute_slices(self) -> dict[str, slice]:
        """Where each attribute's probabilities sit inside the ``A`` attribute dims."""
        out: dict[str, slice] = {}
        start = 0
        for name, size in zip(self.attribute_names, self.attribute_sizes, strict=True):
            out[name] = slice(start, start + size)
            start += size
        return out

    def value_index(self, attribute: str, value: str) -> int:
        """Index of ``value`` in the vocabulary of ``attribute``.

        Raises:
            KeyError: unknown attribute or value (the message names both).
        """
        values = self.attributes.get(attribute)
        if values is None or value not in values:
            raise KeyError(f"{attribute}={value!r} is not in the label space")
        return values.index(value)

    def phrase(self, values: dict[str, str]) -> str:
        """The words of one object, ``values`` (attribute → value) in ``phrase_order``."""
        order = self.phrase_order or self.attribute_names
        return " ".join(values[name] for name in order)


class SceneGraphModelOptions(BaseModel):
    """The predictor's hyper-parameters (everything of :class:`SceneGraphConfig` but the
    label space; a training config's ``model`` section).

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
    def _check(self) -> SceneGraphModelOptions:
        if self.image_size % 4:
            raise ValueError(
                f"image_size must be a multiple of 4 (stride 4), got {self.image_size}"
            )
        return self

    @property
    def map_size(self) -> int:
        """Side of the stride-4 output maps (28 for 112-pixel frames)."""
        return self.image_size // 4


class SceneGraphConfig(SceneGraphModelOptions):
    """Config of :class:`~videoqa.perception.scene_graph.motifs.SceneGraphPredictor`
    (its checkpoint's ``config.json``): the hyper-parameters of
    :class:`SceneGraphModelOptions` plus the label space.

    Attributes:
        label_space: the attributes and predicates it predicts (:class:`SceneGraphLabels`;
            no default: it comes from the training data).

    Raises:
        ValueError: (pydantic ``ValidationError``) no ``label_space`` (the message says
            how to give one to a predictor saved before it was recorded) or invalid fields.
    """

    label_space: SceneGraphLabels

    @model_validator(mode="before")
    @classmethod
    def _require_labels(cls, data: Any) -> Any:
        if isinstance(data, dict) and "label_space" not in data:
            raise ValueError(
                "no label_space: a scene-graph predictor names its attributes and "
                "predicates (SceneGraphLabels); a predictor saved before they were recorded "
                "needs a 'label_space' entry in its config.json (for the synthetic "
                "benchmark: the content of <benchmark>/scene_graph_labels.json) or retraining"
            )
        return data

    @property
    def token_dim(self) -> int:
        """Width of one scene-graph token (:attr:`SceneGraphLabels.token_dim`)."""
        return self.label_space.token_dim
