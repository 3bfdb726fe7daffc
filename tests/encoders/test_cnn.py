"""The small CNN frame encoder: shapes, save/load, targets, and training convergence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from videoqa.encoders.cnn import CNNConfig, CNNFrameEncoder, is_cnn_dir
from videoqa.encoders.cnn_train import (
    ATTRIBUTE_LABELS,
    CNNTrainConfig,
    frame_targets,
    train_cnn_encoder,
)
from videoqa.errors import ModelUnavailableError, UsageError
from videoqa.synth.config import SynthConfig
from videoqa.synth.generate import generate_dataset

SMALL = CNNConfig(image_size=32, channels=(4, 8, 8, 8), patch_dim=6, embed_dim=16)


def test_output_shapes_and_grid() -> None:
    torch.manual_seed(0)
    model = CNNFrameEncoder(SMALL).eval()
    frames = np.random.default_rng(0).integers(0, 256, (3, 40, 50, 3), dtype=np.uint8)
    pixels = model.preprocess(frames)
    assert pixels.shape == (3, 3, 32, 32) and pixels.dtype == torch.float32
    with torch.inference_mode():
        frame, patches = model(pixels)
    assert SMALL.grid == 2 and SMALL.num_patches == 4
    assert frame.shape == (3, 16) and patches.shape == (3, 4, 6)
    with pytest.raises(UsageError):
        model.preprocess(frames.astype(np.float32))
    with pytest.raises(ValueError):
        CNNConfig(image_size=40)


def test_save_load_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(1)
    model = CNNFrameEncoder(SMALL).eval()
    model.save_pretrained(tmp_path / "cnn")
    assert is_cnn_dir(tmp_path / "cnn") and not is_cnn_dir(tmp_path)
    loaded = CNNFrameEncoder.from_pretrained(tmp_path / "cnn")
    assert loaded.config == SMALL and not loaded.training
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        for a, b in zip(model(x), loaded(x), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(ModelUnavailableError):
        CNNFrameEncoder.from_pretrained(tmp_path)


def test_frame_targets_by_hand() -> None:
    objects = [
        {
            "color": "red",
            "shape": "square",
            "material": "metal",
            "size": "small",
            "center": [10, 10],
        },
        {"color": "red", "shape": "star", "material": "matte", "size": "large", "center": [90, 30]},
    ]
    t = frame_targets(objects, 100.0, 100.0, grid=2)
    red = ATTRIBUTE_LABELS.index(("color", "red"))
    star = ATTRIBUTE_LABELS.index(("shape", "star"))
    assert len(ATTRIBUTE_LABELS) == 19 and t.presence.sum() == 7  # red counted once
    assert t.count.tolist() == [2]
    np.testing.assert_allclose(t.centroid[0, red], [0.5, 0.2])  # mean of both red objects
    np.testing.assert_allclose(t.centroid[0, star], [0.9, 0.3])
    assert t.occupancy[0, 0, red] == 1 and t.occupancy[0, 1, red] == 1  # cells (0,0), (0,1)
    assert t.occupancy[0, 0, star] == 0 and t.occupancy[0, 1, star] == 1
    assert t.occupancy[0, 2:].sum() == 0


def test_training_lowers_the_loss_and_is_deterministic(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    generate_dataset(bench, SynthConfig(videos=8, seed=5, frames=20, size=48, fps=8.0), workers=1)
    cfg = CNNTrainConfig(model=SMALL, epochs=6, frames_per_video=4, batch_size=10, lr=1e-2)
    report = train_cnn_encoder(bench, tmp_path / "a", cfg)
    assert len(report.train_loss) == 6 and report.train_frames == 20 and report.val_frames == 4
    assert report.train_loss[-1] < 0.8 * report.train_loss[0]
    assert set(report.val) == set(report.chance) and 0 <= report.val["count"] <= 1
    assert is_cnn_dir(tmp_path / "a") and (tmp_path / "a" / "train_report.json").is_file()
    again = train_cnn_encoder(bench, tmp_path / "b", cfg)
    assert again.train_loss == report.train_loss
