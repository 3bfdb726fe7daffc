"""An SGVLM checkpoint trained in the test on features computed from real pixels answers a
question about a real sample video through ``videoqa ask`` and ``videoqa eval --model``
(the resolver's ``sgvlm:DIR``). The run is the no-scene-graph, no-localizer ablation, so
that it trains in seconds: frames come from the ``tiny`` encoder over rendered synthetic
videos, the LLM is a from-scratch one (``videoqa models new-llm``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from videoqa.cli.main import app

runner = CliRunner()


def _ok(args: list[str]):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output[-3000:]
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sgvlm_trained")
    bench, feats, llm = root / "synth", root / "feats", root / "llm"
    _ok(["data", "synth", "--out", str(bench), "--videos", "10", "--seed", "1", "--frames", "24",
         "--size", "64", "--workers", "1"])  # fmt: skip
    _ok(["extract", "features", "--annotations", str(bench), "--split", "all", "--encoder", "tiny",
         "--frames", "6", "--patches", "--out", str(feats)])  # fmt: skip
    _ok(["models", "new-llm", "--annotations", str(bench), "--out", str(llm), "--hidden", "32",
         "--layers", "1", "--heads", "2"])  # fmt: skip
    config = {
        "recipe": "sgvlm",
        "data": {"benchmark_dir": str(bench), "features_dir": str(feats), "test_splits": []},
        "model": {
            "llm": str(llm),
            "config": {
                "use_scene_graph": False,
                "use_localizer": False,
                "num_selected_frames": 3,
                "qformer": {"hidden_size": 16, "num_heads": 2, "num_layers": 1,
                            "intermediate_size": 32, "num_queries": 4},
            },  # fmt: skip
        },
        "sgvlm": {"open_ended": False},
        "epochs": 1,
        "batch_size": 16,
        "eval_batch_size": 32,
        "output_dir": str(root / "run"),
        "logging": {"log_every": 5, "progress": False},
    }
    path = root / "sgvlm.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    _ok(["train", "--config", str(path)])
    return root / "run" / "checkpoints" / "best"


def test_a_trained_sgvlm_answers_a_real_video(trained: Path, bikes_video: Path) -> None:
    choices = ["riding bicycles", "swimming", "cooking"]
    out = _ok(["ask", str(bikes_video), "what are the people doing?", "--choices", *choices,
               "--model", f"sgvlm:{trained}", "--top-k", "2", "--json"])  # fmt: skip
    result = json.loads(out.stdout)
    assert result["choices"] == choices and result["answer"] in choices
    assert sum(result["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert len(result["evidence"]) == 2
    duration = result["video"]["duration"]
    assert all(0.0 <= e["time"] <= duration for e in result["evidence"])
    assert result["pretrained"] is False  # features of the random tiny encoder: said so
    assert any("tiny" in w or "random" in w for w in result["warnings"])


def test_eval_model_answers_with_the_same_checkpoint(trained: Path, tmp_path: Path) -> None:
    bench = trained.parents[2] / "synth"
    out = tmp_path / "preds.jsonl"
    result = _ok(["eval", "--dataset", "synthetic", "--annotations", str(bench), "--option",
                  "split=val", "--model", f"sgvlm:{trained}", "--out", str(out), "--json"])  # fmt: skip
    report = json.loads(result.stdout)
    rows = [json.loads(x) for x in out.read_text().splitlines() if x.strip()]
    answered = [r for r in rows if "prediction" in r]
    assert rows[0]["videoqa_settings"]["model"] == f"sgvlm:{trained}"
    assert report["count"] == report["answered"] == len(answered) > 0
    assert report["malformed"] == report["errors"] == 0
    assert all(r["prediction_text"] == r["candidates"][r["prediction"]] for r in answered)
    assert all(r["model"] == f"sgvlm:{trained}" and r["evidence"] for r in answered)
