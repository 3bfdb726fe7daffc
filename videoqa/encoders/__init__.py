"""Image–text dual encoders (CLIP, SigLIP) through ``transformers``.

Typical use::

    from videoqa.encoders import load_encoder

    enc = load_encoder("tiny")               # offline preset, random weights
    img = enc.encode_images(frames)          # (T, H, W, 3) uint8 -> (T, D) float32, unit rows
    txt = enc.encode_texts(["a dog runs"])   # -> (N, D)
    logits = enc.similarity_logits(img, txt) # (T, N)
"""

from videoqa.encoders.base import ImageTextEncoder
from videoqa.encoders.hf import ClipEncoder, HFDualEncoder, SiglipEncoder
from videoqa.encoders.loading import hub_reachable, is_available, load_encoder
from videoqa.encoders.registry import (
    DEFAULT_PRETRAINED,
    ENCODERS,
    OFFLINE_PRESETS,
    PRETRAINED,
    list_architectures,
    list_encoders,
    register_pretrained,
)
from videoqa.encoders.spec import PretrainedSpec
from videoqa.encoders.tiny import build_tiny, build_tiny_tokenizer, save_tiny

__all__ = [
    "DEFAULT_PRETRAINED",
    "ENCODERS",
    "OFFLINE_PRESETS",
    "PRETRAINED",
    "ClipEncoder",
    "HFDualEncoder",
    "ImageTextEncoder",
    "PretrainedSpec",
    "SiglipEncoder",
    "build_tiny",
    "build_tiny_tokenizer",
    "hub_reachable",
    "is_available",
    "list_architectures",
    "list_encoders",
    "load_encoder",
    "register_pretrained",
    "save_tiny",
]
