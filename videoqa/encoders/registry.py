"""Encoder registries: architectures and pretrained checkpoints.

* :data:`ENCODERS` maps an architecture (``"clip"``, ``"siglip"``, the ``model_type`` of a
  ``transformers`` ``config.json``) to its adapter class, which is also the factory
  ``adapter(model, tokenizer, image_processor, spec, name=..., device=...)``.
* :data:`PRETRAINED` maps a checkpoint name to its :class:`PretrainedSpec`: the hub id of
  the weights together with the image/text preprocessing they were trained with.

The values registered for the hub checkpoints are those of their published
``preprocessor_config.json`` / ``config.json``; when a checkpoint is loaded the files it
ships are used and compared with the registered spec.
"""

from __future__ import annotations

from dataclasses import dataclass

from videoqa.encoders.hf import ClipEncoder, HFDualEncoder, SiglipEncoder
from videoqa.encoders.spec import (
    HALF,
    OPENAI_CLIP_MEAN,
    OPENAI_CLIP_STD,
    PretrainedSpec,
    ResizePolicy,
    TextPadding,
)
from videoqa.registry import Registry

ENCODERS: Registry[type[HFDualEncoder]] = Registry("encoder architecture")
PRETRAINED: Registry[PretrainedSpec] = Registry("pretrained encoder")

DEFAULT_PRETRAINED = "openai/clip-vit-base-patch32"
"""The checkpoint used when none is named."""

ENCODERS.register("clip", ClipEncoder)
ENCODERS.register("siglip", SiglipEncoder)


def register_pretrained(spec: PretrainedSpec) -> PretrainedSpec:
    """Add ``spec`` to :data:`PRETRAINED` under ``spec.name``.

    Raises:
        DuplicateNameError: the name is already registered.
        UnknownNameError: ``spec.arch`` is not in :data:`ENCODERS`.
    """
    ENCODERS.get(spec.arch)
    PRETRAINED.register(spec.name, spec)
    return spec


@dataclass(frozen=True)
class _Family:
    """What every checkpoint of one architecture shares: its paper and its preprocessing."""

    label: str
    paper: str
    resize: ResizePolicy
    center_crop: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    text_padding: TextPadding


_FAMILIES: dict[str, _Family] = {
    "clip": _Family(
        label="CLIP",
        paper="Radford et al. 2021, Learning Transferable Visual Models From Natural Language"
        " Supervision",
        resize="shortest_edge",
        center_crop=True,
        mean=OPENAI_CLIP_MEAN,
        std=OPENAI_CLIP_STD,
        text_padding="longest",
    ),
    "siglip": _Family(
        label="SigLIP",
        paper="Zhai et al. 2023, Sigmoid Loss for Language Image Pre-Training",
        resize="square",
        center_crop=False,
        mean=HALF,
        std=HALF,
        text_padding="max_length",
    ),
}


def _spec(
    name: str, arch: str, image_size: int, context_length: int, embed_dim: int, hub: bool = True
) -> PretrainedSpec:
    """The spec of a hub checkpoint (``source == name``) or, with ``hub=False``, of an
    offline random-weight preset, with ``arch``'s preprocessing (bicubic resize)."""
    family = _FAMILIES[arch]
    preset = f"random weights (offline preset with {family.label} classes)"
    return PretrainedSpec(
        name=name,
        arch=arch,
        source=name if hub else None,
        pretrained=hub,
        image_size=image_size,
        resize=family.resize,
        center_crop=family.center_crop,
        interpolation="bicubic",
        mean=family.mean,
        std=family.std,
        context_length=context_length,
        text_padding=family.text_padding,
        embed_dim=embed_dim,
        reference=family.paper if hub else preset,
    )


TINY_IMAGE_SIZE = 32
"""Input side of the ``tiny`` presets' vision towers, pixels."""
TINY_CONTEXT_LENGTH = 32
"""Maximum tokens of the ``tiny`` presets' text towers."""
TINY_EMBED_DIM = 64
"""Joint embedding dimension of the ``tiny`` presets."""

_TINY = (TINY_IMAGE_SIZE, TINY_CONTEXT_LENGTH, TINY_EMBED_DIM)
for _registered in (
    _spec("openai/clip-vit-base-patch32", "clip", 224, 77, 512),
    _spec("openai/clip-vit-base-patch16", "clip", 224, 77, 512),
    _spec("openai/clip-vit-large-patch14", "clip", 224, 77, 768),
    _spec("google/siglip-base-patch16-224", "siglip", 224, 64, 768),
    _spec("tiny", "clip", *_TINY, hub=False),
    _spec("tiny-siglip", "siglip", *_TINY, hub=False),
):
    register_pretrained(_registered)

OFFLINE_PRESETS: tuple[str, ...] = ("tiny", "tiny-siglip")
"""Registered names built locally with random weights (no download)."""


def list_encoders() -> list[str]:
    """Sorted names of the registered checkpoints and presets (:data:`PRETRAINED`)."""
    return PRETRAINED.names()


def list_architectures() -> list[str]:
    """Sorted architecture keys of :data:`ENCODERS`."""
    return ENCODERS.names()
