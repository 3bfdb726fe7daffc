"""The small CNN frame encoder: shapes and save/load (its probe targets:
``tests/synth/test_frame_targets.py``; training: ``tests/recipes/test_frame_encoder.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from videoqa.encoders.cnn import CNNConfig, CNNFrameEncoder, is_cnn_dir
from videoqa.errors import ModelUnavailableError, UsageError

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
