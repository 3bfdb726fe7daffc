"""``videoqa models``, ``videoqa config show|validate`` and ``--version``."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from videoqa import __version__
from videoqa.cli.main import app

runner = CliRunner()


def test_version():
    out = runner.invoke(app, ["--version"])
    assert out.exit_code == 0 and out.stdout.strip() == f"videoqa {__version__}"


def test_models_lists_architectures_and_found_checkpoints(tmp_path):
    best = tmp_path / "vgt_run" / "checkpoints" / "best"
    (best / "model").mkdir(parents=True)
    (best / "model" / "config.json").write_text(json.dumps({"model_type": "vgt"}))
    out = runner.invoke(app, ["models", "--scan", str(tmp_path), "--json"])
    assert out.exit_code == 0, out.output
    listing = json.loads(out.stdout)
    specs = {row["spec"] for row in listing["architectures"]}
    assert {"hga:DIR", "vgt:DIR", "transformer:DIR", "sgvlm:DIR"} <= specs
    assert "tiny" in listing["encoder_presets"]
    assert listing["checkpoints"] == [{"spec": f"vgt:{best}", "model_type": "vgt"}]


def test_config_show_resolves_a_shipped_config_with_overrides():
    out = runner.invoke(app, ["config", "show", "sparc_vgt", "--set", "epochs=2"])
    assert out.exit_code == 0, out.output
    cfg = yaml.safe_load(out.stdout)
    assert cfg["recipe"] == "sparc" and cfg["epochs"] == 2
    assert cfg["scheduler"]["warmup_ratio"] == 0.1 and "w_c" in cfg["sparc"]


def test_config_validate(tmp_path):
    good = runner.invoke(app, ["config", "validate", "sparc_hga"])
    assert good.exit_code == 0, good.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("recipe: baseline\ndata: {benchmark_dir: b, features_dir: f}\nsparc: {w_c: 1}\n")
    out = runner.invoke(app, ["config", "validate", str(bad)])
    assert out.exit_code == 2 and "sparc" in out.output
    mismatch = runner.invoke(app, ["config", "validate", "sparc_hga", "--recipe", "baseline"])
    assert mismatch.exit_code == 2 and "not 'baseline'" in mismatch.output
