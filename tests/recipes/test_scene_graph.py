"""The ``sg-predictor`` recipe (SGVLM stage 1) on a tiny rendered benchmark: learning
through the shared loop, the best checkpoint as a loadable predictor carrying its label
space, identical resume, the schedule, the label-space sources, the CLI and the shipped
config."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests.perception.scene_graph.conftest import SYNTH_LABELS, TINY_BENCH, TINY_CONFIG
from videoqa.errors import DataFormatError
from videoqa.perception.scene_graph.motifs import SceneGraphPredictor
from videoqa.recipes import build_recipe, shipped_configs
from videoqa.recipes.scene_graph import (
    SceneGraphDataConfig,
    SceneGraphRecipe,
    SceneGraphRunConfig,
    resolve_label_space,
)
from videoqa.synth.generate import generate_dataset
from videoqa.training import Interrupted, TrainingLoop
from videoqa.training.logs import read_metrics

TINY_MODEL = TINY_CONFIG.model_dump(exclude={"label_space"})


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sgbench") / "synth"
    generate_dataset(out, TINY_BENCH, workers=1)
    return out


def _config(bench: Path, out: Path, **extra) -> SceneGraphRunConfig:
    raw = {
        "recipe": "sg-predictor",
        "data": {"benchmark_dir": str(bench), "frames_per_video": 2, "val_frames_per_video": 2},
        "model": TINY_MODEL,
        "epochs": 2,
        "batch_size": 4,
        "logging": {"log_every": 1, "progress": False},
        "output_dir": str(out),
        "cpu": True,
    }
    for key, value in extra.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return SceneGraphRunConfig.model_validate(raw)


def _strip(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def test_training_learns_colours_and_keeps_the_best_epoch(bench: Path, tmp_path: Path) -> None:
    # the old loop's test (sg-train): 12 epochs of 100 frames, batch 16, lr 3e-3
    config = _config(
        bench, tmp_path / "run", epochs=12, batch_size=16,
        data={"frames_per_video": 20, "val_frames_per_video": 20},
        optim={"lr": 3e-3, "weight_decay": 1e-4, "grad_clip": 5.0},
        scheduler={"warmup_ratio": 0.03, "min_lr_ratio": 0.05},
    )  # fmt: skip
    result = TrainingLoop(SceneGraphRecipe(config)).fit()
    tests = result.tests
    assert tests["train_frames"] == 100 and tests["val_frames"] == 20
    best = tests["val"]
    assert best["attribute_accuracy"]["color"] > 0.6  # chance: 1/8
    epochs = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "epoch"]
    assert epochs[-1]["train_losses"]["loss"] < epochs[0]["train_losses"]["loss"]
    assert result.best_value == max(r["val_score"] for r in epochs)
    assert best["score"] == pytest.approx(epochs[result.best_epoch]["val_score"])
    for k in ("8", "20", "50"):  # recall never beats the best possible recall at K
        assert best["predicate_recall"][k] <= best["recall_ceiling"][k] + 1e-9
        assert best["sgcls_recall"][k] <= best["predicate_recall"][k]
    assert best["recall_ceiling"]["8"] < best["recall_ceiling"]["50"]
    # checkpoints/best is the predictor, and it carries the label space
    loaded = SceneGraphPredictor.from_pretrained(tmp_path / "run" / "checkpoints" / "best")
    assert loaded.config == TINY_CONFIG and loaded.config.label_space == SYNTH_LABELS
    saved = json.loads((tmp_path / "run" / "checkpoints" / "best" / "config.json").read_text())
    assert saved["label_space"]["predicates"] == list(SYNTH_LABELS.predicates)


def test_schedule_is_a_3_percent_warmup_then_cosine_to_5_percent(bench, tmp_path) -> None:
    # 5 train videos x 8 frames / batch 1 = 40 steps per epoch, 80 steps: warm-up int(2.4) = 2
    config = _config(bench, tmp_path / "run", data={"frames_per_video": 8}, batch_size=1,
                     optim={"lr": 1e-3, "weight_decay": 1e-4, "grad_clip": 5.0},
                     scheduler={"warmup_ratio": 0.03, "min_lr_ratio": 0.05})  # fmt: skip
    with pytest.raises(Interrupted):
        TrainingLoop(SceneGraphRecipe(config)).fit(stop_after_steps=41)
    lrs = [r["lr"] for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "step"]
    # the lr logged after step s is the one of step s + 1
    assert lrs[0] == pytest.approx(1e-3 * 2 / 3) and lrs[1] == pytest.approx(1e-3)
    half = 1e-3 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * 38 / 78)))
    assert lrs[39] == pytest.approx(half)


def test_resume_gives_the_same_metrics(bench: Path, tmp_path: Path) -> None:
    full = tmp_path / "full"
    TrainingLoop(SceneGraphRecipe(_config(bench, full))).fit()
    cut = tmp_path / "cut"
    config = _config(bench, cut, checkpoint={"every_n_steps": 2})
    with pytest.raises(Interrupted):
        TrainingLoop(SceneGraphRecipe(config)).fit(stop_after_steps=4)  # mid-epoch 2
    result = TrainingLoop(SceneGraphRecipe(config)).fit(resume=True)
    assert _strip(read_metrics(cut / "metrics.jsonl")) == _strip(
        read_metrics(full / "metrics.jsonl")
    )
    assert result.steps == 6  # 10 frames / batch 4 = 3 steps per epoch
    a = SceneGraphPredictor.from_pretrained(full / "checkpoints" / "best").state_dict()
    b = SceneGraphPredictor.from_pretrained(cut / "checkpoints" / "best").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_label_space_sources(bench: Path, tmp_path: Path) -> None:
    data = SceneGraphDataConfig(benchmark_dir=bench)
    assert resolve_label_space(data) == SYNTH_LABELS  # the benchmark's scene_graph_labels.json
    old = tmp_path / "old"  # a synth folder from before the labels file: synth's vocabularies
    shutil.copytree(bench, old, ignore=shutil.ignore_patterns("videos", "scene_graph_labels.json"))
    assert resolve_label_space(SceneGraphDataConfig(benchmark_dir=old)) == SYNTH_LABELS
    other = tmp_path / "labels.json"
    other.write_text(json.dumps({"attributes": {"kind": ["a", "b"]}, "predicates": ["near"]}))
    named = resolve_label_space(SceneGraphDataConfig(benchmark_dir=old, label_space=other))
    assert named.attribute_sizes == (2,)
    (old / "meta.json").write_text("{}")
    with pytest.raises(DataFormatError, match="label space"):
        resolve_label_space(SceneGraphDataConfig(benchmark_dir=old))
    with pytest.raises(DataFormatError, match="not found"):
        resolve_label_space(SceneGraphDataConfig(benchmark_dir=old, label_space=tmp_path / "x"))


def test_cli_trains_and_sg_extract_reads_the_best_checkpoint(bench, tmp_path) -> None:
    from videoqa.cli.main import app

    config = tmp_path / "sg.yaml"
    config.write_text(_config(bench, tmp_path / "run", epochs=1).to_yaml())
    assert "sg-predictor:" in config.read_text()
    args = ["train", "--recipe", "sg-predictor", "--config", str(config), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["recipe"] == "sg-predictor" and summary["tests"]["train_frames"] == 10
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2  # an existing run is refused without --resume/--overwrite
    best = tmp_path / "run" / "checkpoints" / "best"
    assert (best / "model.safetensors").is_file()
    old = CliRunner().invoke(app, ["sg-train", "--synthetic", str(bench), "--out", "x"])
    assert old.exit_code == 2  # the old command is gone


def test_shipped_configs_load() -> None:
    paths = shipped_configs("sg-predictor")
    assert [p.name for p in paths] == ["sg_predictor.yaml"]
    for path in paths:
        recipe = build_recipe(path)
        assert isinstance(recipe, SceneGraphRecipe)
        cfg = recipe.config
        assert (cfg.optim.lr, cfg.optim.weight_decay, cfg.optim.grad_clip) == (2e-3, 1e-4, 5.0)
        assert (cfg.scheduler.warmup_ratio, cfg.scheduler.min_lr_ratio) == (0.03, 0.05)
        assert (cfg.epochs, cfg.batch_size, cfg.sg_predictor.box_jitter) == (4, 32, 0.08)
    recipe = build_recipe("sg_predictor", ["sg-predictor.threads=1", "model.top_k=4"])
    assert recipe.config.sg_predictor.threads == 1 and recipe.config.model.top_k == 4
