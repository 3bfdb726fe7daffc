"""The offline ``tiny`` / ``tiny-siglip`` presets: the real model classes, tiny sizes,
random weights from a fixed seed.

They exercise every code path of the CLIP/SigLIP adapters (tokenizer, image processor,
``transformers`` model, save/load) without any download, in well under a second. The
embeddings are deterministic (the same in every process) but meaningless: ``pretrained``
is ``False``.

The tokenizer is a word-level ``tokenizers`` model over
:data:`~videoqa.encoders.vocab.VIDEOQA_WORDS` (NFKC + lower case, split on whitespace and
punctuation), wrapped as a ``transformers`` fast tokenizer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from videoqa.encoders.hf import (
    PRESET_CONFIG_KEY,
    SIGLIP_INIT_LOGIT_BIAS,
    SIGLIP_INIT_LOGIT_SCALE,
    HFDualEncoder,
    quiet_transformers,
)
from videoqa.encoders.registry import ENCODERS, OFFLINE_PRESETS, PRETRAINED
from videoqa.encoders.spec import PretrainedSpec
from videoqa.encoders.vocab import VIDEOQA_WORDS
from videoqa.errors import UnknownNameError

TINY_SEED = 0
"""Seed of the random weights of the tiny presets."""

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD, UNK, BOS, EOS)
"""Special tokens, ids 0–3 in this order (EOS is not 2: CLIP treats ``eos_token_id == 2``
as a legacy config and pools at the largest id instead)."""

_TOWER = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
}
_PATCH_SIZE = 8


def _vocab() -> dict[str, int]:
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for word in VIDEOQA_WORDS:
        vocab.setdefault(word, len(vocab))
    return vocab


def build_tiny_tokenizer(arch: str = "clip", context_length: int = 32) -> Any:
    """A word-level tokenizer for the tiny presets, as a ``transformers`` fast tokenizer.

    CLIP layout: ``<bos> words <eos>``; SigLIP layout: ``words <eos>`` (its text tower
    pools the last position and is fed texts padded to ``context_length``).
    Unknown words map to ``<unk>``; padding uses ``<pad>`` (id 0).

    Args:
        arch: ``"clip"`` or ``"siglip"``.
        context_length: ``model_max_length`` of the tokenizer, tokens.
    """
    vocab = _vocab()
    tok = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    if arch == "clip":
        template, specials = f"{BOS} $A {EOS}", [(BOS, vocab[BOS]), (EOS, vocab[EOS])]
    else:
        template, specials = f"$A {EOS}", [(EOS, vocab[EOS])]
    tok.post_processor = processors.TemplateProcessing(single=template, special_tokens=specials)
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD,
        unk_token=UNK,
        bos_token=BOS,
        eos_token=EOS,
        model_max_length=context_length,
    )


def _tiny_config(spec: PretrainedSpec, vocab_size: int) -> Any:
    text = dict(
        _TOWER,
        vocab_size=vocab_size,
        max_position_embeddings=spec.context_length,
        pad_token_id=SPECIAL_TOKENS.index(PAD),
        bos_token_id=SPECIAL_TOKENS.index(BOS),
        eos_token_id=SPECIAL_TOKENS.index(EOS),
    )
    vision = dict(_TOWER, image_size=spec.image_size, patch_size=_PATCH_SIZE)
    if spec.arch == "clip":
        return transformers.CLIPConfig(
            text_config=text, vision_config=vision, projection_dim=spec.embed_dim
        )
    text["projection_size"] = spec.embed_dim
    return transformers.SiglipConfig(text_config=text, vision_config=vision)


def _tiny_model(spec: PretrainedSpec, adapter: type[HFDualEncoder], vocab_size: int) -> Any:
    config = _tiny_config(spec, vocab_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_SEED)
        model = adapter.model_class()(config)
    if spec.arch == "siglip":
        with torch.no_grad():
            model.logit_scale.fill_(SIGLIP_INIT_LOGIT_SCALE)
            model.logit_bias.fill_(SIGLIP_INIT_LOGIT_BIAS)
    return model.eval()


def build_tiny(name: str = "tiny", *, device: str | torch.device = "cpu") -> HFDualEncoder:
    """Build an offline preset (``"tiny"``: CLIP classes, ``"tiny-siglip"``: SigLIP classes).

    The weights come from ``torch.manual_seed(TINY_SEED)`` inside a forked RNG (the
    global torch RNG is left untouched), so every build in every process gives the same
    embeddings. Sizes: 2 layers, width 64, 4 heads per tower, 32 × 32 px images in 8 px
    patches, 32 text tokens, ``D = 64``.

    Raises:
        UnknownNameError: ``name`` is not one of :data:`OFFLINE_PRESETS`.
    """
    if name not in OFFLINE_PRESETS:
        raise UnknownNameError(f"unknown offline encoder preset {name!r}; known: {OFFLINE_PRESETS}")
    spec: PretrainedSpec = PRETRAINED.get(name)
    adapter = ENCODERS.get(spec.arch)
    tokenizer = build_tiny_tokenizer(spec.arch, spec.context_length)
    model = _tiny_model(spec, adapter, len(tokenizer))
    processor = adapter.image_processor_from_spec(spec)
    return adapter(model, tokenizer, processor, spec, name=name, device=device)


def save_tiny(directory: str | Path, name: str = "tiny") -> Path:
    """Write an offline preset as a ``transformers`` checkpoint directory.

    ``save_pretrained`` of the model (``config.json`` + ``model.safetensors``), the
    tokenizer and the image processor; :func:`videoqa.encoders.load_encoder` on the
    directory gives the same embeddings as :func:`build_tiny` and ``pretrained=False``
    (``config.json`` carries ``"videoqa_preset": name``).

    Returns:
        the directory.
    """
    directory = Path(directory)
    encoder = build_tiny(name)
    setattr(encoder.model.config, PRESET_CONFIG_KEY, name)
    # warnings_too: saving a SigLIP config builds a default one that warns about itself
    with quiet_transformers(warnings_too=True):
        encoder.model.save_pretrained(directory)
        encoder.tokenizer.save_pretrained(directory)
        encoder.image_processor.save_pretrained(directory)
    return directory
