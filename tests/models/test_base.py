"""QABatch validation/manipulation, config validation and the model registry."""

from __future__ import annotations

import json

import pytest
import torch

from videoqa.errors import DuplicateNameError, ModelUnavailableError, UnknownNameError, UsageError
from videoqa.models import (
    MODELS,
    HGAConfig,
    HGAModel,
    QABatch,
    TransformerQAConfig,
    TransformerQAModel,
    VGTModel,
    VideoQAConfig,
    build_model,
    list_models,
    load_model,
)


def batch(b=3, t=5, d=8, c=4, length=6, la=2) -> QABatch:
    return QABatch(
        video=torch.randn(b, t, d),
        video_mask=torch.ones(b, t, dtype=torch.bool),
        question=torch.randint(4, 20, (b, length)),
        question_mask=torch.ones(b, length, dtype=torch.bool),
        candidates=torch.randint(4, 20, (b, c, la)),
        candidates_mask=torch.ones(b, c, la, dtype=torch.bool),
    )


def test_batch_dimensions():
    x = batch()
    assert (x.batch_size, x.num_frames, x.num_candidates) == (3, 5, 4)


def test_batch_rejects_a_row_without_visible_frames():
    x = batch()
    mask = x.video_mask.clone()
    mask[1] = False
    with pytest.raises(UsageError, match="at least one visible"):
        x.with_video(x.video, mask)


@pytest.mark.parametrize(
    "field", ["video_mask", "question_mask", "candidates_mask", "question", "patches"]
)
def test_batch_rejects_bad_shapes(field):
    x = batch()
    kwargs = {
        f: getattr(x, f)
        for f in (
            "video",
            "video_mask",
            "question",
            "question_mask",
            "candidates",
            "candidates_mask",
        )
    }
    bad = {
        "video_mask": torch.ones(3, 4, dtype=torch.bool),
        "question_mask": torch.ones(3, 6),
        "candidates_mask": torch.ones(3, 4, 3, dtype=torch.bool),
        "question": torch.randint(4, 20, (2, 6)),
        "patches": torch.randn(3, 4, 2, 7),
    }[field]
    kwargs[field] = bad
    with pytest.raises(UsageError):
        QABatch(**kwargs)


def test_index_and_with_video():
    x = batch()
    x.patches = torch.randn(3, 5, 2, 7)
    rows = x.index(torch.tensor([2, 0]))
    assert (
        rows.batch_size == 2
        and torch.equal(rows.video[0], x.video[2])
        and torch.equal(rows.patches[1], x.patches[0])
    )
    single = torch.zeros(3, 5, dtype=torch.bool)
    single[:, 3] = True
    same_t = x.with_video(x.video, single)
    assert same_t.patches is x.patches and torch.equal(same_t.video_mask, single)
    shorter = x.with_video(x.video[:, :2], torch.ones(3, 2, dtype=torch.bool))
    assert shorter.patches is None and shorter.num_frames == 2
    assert torch.equal(x.to("cpu").question, x.question)


def test_config_validation():
    with pytest.raises(ValueError, match="divisible"):
        VideoQAConfig(feature_dim=8, vocab_size=20, hidden_size=30, num_heads=4)
    with pytest.raises(ValueError):
        HGAConfig(feature_dim=8, vocab_size=20, unknown_field=1)


def test_list_models_and_registry_classes():
    names = list_models()
    assert names == sorted(names)
    # the built-in backbones (test fakes may register more in the same process)
    assert {"hga", "transformer", "vgt"} <= set(names)
    assert MODELS.get("hga") is HGAModel and MODELS.get("vgt") is VGTModel


def test_duplicate_model_name_raises():
    with pytest.raises(DuplicateNameError):
        MODELS.register("hga", TransformerQAModel)


def test_build_model_from_mapping_and_config():
    model = build_model("transformer", {"feature_dim": 8, "vocab_size": 20, "hidden_size": 16})
    assert isinstance(model, TransformerQAModel) and model.config.hidden_size == 16
    with pytest.raises(UsageError):
        build_model("transformer", {"feature_dim": 8, "vocab_size": 20, "bogus": 1})
    with pytest.raises(UsageError):
        build_model("hga", TransformerQAConfig(feature_dim=8, vocab_size=20))
    with pytest.raises(UnknownNameError):
        build_model("nope", {"feature_dim": 8, "vocab_size": 20})


@pytest.mark.parametrize("name", ["hga", "transformer", "vgt"])
def test_load_model_picks_the_saved_class(tmp_path, name):
    build_model(name, {"feature_dim": 8, "vocab_size": 20, "hidden_size": 16}).save_pretrained(
        tmp_path
    )
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == name and config["hidden_size"] == 16
    loaded = load_model(tmp_path)
    assert type(loaded) is MODELS.get(name) and not loaded.training


def test_from_pretrained_errors(tmp_path):
    with pytest.raises(ModelUnavailableError):
        load_model(tmp_path)
    build_model("hga", {"feature_dim": 8, "vocab_size": 20, "hidden_size": 16}).save_pretrained(
        tmp_path
    )
    with pytest.raises(ModelUnavailableError, match="'hga'"):
        VGTModel.from_pretrained(tmp_path)
    raw = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**raw, "hidden_size": 32}))
    with pytest.raises(ModelUnavailableError, match="do not match"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**raw, "model_type": "nope"}))
    with pytest.raises(ModelUnavailableError, match="unknown model_type"):
        load_model(tmp_path)
