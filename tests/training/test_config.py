"""Training config: YAML round trip, overrides, refusal of unknown keys, shipped files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import yaml

from videoqa.errors import UsageError
from videoqa.training.config import (
    RunConfig,
    SparcConfig,
    load_config,
    parse_config,
    parse_override,
)

BASE = {"data": {"benchmark_dir": "bench", "features_dir": "feats"}}


def _sparc(raw, overrides=None):
    return parse_config(raw, overrides, SparcConfig)


def test_yaml_round_trip(tmp_path):
    cfg = _sparc(BASE, ["sparc.w_c=0.25", "model.config.hidden_size=64"])
    path = tmp_path / "cfg.yaml"
    path.write_text(cfg.to_yaml(), encoding="utf-8")
    again = load_config(path, config_class=SparcConfig)
    assert again == cfg
    assert again.data.benchmark_dir == Path("bench") and again.model.config == {"hidden_size": 64}


@pytest.mark.parametrize(
    ("text", "path", "value"),
    [
        ("epochs=3", ["epochs"], 3),
        ("optim.lr=0.5", ["optim", "lr"], 0.5),
        ("sparc.mixup.enabled=true", ["sparc", "mixup", "enabled"], True),
        ("data.test_splits=[test, comp]", ["data", "test_splits"], ["test", "comp"]),
        ("data.teacher_path=null", ["data", "teacher_path"], None),
        ("output_dir=runs/a=b", ["output_dir"], "runs/a=b"),
        ("model.name=hga", ["model", "name"], "hga"),
    ],
)
def test_parse_override(text, path, value):
    assert parse_override(text) == (path, value)


def test_overrides_apply_and_coerce():
    cfg = _sparc(BASE, ["optim.lr=1e-3", "sparc.mixup.alpha=0.4", "epochs=2"])
    assert cfg.optim.lr == pytest.approx(1e-3) and cfg.sparc.mixup.alpha == 0.4
    assert cfg.epochs == 2 and BASE == {"data": {"benchmark_dir": "bench", "features_dir": "feats"}}


@pytest.mark.parametrize(
    "override",
    [
        "optim.lrr=1",
        "sparc.mixup.alfa=1",
        "unknown=1",
        "epochs=0",
        "sparc.threshold=2",
        "baseline.batch_passes=true",  # the sparc config has no baseline section
        "scheduler.min_lr_ratio=2",
    ],
)
def test_bad_values_and_unknown_keys_are_refused(override):
    with pytest.raises(UsageError):
        _sparc(BASE, [override])


def test_the_baseline_config_carries_no_sparc_weights():
    from videoqa.training.config import BaselineConfig

    with pytest.raises(UsageError):
        parse_config(BASE, ["sparc.w_c=1"], BaselineConfig)
    assert "w_c" not in BaselineConfig.model_fields["baseline"].annotation.model_fields


@pytest.mark.parametrize("override", ["noequals", "a..b=1", "=3", "epochs.x=1"])
def test_malformed_overrides(override):
    with pytest.raises(UsageError):
        _sparc(BASE, [override])


def test_load_config_errors(tmp_path):
    with pytest.raises(UsageError):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(UsageError):
        load_config(tmp_path / "list.yaml")
    (tmp_path / "bad.yaml").write_text("data: [\n")
    with pytest.raises(UsageError):
        load_config(tmp_path / "bad.yaml")


SHIPPED = sorted(
    p.name
    for p in resources.files("videoqa").joinpath("configs", "sparc").iterdir()
    if p.name.endswith(".yaml")
)


def test_shipped_configs_exist():
    assert SHIPPED == [
        "baseline_hga.yaml",
        "baseline_hga_oracle.yaml",
        "baseline_vgt.yaml",
        "baseline_vgt_oracle.yaml",
        "sparc_hga.yaml",
        "sparc_hga_oracle.yaml",
        "sparc_vgt.yaml",
        "sparc_vgt_oracle.yaml",
    ]


def test_oracle_configs_stop_early_on_val_accuracy():
    """The issue-20 configs: early stopping on val accuracy, the slots as tokens."""
    from videoqa.recipes import build_recipe

    for name in (n for n in SHIPPED if n.endswith("_oracle.yaml")):
        cfg = build_recipe(
            Path(str(resources.files("videoqa").joinpath("configs", "sparc", name)))
        ).config
        assert cfg.checkpoint.patience == 3 and cfg.checkpoint.monitor == "val_accuracy"
        assert cfg.data.use_patches and cfg.data.trim_patches
        assert cfg.model.config["hidden_size"] == 64


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_config_loads(name):
    from videoqa.models import MODELS

    path = Path(str(resources.files("videoqa").joinpath("configs", "sparc", name)))
    from videoqa.recipes import build_recipe

    cfg = build_recipe(path).config
    assert isinstance(cfg, RunConfig)
    assert cfg.recipe == name.split("_")[0]
    assert cfg.model.name == name.removesuffix(".yaml").removesuffix("_oracle").split("_")[1]
    assert (cfg.data.teacher_path is not None) == (cfg.recipe == "sparc")
    fields = {**cfg.model.config, "feature_dim": 32, "vocab_size": 100}
    MODELS.get(cfg.model.name).config_class(**fields)  # model fields are valid
    assert yaml.safe_load(cfg.to_yaml())["model"]["name"] == cfg.model.name
