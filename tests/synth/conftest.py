"""Shared fixtures of the synthetic-benchmark tests: one annotation-only dataset (no
rendering) and one small dataset written to disk with videos."""

from __future__ import annotations

from pathlib import Path

import pytest

from videoqa.synth.config import SynthConfig
from videoqa.synth.generate import SynthDataset, generate_annotations, generate_dataset

#: annotation-only dataset large enough for the validity statistics (≈ 3,000 questions).
VALIDITY_CONFIG = SynthConfig(videos=260, seed=11, split_fractions=(0.6, 0.05, 0.3, 0.05))
#: a handful of rendered videos.
SMALL_CONFIG = SynthConfig(videos=8, seed=3, frames=32, size=64, fps=8.0)


@pytest.fixture(scope="session")
def validity_data() -> SynthDataset:
    return generate_annotations(VALIDITY_CONFIG, workers=1)


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "data"
    generate_dataset(out, SMALL_CONFIG, workers=1)
    return out
