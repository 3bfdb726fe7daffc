"""The shared training loop, run by the backbone recipes on a tiny in-memory colour task:
convergence, outputs, identical resume, refusal of an existing run, safe state."""

from __future__ import annotations

import json

import pytest

from tests.training.fakes import TINY, make_task
from videoqa.errors import CheckpointError, UsageError
from videoqa.recipes.backbone import BaselineRecipe, SparcRecipe, TrainingData
from videoqa.training import Interrupted, QADataset, TrainingLoop
from videoqa.training.config import BaselineConfig, SparcConfig
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


def _config(out, recipe="sparc", every=0, **extra):
    raw = {
        "recipe": recipe,
        "data": {"benchmark_dir": "unused", "features_dir": "unused"},
        "model": {"name": TINY, "config": {"hidden_size": 32, "num_heads": 2}},
        "optim": {"lr": 0.03},
        "scheduler": {"warmup_ratio": 0.1},
        "epochs": 3,
        "batch_size": 8,
        "logging": {"log_every": 1, "progress": False},
        "checkpoint": {"every_n_steps": every},
        "output_dir": str(out),
        "cpu": True,
        **extra,
    }
    if recipe == "sparc":
        raw["sparc"] = {"w_s": 0.5, "mixup": {"enabled": True, "prob": 0.5}}
        return SparcConfig.model_validate(raw)
    raw["baseline"] = {"mixup": {"enabled": True, "prob": 0.5}}
    return BaselineConfig.model_validate(raw)


def _recipe(cfg, data):
    cls = SparcRecipe if cfg.recipe == "sparc" else BaselineRecipe
    return cls(cfg, data=data)


def _fit(cfg, data, **kw):
    return TrainingLoop(_recipe(cfg, data)).fit(**kw)


def test_sparc_training_converges_and_writes_outputs(tmp_path):
    data = _data((("train", 48), ("val", 24), ("test", 24)))
    cfg = _config(tmp_path, epochs=3)
    result = _fit(cfg, data)
    records = read_metrics(tmp_path / "metrics.jsonl")
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert len(epochs) == 3
    assert epochs[-1]["val_accuracy"] > 40.0  # chance is 20 %
    assert result.best_value == max(r["val_accuracy"] for r in epochs)
    assert result.monitor == "val_accuracy"
    assert set(epochs[0]["val_per_type"]) == {"DA", "TC"}
    assert set(epochs[0]["train_losses"]) >= {"loss", "main", "consistency", "spatial"}
    # one train question in 48 has no confident frame: the fallback fires for it
    assert epochs[0]["fallback_rate"] == pytest.approx(1 / 48)
    steps = [r for r in records if r["kind"] == "step"]
    assert len(steps) == 3 * 6 and steps[-1]["step"] == 18
    assert (tmp_path / "curve.png").stat().st_size > 1000
    assert (tmp_path / "checkpoints" / "best" / "model" / "model.safetensors").is_file()
    best = tmp_path / "checkpoints" / "best"
    assert {p.name for p in best.iterdir()} == {"model", "tokenizer.json", "config.yaml"}
    assert (tmp_path / "checkpoints" / "last" / "state.json").is_file()
    preds = [json.loads(x) for x in (tmp_path / "predictions" / "test.jsonl").open()]
    assert len(preds) == 24 and set(preds[0]) == {"qid", "prediction", "answer", "qtype"}
    hits = sum(p["prediction"] == p["answer"] for p in preds)
    assert result.tests["test"]["accuracy"] == pytest.approx(100 * hits / 24, abs=0.01)


def test_baseline_recipe_needs_no_teacher(tmp_path):
    data = _data()
    data.train.teacher_probs = None
    cfg = _config(tmp_path, recipe="baseline", epochs=1)
    result = _fit(cfg, data)
    assert result.steps == 4
    with pytest.raises(UsageError, match="teacher"):
        _fit(_config(tmp_path / "sparc", epochs=1), data)


def _strip(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.mark.parametrize("kill_at", [5, 8])
def test_resume_after_kill_repeats_the_uninterrupted_run(tmp_path, kill_at):
    data = _data()
    _fit(_config(tmp_path / "full", every=3), data)
    expected = _strip(read_metrics(tmp_path / "full" / "metrics.jsonl"))

    cfg = _config(tmp_path / "killed", every=3)
    recipe, calls = _recipe(cfg, data), []
    original = recipe.objective.backward_loss

    def dying_loss(model, batch, backward):
        calls.append(1)
        if len(calls) == kill_at:
            raise Killed
        return original(model, batch, backward)

    recipe.objective.backward_loss = dying_loss
    with pytest.raises(Killed):
        TrainingLoop(recipe).fit()
    resumed = _fit(cfg, data, resume=True)
    got = _strip(read_metrics(tmp_path / "killed" / "metrics.jsonl"))
    assert got == expected
    assert resumed.steps == 12


def test_resume_after_a_restart_killed_before_its_first_checkpoint(tmp_path):
    """NUL bytes and a half-written line in metrics.jsonl (what a kill mid-write or a
    file extended by a byte-offset truncate leaves) are dropped on resume: the log is
    trimmed by content, not by byte offset, and resuming gives the uninterrupted log."""
    data = _data()
    _fit(_config(tmp_path / "full", every=3), data)
    expected = _strip(read_metrics(tmp_path / "full" / "metrics.jsonl"))
    cfg = _config(tmp_path / "run", every=3)
    with pytest.raises(Interrupted):
        _fit(cfg, data, stop_after_steps=6)
    log = tmp_path / "run" / "metrics.jsonl"
    log.write_bytes(b"\x00" * 469 + log.read_bytes() + b'{"kind": "step", "ep')
    _fit(cfg, data, resume=True)
    assert _strip(read_metrics(log)) == expected


def test_an_existing_run_is_refused_without_resume_or_overwrite(tmp_path):
    data = _data()
    cfg = _config(tmp_path, epochs=1)
    _fit(cfg, data)
    before = (tmp_path / "metrics.jsonl").read_bytes()
    with pytest.raises(UsageError, match="already holds a run"):
        _fit(cfg, data)
    assert (tmp_path / "metrics.jsonl").read_bytes() == before
    (tmp_path / "stale.txt").write_text("kept")
    _fit(cfg, data, overwrite=True)
    assert (tmp_path / "stale.txt").read_text() == "kept"
    assert _strip(read_metrics(tmp_path / "metrics.jsonl")) == _strip(
        [__import__("json").loads(x) for x in before.decode().splitlines()]
    )


def test_resume_without_checkpoint_is_an_error(tmp_path):
    cfg = _config(tmp_path)
    with pytest.raises(UsageError):
        _fit(cfg, _data(), resume=True)


def test_no_pickle_is_written_or_read(tmp_path):
    """The resumable state is JSON + safetensors: no file of the run folder is a pickle,
    a planted ``state.pt`` pickle payload is never loaded, and a damaged state is a typed
    error naming the file."""
    import pickle

    data = _data()
    cfg = _config(tmp_path, epochs=2)
    with pytest.raises(Interrupted):
        _fit(cfg, data, stop_after_steps=4)
    last = tmp_path / "checkpoints" / "last"
    for path in tmp_path.rglob("*"):
        if path.is_file():
            head = path.read_bytes()[:2]
            assert head not in (b"\x80\x02", b"\x80\x04", b"PK"), f"{path} looks pickled"
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (last / "state.pt").write_bytes(pickle.dumps(Payload()))
    state = (last / "state.json").read_text()
    (last / "state.json").write_text(state[: len(state) // 2])
    with pytest.raises(CheckpointError, match="state.json"):
        _fit(cfg, data, resume=True)
    assert not marker.exists()
    (last / "state.json").write_text(state)
    assert _fit(cfg, data, resume=True).steps == 8
    assert not marker.exists()


def test_a_damaged_last_checkpoint_falls_back_to_last_old(tmp_path):
    data = _data()
    cfg = _config(tmp_path / "run", epochs=2)
    with pytest.raises(Interrupted):
        _fit(cfg, data, stop_after_steps=4)
    last = tmp_path / "run" / "checkpoints" / "last"
    old = last.with_name("last.old")
    import shutil

    shutil.copytree(last, old)
    (last / "state.safetensors").write_bytes(b"garbage")
    result = _fit(cfg, data, resume=True)
    assert result.steps == 8


def test_sparse_epoch_checkpoints_resume_from_the_last_one_written(tmp_path):
    """``checkpoint.every_n_epochs: 2``: a run stopped after epoch 3 resumes from the
    checkpoint of epoch 2, logs epoch 3 again, and ends with the uninterrupted log."""
    data = _data()
    sparse = {"every_n_epochs": 2, "every_n_steps": 0}
    _fit(_config(tmp_path / "full", epochs=4, checkpoint=sparse), data)
    expected = _strip(read_metrics(tmp_path / "full" / "metrics.jsonl"))
    cfg = _config(tmp_path / "run", epochs=4, checkpoint=sparse)
    with pytest.raises(Interrupted):
        _fit(cfg, data, stop_after_steps=12)  # end of epoch 3: no checkpoint there
    resumed = _fit(cfg, data, resume=True)
    assert resumed.steps == 16
    assert _strip(read_metrics(tmp_path / "run" / "metrics.jsonl")) == expected
