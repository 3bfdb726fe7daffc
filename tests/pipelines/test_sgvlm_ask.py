"""``ask --model sgvlm:<checkpoint>`` on a real sample video: a checkpoint assembled from
tiny random parts (the tiny image-text encoder, a random scene-graph predictor, a tiny
LLM) answers with localized frames and scene-graph facts as evidence; ``--top-k`` sets
the number of evidence frames, and evidence without triplets always says why."""

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
from videoqa.pipelines.sgvlm import NO_TRIPLETS, SGVLMAnswerer
from videoqa.synth.scene_graph import label_space

SMALL = {"hidden_size": 16, "num_heads": 2, "num_layers": 1}


def _checkpoint(root: Path, *, detect_threshold: float = 1e-6, **fields) -> Path:
    torch.manual_seed(0)
    create_tiny_llm(
        ["question : what is the person doing ? answer : riding a bike walking"],
        root / "llm",
        TinyLMConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64),
    )
    labels = SceneGraphLabels.model_validate(label_space())  # the synthetic benchmark's
    sg_config = SceneGraphConfig(detect_threshold=detect_threshold, label_space=labels)
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


QUESTION = ("what is the person doing?", ["riding a bike", "walking"])


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


@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_top_k_sets_the_number_of_evidence_frames(
    checkpoint: Path, bikes_video: Path, top_k: int
) -> None:
    res = resolve(f"sgvlm:{checkpoint}", top_k=top_k)(bikes_video, *QUESTION).result
    assert len(res.evidence) == top_k
    assert all(f and not f[0].startswith(NO_TRIPLETS) for f in (e.facts for e in res.evidence))
    assert not any("top-k" in w for w in res.warnings)


def test_top_k_beyond_the_selected_frames_is_reported(checkpoint: Path, bikes_video: Path) -> None:
    res = resolve(f"sgvlm:{checkpoint}", top_k=5)(bikes_video, *QUESTION).result
    assert len(res.evidence) == 3  # num_selected_frames: what the answer read
    assert any("top-k 5 asked for" in w and "3 frames" in w for w in res.warnings)


def _no_triplet_reasons(res) -> list[str]:  # noqa: ANN001 - AskResult
    assert res.evidence
    for item in res.evidence:  # every evidence frame says why it has no triplet
        assert len(item.facts) == 1 and item.facts[0].startswith(NO_TRIPLETS), item.facts
    return [item.facts[0] for item in res.evidence]


def test_nosg_evidence_says_why_it_has_no_triplets(tmp_path: Path, bikes_video: Path) -> None:
    ckpt = _checkpoint(tmp_path, use_scene_graph=False, scene_graph_predictor=None)
    res = SGVLMAnswerer(ckpt, top_k=2)(bikes_video, *QUESTION).result
    assert len(res.evidence) == 2
    assert all("NoSG" in r for r in _no_triplet_reasons(res))
    assert any("NoSG" in w and "no triplets" in w for w in res.warnings)


def test_no_recorded_predictor_answers_with_an_empty_view_and_says_so(
    tmp_path: Path, bikes_video: Path
) -> None:
    ckpt = _checkpoint(tmp_path, scene_graph_predictor=None)
    res = SGVLMAnswerer(ckpt)(bikes_video, *QUESTION).result
    assert sum(res.probabilities) == pytest.approx(1.0, abs=1e-5)  # finite: masked tokens
    assert all("records no scene-graph predictor" in r for r in _no_triplet_reasons(res))
    assert any("records no scene-graph predictor" in w for w in res.warnings)


def test_a_predictor_that_detects_nothing_is_reported(tmp_path: Path, bikes_video: Path) -> None:
    ckpt = _checkpoint(tmp_path, detect_threshold=0.999)  # a random net never gets there
    res = resolve(f"sgvlm:{ckpt}", top_k=2)(bikes_video, *QUESTION).result
    assert sum(res.probabilities) == pytest.approx(1.0, abs=1e-5)
    assert all("detected no object in this frame" in r for r in _no_triplet_reasons(res))
    assert any("no scene-graph triplets in any evidence frame" in w for w in res.warnings)
    out = CliRunner().invoke(
        app, ["ask", str(bikes_video), QUESTION[0], "--model", f"sgvlm:{ckpt}", "--json"]
    )
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout[out.stdout.index("{") :])
    assert any("no scene-graph triplets" in w for w in payload["warnings"])
    assert all(e["facts"][0].startswith(NO_TRIPLETS) for e in payload["evidence"])


def test_relative_paths_are_found_beside_the_checkpoint(
    tmp_path: Path, bikes_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training records the predictor folder relative to its working directory; ``ask``
    run from elsewhere finds it above the checkpoint."""
    ckpt = _checkpoint(tmp_path / "work", scene_graph_predictor="sg")
    monkeypatch.chdir(tmp_path)
    res = SGVLMAnswerer(ckpt.relative_to(tmp_path))(bikes_video, *QUESTION).result
    assert [f for e in res.evidence for f in e.facts if not f.startswith(NO_TRIPLETS)]
