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

from videoqa.encoders.hf import ClipEncoder, HFDualEncoder, SiglipEncoder
from videoqa.encoders.spec import HALF, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, PretrainedSpec
from videoqa.registry import Registry

ENCODERS: Registry[type[HFDualEncoder]] = Registry("encoder architecture")
PRETRAINED: Registry[PretrainedSpec] = Registry("pretrained encoder")

DEFAULT_PRETRAINED = "openai/clip-vit-base-patch32"
"""The checkpoint used when none is named."""

ENCODERS.register("clip", ClipEncoder)
ENCODERS.register("siglip", SiglipEncoder)

_CLIP_PAPER = (
    "Radford et al. 2021, Learning Transferable Visual Models From Natural Language Supervision"
)
_SIGLIP_PAPER = "Zhai et al. 2023, Sigmoid Loss for Language Image Pre-Training"


def register_pretrained(spec: PretrainedSpec) -> PretrainedSpec:
    """Add ``spec`` to :data:`PRETRAINED` under ``spec.name``.

    Raises:
        DuplicateNameError: the name is already registered.
        UnknownNameError: ``spec.arch`` is not in :data:`ENCODERS`.
    """
    ENCODERS.get(spec.arch)
    PRETRAINED.register(spec.name, spec)
    return spec


def _clip(name: str, embed_dim: int, image_size: int = 224) -> PretrainedSpec:
    return PretrainedSpec(
        name=name,
        arch="clip",
        source=name,
        image_size=image_size,
        resize="shortest_edge",
        center_crop=True,
        interpolation="bicubic",
        mean=OPENAI_CLIP_MEAN,
        std=OPENAI_CLIP_STD,
        context_length=77,
        text_padding="longest",
        embed_dim=embed_dim,
        reference=_CLIP_PAPER,
    )


register_pretrained(_clip("openai/clip-vit-base-patch32", 512))
register_pretrained(_clip("openai/clip-vit-base-patch16", 512))
register_pretrained(_clip("openai/clip-vit-large-patch14", 768))
register_pretrained(
    PretrainedSpec(
        name="google/siglip-base-patch16-224",
        arch="siglip",
        source="google/siglip-base-patch16-224",
        image_size=224,
        resize="square",
        center_crop=False,
        interpolation="bicubic",
        mean=HALF,
        std=HALF,
        context_length=64,
        text_padding="max_length",
        embed_dim=768,
        reference=_SIGLIP_PAPER,
    )
)

TINY_IMAGE_SIZE = 32
"""Input side of the ``tiny`` presets' vision towers, pixels."""
TINY_CONTEXT_LENGTH = 32
"""Maximum tokens of the ``tiny`` presets' text towers."""
TINY_EMBED_DIM = 64
"""Joint embedding dimension of the ``tiny`` presets."""

register_pretrained(
    PretrainedSpec(
        name="tiny",
        arch="clip",
        source=None,
        pretrained=False,
        image_size=TINY_IMAGE_SIZE,
        resize="shortest_edge",
        center_crop=True,
        interpolation="bicubic",
        mean=OPENAI_CLIP_MEAN,
        std=OPENAI_CLIP_STD,
        context_length=TINY_CONTEXT_LENGTH,
        text_padding="longest",
        embed_dim=TINY_EMBED_DIM,
        reference="random weights (offline preset with CLIP classes)",
    )
)
register_pretrained(
    PretrainedSpec(
        name="tiny-siglip",
        arch="siglip",
        source=None,
        pretrained=False,
        image_size=TINY_IMAGE_SIZE,
        resize="square",
        center_crop=False,
        interpolation="bicubic",
        mean=HALF,
        std=HALF,
        context_length=TINY_CONTEXT_LENGTH,
        text_padding="max_length",
        embed_dim=TINY_EMBED_DIM,
        reference="random weights (offline preset with SigLIP classes)",
    )
)

OFFLINE_PRESETS: tuple[str, ...] = ("tiny", "tiny-siglip")
"""Registered names built locally with random weights (no download)."""


def list_encoders() -> list[str]:
    """Sorted names of the registered checkpoints and presets (:data:`PRETRAINED`)."""
    return PRETRAINED.names()


def list_architectures() -> list[str]:
    """Sorted architecture keys of :data:`ENCODERS`."""
    return ENCODERS.names()
