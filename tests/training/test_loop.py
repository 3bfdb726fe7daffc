"""Trainer on a tiny in-memory colour task: convergence, outputs, identical resume."""

from __future__ import annotations

import json

import pytest

from tests.training.fakes import TINY, make_task
from videoqa.errors import UsageError
from videoqa.recipes import build_recipe
from videoqa.training import QADataset, TrainConfig, Trainer, TrainingData
from videoqa.training.data import build_tokenizer
from videoqa.training.logs import read_metrics


class Killed(Exception):
    """Stands in for a kill: raised by the objective at a chosen step."""


def _data(sizes=(("train", 32), ("val", 16), ("test", 16))) -> TrainingData:
    task = make_task(sizes=sizes)
    tok = build_tokenizer(task.splits["train"])

    def make(split, teacher=None):
        return QADataset(task.splits[split], task.frames, tok, teacher=teacher)

    return TrainingData(make("train", task.teacher), make("val"), {"test": make("test")}, tok)


def _config(out, recipe="sparc", **extra) -> TrainConfig:
    raw = {
        "data": {"benchmark_dir": "unused", "features_dir": "unused"},
        "model": {"name": TINY, "config": {"hidden_size": 32, "num_heads": 2}},
        "optim": {"lr": 0.03, "warmup_ratio": 0.1},
        "recipe": {"name": recipe, "w_s": 0.5, "mixup": {"enabled": True, "prob": 0.5}},
        "epochs": 3,
        "batch_size": 8,
        "log_every": 1,
        "output_dir": str(out),
        "cpu": True,
        **extra,
    }
    return TrainConfig.model_validate(raw)


def test_sparc_training_converges_and_writes_outputs(tmp_path):
    data = _data((("train", 48), ("val", 24), ("test", 24)))
    cfg = _config(tmp_path, epochs=3)
    result = Trainer(cfg, build_recipe("sparc", cfg.recipe), data=data).fit()
    records = read_metrics(tmp_path / "metrics.jsonl")
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert len(epochs) == 3
    assert epochs[-1]["val_accuracy"] > 40.0  # chance is 20 %
    assert result.best_val_accuracy == max(r["val_accuracy"] for r in epochs)
    assert set(epochs[0]["val_per_type"]) == {"DA", "TC"}
    assert set(epochs[0]["train_losses"]) >= {"loss", "main", "consistency", "spatial"}
    # one train question in 48 has no confident frame: the fallback fires for it
    assert epochs[0]["fallback_rate"] == pytest.approx(1 / 48)
    steps = [r for r in records if r["kind"] == "step"]
    assert len(steps) == 3 * 6 and steps[-1]["step"] == 18
    assert (tmp_path / "curve.png").stat().st_size > 1000
    assert (tmp_path / "checkpoints" / "best" / "model" / "model.safetensors").is_file()
    assert (tmp_path / "checkpoints" / "last" / "state.pt").is_file()
    preds = [json.loads(x) for x in (tmp_path / "predictions" / "test.jsonl").open()]
    assert len(preds) == 24 and set(preds[0]) == {"qid", "prediction", "answer", "qtype"}
    hits = sum(p["prediction"] == p["answer"] for p in preds)
    assert result.tests["test"].accuracy == pytest.approx(100 * hits / 24, abs=0.01)


def test_baseline_recipe_needs_no_teacher(tmp_path):
    data = _data()
    data.train.teacher_probs = None
    cfg = _config(tmp_path, recipe="baseline", epochs=1)
    result = Trainer(cfg, build_recipe("baseline", cfg.recipe), data=data).fit()
    assert result.steps == 4
    with pytest.raises(UsageError):
        Trainer(cfg, build_recipe("sparc", cfg.recipe), data=data)


def _strip(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.mark.parametrize("kill_at", [5, 8])
def test_resume_after_kill_repeats_the_uninterrupted_run(tmp_path, kill_at):
    data = _data()
    full_cfg = _config(tmp_path / "full", checkpoint_every=3)
    Trainer(full_cfg, build_recipe("sparc", full_cfg.recipe), data=data).fit()
    expected = _strip(read_metrics(tmp_path / "full" / "metrics.jsonl"))

    cfg = _config(tmp_path / "killed", checkpoint_every=3)
    recipe = build_recipe("sparc", cfg.recipe)
    original, calls = recipe.backward_loss, []

    def dying_loss(model, batch, backward):
        calls.append(1)
        if len(calls) == kill_at:
            raise Killed
        return original(model, batch, backward)

    recipe.backward_loss = dying_loss
    with pytest.raises(Killed):
        Trainer(cfg, recipe, data=data).fit()
    resumed = Trainer(cfg, build_recipe("sparc", cfg.recipe), data=data).fit(resume=True)
    got = _strip(read_metrics(tmp_path / "killed" / "metrics.jsonl"))
    assert got == expected
    assert resumed.steps == 12


def test_resume_without_checkpoint_is_an_error(tmp_path):
    cfg = _config(tmp_path)
    with pytest.raises(UsageError):
        Trainer(cfg, build_recipe("sparc", cfg.recipe), data=_data()).fit(resume=True)
