"""The model resolver: spec parsing, folder detection, options, typed errors."""

from __future__ import annotations

import json

import pytest

from videoqa.errors import ModelUnavailableError, UsageError
from videoqa.pipelines.ask import AskPipeline
from videoqa.pipelines.backbone import BackboneAnswerer
from videoqa.pipelines.resolve import Answerer, list_schemes, parse_spec, resolve


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.mark.parametrize(
    "spec, kind, arch, target",
    [
        ("auto", "zero-shot", None, "auto"),
        ("tiny", "zero-shot", None, "tiny"),
        ("openai/clip-vit-base-patch32", "zero-shot", None, "openai/clip-vit-base-patch32"),
        (
            "hf-hub:google/siglip-base-patch16-224",
            "zero-shot",
            None,
            "google/siglip-base-patch16-224",
        ),
        ("vgt:runs/vgt/checkpoints/best", "backbone", "vgt", "runs/vgt/checkpoints/best"),
        ("hga: runs/x", "backbone", "hga", "runs/x"),
        ("transformer:owner/repo", "backbone", "transformer", "owner/repo"),
        ("sgvlm:runs/sgvlm/best", "sgvlm", "sgvlm", "runs/sgvlm/best"),
    ],
)
def test_parse_spec(spec, kind, arch, target):
    parsed = parse_spec(spec)
    assert (parsed.kind, parsed.arch, parsed.target, parsed.spec) == (kind, arch, target, spec)


def test_schemes_are_the_registered_models_and_sgvlm():
    assert {"hga", "vgt", "transformer", "sgvlm", "hf-hub"} <= set(list_schemes())


def test_folders_are_recognized_by_their_files(checkpoints, tmp_path):
    assert parse_spec(str(checkpoints["vgt"])).kind == "backbone"
    assert parse_spec(str(checkpoints["vgt"] / "model")).kind == "backbone"
    sgvlm = tmp_path / "sgvlm"
    (sgvlm / "llm").mkdir(parents=True)
    (sgvlm / "config.json").write_text("{}")
    assert parse_spec(str(sgvlm)).kind == "sgvlm"
    clip = tmp_path / "clip"
    clip.mkdir()
    (clip / "config.json").write_text(json.dumps({"model_type": "clip"}))
    assert parse_spec(str(clip)).kind == "zero-shot"


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "empty"),
        ("nope:runs/x", "unknown model prefix 'nope:'"),
        ("cnn:encoders/cnn", "frame encoder"),
        ("vgt:", "names no checkpoint"),
        ("vgt:/no/such/folder", "no such checkpoint folder"),
        ("sgvlm:/no/such/folder", "no such checkpoint folder"),
    ],
)
def test_bad_specs_are_typed_errors(spec, message):
    with pytest.raises(ModelUnavailableError, match=message) as err:
        resolve(spec)
    assert err.value.exit_code == 4


def test_a_folder_of_no_known_layout(tmp_path, checkpoints):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailableError, match="not a checkpoint videoqa can answer with"):
        resolve(str(tmp_path / "empty"))
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "config.json").write_text((checkpoints["hga"] / "model" / "config.json").read_text())
    with pytest.raises(ModelUnavailableError, match="holds a 'hga' model without the files"):
        resolve(str(lone))


def test_zero_shot_presets_keep_their_behaviour(bikes_video):
    answerer = resolve("tiny", frames=4, top_k=2, grid=2)
    assert isinstance(answerer, AskPipeline) and isinstance(answerer, Answerer)
    assert answerer.name == "tiny" and answerer.pretrained is False
    assert (answerer.config.frames, answerer.config.top_k, answerer.config.grid) == (4, 2, 2)
    res = answerer(bikes_video, "what?", ["a bike", "a car"]).result
    assert len(res.evidence) == 2 and res.model.name == "tiny"


def test_auto_falls_back_to_tiny_with_a_warning(bikes_video, monkeypatch):
    import videoqa.pipelines.models as models

    monkeypatch.setattr(models, "is_available", lambda *a, **k: False)
    answerer = resolve("auto", frames=2)
    res = answerer(bikes_video, "what?", ["a", "b"]).result
    assert res.pretrained is False and res.warnings and "'tiny'" in res.warnings[0]


def test_a_backbone_is_an_answerer(checkpoints):
    answerer = resolve(f"vgt:{checkpoints['vgt']}", top_k=2)
    assert isinstance(answerer, BackboneAnswerer) and isinstance(answerer, Answerer)
    assert answerer.settings == {
        "frame_encoder": "tiny",
        "sampler": "uniform",
        "frames": 6,
        "top_k": 2,
        "answer_top_k": 5,
    }
    assert json.loads(json.dumps(resolve("tiny", frames=3).settings))["frames"] == 3


def test_unknown_options_are_usage_errors():
    with pytest.raises(UsageError, match="invalid model options"):
        resolve("tiny", nonsense=1)
    with pytest.raises(UsageError):
        resolve("tiny", top_k=0)


def test_answers_file(tmp_path, bikes_video):
    vocab = tmp_path / "answers.txt"
    vocab.write_text("red\nblue\n")
    res = resolve("tiny", frames=2, answers=vocab)(bikes_video, "what colour?").result
    assert set(res.choices) == {"red", "blue"}
    with pytest.raises(UsageError):
        resolve("tiny", answers=tmp_path / "missing.txt")
