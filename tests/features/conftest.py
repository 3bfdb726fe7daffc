"""Fixtures of the feature-store tests: a tiny rendered synthetic benchmark."""

from __future__ import annotations

from pathlib import Path

import pytest

from videoqa.synth.config import SynthConfig
from videoqa.synth.generate import generate_dataset

#: 8 videos of 20 frames at 48 x 48 pixels (~2 s to render).
TINY_BENCH = SynthConfig(videos=8, seed=3, frames=20, size=48, fps=8.0)


@pytest.fixture(scope="session")
def tiny_bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "synth"
    generate_dataset(out, TINY_BENCH, workers=1)
    return out
