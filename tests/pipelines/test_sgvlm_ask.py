"""``ask --model sgvlm:<checkpoint>`` on a real sample video: a checkpoint assembled from
tiny random parts (the tiny image-text encoder, a random scene-graph predictor, a tiny
LLM) answers with localized frames and scene-graph facts as evidence."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from videoqa.cli.main import app
from videoqa.errors import ModelUnavailableError
from videoqa.models.sgvlm.llm import TinyLMConfig, create_tiny_llm
from videoqa.models.sgvlm.modeling import build_sgvlm
from videoqa.perception.scene_graph import SceneGraphConfig, SceneGraphLabels, SceneGraphPredictor
from videoqa.pipelines.resolve import parse_spec, resolve
from videoqa.pipelines.sgvlm import SGVLMAnswerer
from videoqa.synth.scene_graph import label_space

SMALL = {"hidden_size": 16, "num_heads": 2, "num_layers": 1}


def _checkpoint(root: Path, **fields) -> Path:
    torch.manual_seed(0)
    create_tiny_llm(
        ["question : what is the person doing ? answer : riding a bike walking"],
        root / "llm",
        TinyLMConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64),
    )
    labels = SceneGraphLabels.model_validate(label_space())  # the synthetic benchmark's
    sg_config = SceneGraphConfig(detect_threshold=1e-6, label_space=labels)
    SceneGraphPredictor(sg_config).save_pretrained(root / "sg")
    base = {
        "frame_dim": 64,
        "patch_dim": 64,
        "frame_encoder": "tiny",
        "num_frames": 6,
        "num_selected_frames": 3,
        "scene_graph_predictor": str(root / "sg"),
        "localizer": {**SMALL, "temporal_layers": 1},
        "qformer": {**SMALL, "intermediate_size": 32, "num_queries": 4},
    }
    model = build_sgvlm({**base, **fields}, root / "llm")
    model.save_pretrained(root / "ckpt")
    return root / "ckpt"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _checkpoint(tmp_path_factory.mktemp("sgvlm_ask"))


def test_multiple_choice_with_localized_frames_and_triplets(
    checkpoint: Path, bikes_video: Path
) -> None:
    run = SGVLMAnswerer(checkpoint)(
        bikes_video, "what is the person doing?", ["riding a bike", "walking"]
    )
    res = run.result
    assert res.model.arch == "sgvlm" and len(res.sampled_times) == 6
    assert sum(res.probabilities) == pytest.approx(1.0, abs=1e-5)
    assert res.answer == res.choices[res.answer_index]
    assert len(res.evidence) == 3
    assert {e.time for e in res.evidence} <= set(res.sampled_times)
    assert [e.score for e in res.evidence] == sorted((e.score for e in res.evidence), reverse=True)
    fact = re.compile(r"^\(.+, .+, .+\) at \d+\.\d\ds p=\d\.\d\d$")
    facts = [f for e in res.evidence for f in e.facts]
    assert facts and all(fact.match(f) for f in facts)
    # the features come from the random-weight ``tiny`` encoder: labelled as such
    assert res.pretrained is False and res.model.frame_encoder == "tiny"
    assert len(res.warnings) == 1 and "random weights" in res.warnings[0]


def test_open_ended_generates_an_answer(checkpoint: Path, bikes_video: Path) -> None:
    res = SGVLMAnswerer(checkpoint)(bikes_video, "what is the person doing?").result
    assert res.open_ended and res.choices == [res.answer]
    assert 0.0 <= res.probabilities[0] <= 1.0


def test_oracle_feature_checkpoint_is_refused(tmp_path: Path) -> None:
    ckpt = _checkpoint(tmp_path, frame_encoder="scene-graph-oracle")
    with pytest.raises(ModelUnavailableError, match="pixels"):
        SGVLMAnswerer(ckpt)


def test_cli_json(checkpoint: Path, bikes_video: Path) -> None:
    out = CliRunner().invoke(
        app,
        [
            "ask",
            str(bikes_video),
            "what is happening?",
            "--model",
            f"sgvlm:{checkpoint}",
            "--choices",
            "riding a bike",
            "walking",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout[out.stdout.index("{") :])
    assert payload["model"]["arch"] == "sgvlm" and payload["evidence"]


def test_cli_keeps_the_pipeline_warnings(tmp_path: Path, bikes_video: Path) -> None:
    ckpt = _checkpoint(tmp_path, trained_on="synthetic:bench")
    out = CliRunner().invoke(
        app,
        ["ask", str(bikes_video), "what is happening?", "--model", f"sgvlm:{ckpt}", "--json"],
    )
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout[out.stdout.index("{") :])
    assert any("synthetic:bench" in w for w in payload["warnings"])


def test_resolver_builds_the_sgvlm_answerer_and_honours_top_k(
    checkpoint: Path, bikes_video: Path
) -> None:
    assert parse_spec(str(checkpoint)).kind == "sgvlm"  # a bare folder: read from its files
    answerer = resolve(f"sgvlm:{checkpoint}", top_k=2, frames=9)
    assert isinstance(answerer, SGVLMAnswerer) and answerer.name == f"sgvlm:{checkpoint}"
    res = answerer(bikes_video, "what is the person doing?", ["riding a bike", "walking"]).result
    assert len(res.evidence) == 2 and len(res.sampled_times) == 6
    assert any("9 frames asked for" in w for w in res.warnings)


def test_cli_top_k(checkpoint: Path, bikes_video: Path) -> None:
    args = ["ask", str(bikes_video), "what?", "--model", f"sgvlm:{checkpoint}", "--top-k", "1"]
    out = CliRunner().invoke(app, [*args, "--choices", "riding a bike", "walking", "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout[out.stdout.index("{") :])
    assert len(payload["evidence"]) == 1
