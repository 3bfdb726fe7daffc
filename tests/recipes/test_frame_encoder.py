"""The ``frame-encoder`` recipe on a tiny rendered benchmark: training through the shared
loop lowers the loss and is deterministic, the schedule is OneCycle's nearest, resume
is identical, the best checkpoint loads as a CNN encoder, and the shipped config."""

from __future__ import annotations

import math

import pytest

from videoqa.encoders.cnn import CNNConfig, CNNFrameEncoder, is_cnn_dir
from videoqa.encoders.cnn_probes import ProbeHeads
from videoqa.recipes import build_recipe, shipped_configs
from videoqa.recipes.frame_encoder import FrameEncoderConfig, FrameEncoderRecipe, load_frame_data
from videoqa.synth.config import SynthConfig
from videoqa.synth.generate import generate_dataset
from videoqa.training import Interrupted, TrainingLoop
from videoqa.training.logs import read_metrics

SMALL = {"image_size": 32, "channels": [4, 8, 8, 8], "patch_dim": 6, "embed_dim": 16}


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    generate_dataset(out, SynthConfig(videos=8, seed=5, frames=20, size=48, fps=8.0), workers=1)
    return out


def _config(bench, out, **extra) -> FrameEncoderConfig:
    raw = {
        "recipe": "frame-encoder",
        "data": {"benchmark_dir": str(bench), "frames_per_video": 4},
        "model": SMALL,
        "epochs": 6,
        "batch_size": 10,
        "optim": {"lr": 1e-2},
        "logging": {"log_every": 1, "progress": False},
        "output_dir": str(out),
        "cpu": True,
        **extra,
    }
    return FrameEncoderConfig.model_validate(raw)


def _strip(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.fixture(scope="module")
def frames(bench, tmp_path_factory):
    return load_frame_data(_config(bench, tmp_path_factory.mktemp("unused")))


def test_training_lowers_the_loss_and_is_deterministic(bench, frames, tmp_path):
    assert len(frames.train_frames) == 20 and len(frames.val_frames) == 4
    assert frames.train_frames.shape[1:] == (32, 32, 3) and frames.num_labels == 19
    result = TrainingLoop(FrameEncoderRecipe(_config(bench, tmp_path / "a"), data=frames)).fit()
    records = read_metrics(tmp_path / "a" / "metrics.jsonl")
    epochs = [r for r in records if r["kind"] == "epoch"]
    losses = [e["train_losses"]["loss"] for e in epochs]
    assert len(losses) == 6 and losses[-1] < 0.8 * losses[0]
    assert result.monitor == "val_loss" and result.best_value == min(e["val_loss"] for e in epochs)
    tests = result.tests
    assert (tests["train_frames"], tests["val_frames"]) == (20, 4)
    assert tests["val_loss"] == pytest.approx(result.best_value, rel=1e-6)
    assert set(tests["val"]) == set(tests["chance"]) and 0 <= tests["val"]["count"] <= 1
    assert set(tests["val"]) >= {"presence_color", "presence_exact", "occupancy_f1"}
    best = tmp_path / "a" / "checkpoints" / "best"
    assert is_cnn_dir(best)
    encoder = CNNFrameEncoder.from_pretrained(best)
    assert encoder.config == CNNConfig(**SMALL)
    assert ProbeHeads.from_pretrained(best / "probes").config.num_labels == 19
    # the schedule: 30 % linear warm-up to the peak, then cosine to 4e-6 of it (the lr
    # logged after step k is the one of step k + 1)
    lrs = [r["lr"] for r in records if r["kind"] == "step"]
    steps, warmup = 12, int(0.3 * 12)
    assert len(lrs) == steps and max(lrs) == pytest.approx(1e-2)
    assert lrs[0] == pytest.approx(1e-2 * 2 / (warmup + 1)) and lrs.index(max(lrs)) == warmup - 1
    cosine = 0.5 * (1 + math.cos(math.pi * (steps - 1 - warmup) / (steps - warmup)))
    assert lrs[-2] == pytest.approx(1e-2 * (4e-6 + (1 - 4e-6) * cosine))
    assert lrs[-1] == pytest.approx(1e-2 * 4e-6)
    again = TrainingLoop(FrameEncoderRecipe(_config(bench, tmp_path / "b"), data=frames)).fit()
    assert _strip(read_metrics(tmp_path / "b" / "metrics.jsonl")) == _strip(records)
    assert again.tests == tests


def test_resume_after_interrupt_repeats_the_uninterrupted_run(bench, frames, tmp_path):
    TrainingLoop(FrameEncoderRecipe(_config(bench, tmp_path / "full", epochs=2), data=frames)).fit()
    expected = _strip(read_metrics(tmp_path / "full" / "metrics.jsonl"))
    cfg = _config(bench, tmp_path / "run", epochs=2, checkpoint={"every_n_steps": 1})
    with pytest.raises(Interrupted):
        TrainingLoop(FrameEncoderRecipe(cfg, data=frames)).fit(stop_after_steps=3)
    TrainingLoop(FrameEncoderRecipe(cfg, data=frames)).fit(resume=True)
    assert _strip(read_metrics(tmp_path / "run" / "metrics.jsonl")) == expected


def test_the_frames_are_drawn_with_the_seed(bench, frames, tmp_path):
    same = load_frame_data(_config(bench, tmp_path))
    assert (same.train_frames == frames.train_frames).all()
    other = load_frame_data(_config(bench, tmp_path, seed=1))
    assert not (other.train_frames == frames.train_frames).all()


def test_every_shipped_config_builds():
    paths = shipped_configs("frame-encoder")
    assert [p.name for p in paths] == ["cnn_frame_encoder.yaml"]
    for path in paths:
        recipe = build_recipe(path, ["frame-encoder.max_count=7"])
        assert isinstance(recipe, FrameEncoderRecipe)
        cfg = recipe.config
        assert cfg.frame_encoder.max_count == 7 and cfg.model == CNNConfig()
        assert (cfg.epochs, cfg.batch_size, cfg.optim.lr, cfg.optim.grad_clip) == (6, 64, 3e-3, 0)
        assert (cfg.scheduler.warmup_ratio, cfg.scheduler.min_lr_ratio) == (0.3, 4e-6)
        assert (cfg.checkpoint.monitor, cfg.checkpoint.mode) == ("val_loss", "min")
        assert "frame-encoder:" in cfg.to_yaml()
