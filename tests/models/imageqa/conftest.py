"""A tiny synthetic benchmark (annotations only) and a random feature store of it."""

from __future__ import annotations

import pytest

from videoqa.synth.config import SynthConfig
from videoqa.synth.generate import generate_dataset

from .fakes import FRAMES, write_fake_store


@pytest.fixture(scope="session")
def tiny_bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    generate_dataset(out, SynthConfig(videos=8, seed=1, frames=FRAMES, size=48), workers=1,
                     write_videos=False)  # fmt: skip
    return out


@pytest.fixture(scope="session")
def fake_store(tmp_path_factory, tiny_bench):
    return write_fake_store(tmp_path_factory.mktemp("feats"), tiny_bench)
