"""``videoqa train`` on a tiny on-disk benchmark, feature store and teacher store."""

from __future__ import annotations

import json

import pytest
import typer
import yaml
from typer.testing import CliRunner

from tests.training.fakes import TINY, make_task, write_benchmark, write_features, write_teacher
from videoqa.cli.train import register


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)

    @application.command("noop")
    def _noop() -> None:  # a second command keeps "train" a named sub-command
        pass

    return application


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_cli")
    task = make_task(sizes=(("train", 24), ("val", 8), ("test", 8)))
    write_benchmark(task, root / "bench")
    write_features(task, root / "feats")
    write_teacher(task, root / "teacher.h5")
    config = {
        "data": {
            "benchmark_dir": str(root / "bench"),
            "features_dir": str(root / "feats"),
            "teacher_path": str(root / "teacher.h5"),
        },
        "model": {"name": TINY, "config": {"hidden_size": 16, "num_heads": 2}},
        "optim": {"lr": 0.03},
        "epochs": 2,
        "batch_size": 8,
        "logging": {"log_every": 1},
        "cpu": True,
    }
    (root / "cfg.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return root


def _recipe_config(disk, recipe: str):
    """The shared config with the recipe's own options section (``sparc:`` options are
    not valid in a ``baseline`` config)."""
    raw = yaml.safe_load((disk / "cfg.yaml").read_text())
    raw["recipe"] = recipe
    if recipe == "sparc":
        raw["sparc"] = {"w_s": 0.25}
    path = disk / f"cfg_{recipe}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize("recipe", ["baseline", "sparc"])
def test_train_cli_writes_run_folder(app, disk, recipe):
    out = disk / f"run_{recipe}"
    config = _recipe_config(disk, recipe)
    args = ["train", "--recipe", recipe, "--config", str(config), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    records = [json.loads(x) for x in (out / "metrics.jsonl").open()]
    assert [r["epoch"] for r in records if r["kind"] == "epoch"] == [0, 1]
    assert sum(r["kind"] == "step" for r in records) == 6
    assert ("spatial" in records[0]["losses"]) == (recipe == "sparc")
    assert (out / "curve.png").is_file()
    assert (out / "checkpoints" / "last" / "state.json").is_file()
    assert (out / "checkpoints" / "best" / "tokenizer.json").is_file()
    assert (out / "predictions" / "test.jsonl").is_file()
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["recipe"] == recipe
    assert (saved.get("sparc") or {}).get("w_s", 0.25) == 0.25 and ("sparc" in saved) == (
        recipe == "sparc"
    )
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and "already holds a run" in " ".join(refused.output.split())
    again = CliRunner().invoke(app, [*args, "--resume"])
    assert again.exit_code == 0, again.output
    assert (out / "metrics.jsonl").read_text().count("\n") == len(records)
    fresh = CliRunner().invoke(app, [*args, "--overwrite", "--json"])
    assert fresh.exit_code == 0, fresh.output
    summary = json.loads(fresh.stdout)
    assert summary["recipe"] == recipe and summary["steps"] == 6


def test_train_cli_usage_errors(app, disk):
    cfg = str(_recipe_config(disk, "sparc"))
    bad_key = CliRunner().invoke(
        app, ["train", "--recipe", "sparc", "--config", cfg, "--set", "optim.lrr=1"]
    )
    assert bad_key.exit_code == 2 and "lrr" in bad_key.output
    unknown = CliRunner().invoke(app, ["train", "--recipe", "nope", "--config", cfg])
    assert unknown.exit_code == 2 and "nope" in unknown.output
    clash = CliRunner().invoke(app, ["train", "--recipe", "baseline", "--config", cfg])
    assert clash.exit_code == 2 and "not 'baseline'" in clash.output
    listing = CliRunner().invoke(app, ["train", "--list", "--json"])
    assert listing.exit_code == 0
    assert {"baseline", "sparc"} <= set(json.loads(listing.stdout))
    missing = CliRunner().invoke(app, ["train", "--recipe", "sparc", "--config", "nope.yaml"])
    assert missing.exit_code == 2


def test_a_sigkilled_run_resumes_to_the_uninterrupted_metrics(disk, tmp_path):
    """A real kill: ``videoqa train`` is SIGKILLed once its first step checkpoint exists,
    then ``--resume`` finishes it; metrics.jsonl (minus wall-clock seconds) equals an
    uninterrupted run's, and the final weights are identical."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from safetensors.numpy import load_file

    config = _recipe_config(disk, "sparc")
    sets = ["--set", "checkpoint.every_n_steps=1", "--set", "epochs=3", "--set",
            "model={name: hga, config: {hidden_size: 16, num_heads: 2, dropout: 0.1}}"]  # fmt: skip

    def command(out):
        return [sys.executable, "-m", "videoqa", "train", "--config", str(config), "--out",
                str(out), *sets]  # fmt: skip

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    full = subprocess.run(command(tmp_path / "full"), env=env, capture_output=True, timeout=300)
    assert full.returncode == 0, full.stderr.decode()[-2000:]
    out = tmp_path / "killed"
    proc = subprocess.Popen(command(out), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    state = out / "checkpoints" / "last" / "state.json"
    deadline = time.monotonic() + 120
    while not state.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "results.json").exists()
    resumed = subprocess.run([*command(out), "--resume"], env=env, capture_output=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]

    def records(run):
        lines = (run / "metrics.jsonl").read_text().splitlines()
        return [{k: v for k, v in json.loads(x).items() if k != "seconds"} for x in lines]

    assert records(out) == records(tmp_path / "full")
    a = load_file(str(out / "checkpoints" / "best" / "model" / "model.safetensors"))
    b = load_file(str(tmp_path / "full" / "checkpoints" / "best" / "model" / "model.safetensors"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
