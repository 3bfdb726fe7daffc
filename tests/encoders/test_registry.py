"""The architecture and pretrained registries, and the specs' preprocessing."""

from __future__ import annotations

import pytest
import transformers

from videoqa.encoders import (
    DEFAULT_PRETRAINED,
    ENCODERS,
    PRETRAINED,
    ClipEncoder,
    PretrainedSpec,
    SiglipEncoder,
    list_architectures,
    list_encoders,
    register_pretrained,
)
from videoqa.encoders.spec import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from videoqa.errors import DuplicateNameError, UnknownNameError

REQUIRED = {
    "openai/clip-vit-base-patch32",
    "openai/clip-vit-base-patch16",
    "openai/clip-vit-large-patch14",
    "google/siglip-base-patch16-224",
    "tiny",
    "tiny-siglip",
}


def test_list_encoders_has_the_registered_names():
    names = list_encoders()
    assert REQUIRED <= set(names)
    assert names == sorted(names)
    assert DEFAULT_PRETRAINED == "openai/clip-vit-base-patch32" and DEFAULT_PRETRAINED in names


def test_architectures_map_to_adapters():
    assert list_architectures() == ["clip", "siglip"]
    assert ENCODERS.get("clip") is ClipEncoder and ENCODERS.get("siglip") is SiglipEncoder


def test_duplicate_names_raise():
    with pytest.raises(DuplicateNameError):
        register_pretrained(PRETRAINED.get("tiny"))
    with pytest.raises(DuplicateNameError):
        ENCODERS.register("clip", ClipEncoder)


def test_spec_with_unknown_arch_is_refused():
    spec = PRETRAINED.get("tiny").model_copy(update={"name": "x/never", "arch": "blip"})
    with pytest.raises(UnknownNameError):
        register_pretrained(spec)
    assert "x/never" not in PRETRAINED


def test_hub_specs_are_pretrained_and_presets_are_not():
    for name in list_encoders():
        spec = PRETRAINED.get(name)
        assert spec.name == name
        assert spec.pretrained == (spec.source is not None)
    clip = PRETRAINED.get("openai/clip-vit-base-patch32")
    assert (clip.image_size, clip.context_length, clip.embed_dim) == (224, 77, 512)
    assert clip.mean == OPENAI_CLIP_MEAN and clip.std == OPENAI_CLIP_STD
    assert PRETRAINED.get("openai/clip-vit-large-patch14").embed_dim == 768
    siglip = PRETRAINED.get("google/siglip-base-patch16-224")
    assert (siglip.resize, siglip.center_crop, siglip.text_padding) == (
        "square",
        False,
        "max_length",
    )
    assert (siglip.context_length, siglip.embed_dim) == (64, 768)


def _config_for(spec: PretrainedSpec):
    text = {"max_position_embeddings": spec.context_length}
    vision = {"image_size": spec.image_size}
    if spec.arch == "clip":
        return transformers.CLIPConfig(
            text_config=text, vision_config=vision, projection_dim=spec.embed_dim
        )
    vision["hidden_size"] = spec.embed_dim
    return transformers.SiglipConfig(text_config=text, vision_config=vision)


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_spec_survives_a_round_trip_through_an_image_processor(name):
    """spec → transformers image processor (+ config) → spec gives the same preprocessing."""
    spec = PRETRAINED.get(name)
    adapter = ENCODERS.get(spec.arch)
    processor = adapter.image_processor_from_spec(spec)
    back = adapter.spec_from_checkpoint(
        _config_for(spec), None, processor, name=name, pretrained=spec.pretrained
    )
    assert back.preprocessing_matches(spec)
    assert back.model_copy(update={"source": spec.source, "reference": spec.reference}) == spec


def test_preprocessing_matches_notices_differences():
    spec = PRETRAINED.get("tiny")
    assert spec.preprocessing_matches(spec.model_copy(update={"name": "other"}))
    assert not spec.preprocessing_matches(spec.model_copy(update={"image_size": 64}))
    assert not spec.preprocessing_matches(spec.model_copy(update={"mean": (0.5, 0.5, 0.5)}))
