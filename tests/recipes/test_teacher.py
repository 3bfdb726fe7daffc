"""The ``teacher`` recipe on a tiny synthetic benchmark (annotations only) and a random
feature store: examples, training through the shared loop, early stopping, identical
resume, the best checkpoint read by ``teach``, the CLI and the shipped config."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from tests.models.imageqa.fakes import FRAMES, P, write_fake_store
from videoqa.models.imageqa import load_teacher
from videoqa.models.imageqa.feature import FeatureTeacher
from videoqa.models.imageqa.frame_qa import nearest_frame
from videoqa.recipes import build_recipe, shipped_configs
from videoqa.recipes.teacher import TeacherConfig, TeacherRecipe, build_examples
from videoqa.synth.config import SynthConfig
from videoqa.synth.generate import generate_dataset
from videoqa.training import Interrupted, TrainingLoop
from videoqa.training.logs import read_metrics


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    generate_dataset(out, SynthConfig(videos=8, seed=1, frames=FRAMES, size=48), workers=1,
                     write_videos=False)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory, bench):
    return write_fake_store(tmp_path_factory.mktemp("feats"), bench)


def _config(bench, store, out, **extra) -> TeacherConfig:
    raw = {
        "recipe": "teacher",
        "data": {"benchmark_dir": str(bench), "features_dir": str(store.root)},
        "model": {"hidden_size": 16},
        "epochs": 4,
        "batch_size": 8,
        "checkpoint": {"patience": 2},
        "logging": {"log_every": 1, "progress": False},
        "output_dir": str(out),
        "cpu": True,
    }
    for key, value in extra.items():
        if isinstance(value, dict):
            raw[key] = {**raw.get(key, {}), **value}
        else:
            raw[key] = value
    return TeacherConfig.model_validate(raw)


def _epochs(out) -> list[dict]:
    return [r for r in read_metrics(out / "metrics.jsonl") if r["kind"] == "epoch"]


def _strip(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def test_build_examples_gathers_the_right_rows(bench, store):
    from videoqa.data import load_dataset

    samples = list(load_dataset("synthetic", bench, split="train", frame_qa=True).samples)
    frame_of = {s.qid: int(s.extras["frame"]) for s in samples}
    examples, skipped = build_examples(samples, store, frame_of)
    assert skipped == 0 and len(examples) == len(samples)
    s = samples[-1]
    feats = store.get(s.video_id)
    t = nearest_frame(feats.frame_indices, s.extras["frame"])
    np.testing.assert_array_equal(examples.vectors[-1], feats.frames[t])
    np.testing.assert_array_equal(examples.patches[-1], feats.patches[t])
    assert examples.answers[-1] == s.answer and examples.qtypes[-1] == s.qtype


def test_trains_a_loadable_teacher_and_keeps_the_best_epoch(bench, store, tmp_path):
    result = TrainingLoop(TeacherRecipe(_config(bench, store, tmp_path / "a"))).fit()
    tests = result.tests
    assert (tests["train_examples"], tests["val_examples"], tests["extra_examples"]) == (23, 7, 0)
    assert tests["skipped"] == 0
    epochs = _epochs(tmp_path / "a")
    assert 0 <= result.best_epoch < len(epochs) <= 4
    accuracies = [e["val_accuracy"] for e in epochs]
    assert result.best_value == accuracies[result.best_epoch] == max(accuracies)
    assert accuracies.index(max(accuracies)) == result.best_epoch  # the first best is kept
    assert tests["val_accuracy"] == result.best_value  # restored best weights re-scored
    assert set(tests["val_per_type"]) <= {"FA", "FC", "FE", "FR"}
    assert set(epochs[0]["train_losses"]) == {"loss"}
    steps = [r for r in read_metrics(tmp_path / "a" / "metrics.jsonl") if r["kind"] == "step"]
    assert {r["lr"] for r in steps} == {2e-3}  # a constant learning rate, as before
    best = tmp_path / "a" / "checkpoints" / "best"
    teacher = load_teacher(f"feature:{best}")
    assert isinstance(teacher, FeatureTeacher)
    assert teacher.config.num_patches == P and teacher.config.hidden_size == 16
    assert (best / "config.yaml").is_file()
    # same seed, same run
    TrainingLoop(TeacherRecipe(_config(bench, store, tmp_path / "b"))).fit()
    assert _strip(_epochs(tmp_path / "b")) == _strip(epochs)
    with_video = TrainingLoop(
        TeacherRecipe(
            _config(bench, store, tmp_path / "c", epochs=1, teacher={"video_questions": True})
        )
    ).fit()
    assert with_video.tests["extra_examples"] > 0 and with_video.tests["train_examples"] == 23


def test_early_stopping_ends_patience_epochs_after_the_best(bench, store, tmp_path):
    cfg = _config(bench, store, tmp_path, epochs=30, checkpoint={"patience": 1})
    cfg.optim.lr = 0.2  # a large constant step: val accuracy soon stops improving
    result = TrainingLoop(TeacherRecipe(cfg)).fit()
    epochs = _epochs(tmp_path)
    assert len(epochs) < 30
    assert len(epochs) == result.best_epoch + 2  # best, then one epoch without a better one
    assert all(e["val_accuracy"] <= result.best_value for e in epochs)


def test_resume_after_interrupt_repeats_the_uninterrupted_run(bench, store, tmp_path):
    TrainingLoop(TeacherRecipe(_config(bench, store, tmp_path / "full", epochs=2))).fit()
    expected = _strip(read_metrics(tmp_path / "full" / "metrics.jsonl"))
    cfg = _config(bench, store, tmp_path / "run", epochs=2, checkpoint={"every_n_steps": 2})
    with pytest.raises(Interrupted):
        TrainingLoop(TeacherRecipe(cfg)).fit(stop_after_steps=4)
    TrainingLoop(TeacherRecipe(cfg)).fit(resume=True)
    assert _strip(read_metrics(tmp_path / "run" / "metrics.jsonl")) == expected


def test_train_cli_runs_the_shipped_config(bench, store, tmp_path):
    from videoqa.cli.train import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # keeps "train" a named sub-command
    out = tmp_path / "run"
    args = ["train", "--recipe", "teacher", "--config", "feature_teacher", "--out", str(out)]
    args += ["--set", f"data.benchmark_dir={bench}", "--set", f"data.features_dir={store.root}"]
    args += ["--set", "epochs=1", "--set", "model.hidden_size=16", "--set", "cpu=true", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["recipe"] == "teacher" and summary["tests"]["val_examples"] == 7
    assert FeatureTeacher.from_pretrained(out / "checkpoints" / "best").config.hidden_size == 16


def test_every_shipped_config_builds():
    paths = shipped_configs("teacher")
    assert [p.name for p in paths] == ["feature_teacher.yaml"]
    for path in paths:
        recipe = build_recipe(path)
        assert isinstance(recipe, TeacherRecipe)
        cfg = recipe.config
        assert (cfg.epochs, cfg.batch_size, cfg.optim.lr, cfg.checkpoint.patience) == (
            60,
            64,
            2e-3,
            10,
        )
        assert (cfg.scheduler.warmup_ratio, cfg.scheduler.min_lr_ratio) == (0.0, 1.0)
