"""Encoder tests run offline: no test may reach the Hugging Face hub."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from huggingface_hub import constants as hf_constants

from videoqa.encoders import build_tiny


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(autouse=True)
def _one_thread():
    """The tiny models gain nothing from intra-op threads, and on a busy 2-core machine
    OpenMP threads spinning against other processes made each forward ~10x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_clip():
    return build_tiny("tiny")


@pytest.fixture(scope="session")
def tiny_siglip():
    return build_tiny("tiny-siglip")


@pytest.fixture(params=["tiny", "tiny-siglip"])
def tiny(request, tiny_clip, tiny_siglip):
    """Each offline preset in turn."""
    return tiny_clip if request.param == "tiny" else tiny_siglip


@pytest.fixture(scope="session")
def frames() -> np.ndarray:
    """``(10, 72, 128, 3)`` uint8: smooth random frames (a 9 × 16 grid upsampled 8×)."""
    rng = np.random.default_rng(7)
    coarse = rng.integers(0, 256, size=(10, 9, 16, 3), dtype=np.uint8)
    return np.ascontiguousarray(coarse.repeat(8, axis=1).repeat(8, axis=2))


TEXTS = [
    "what is the man doing?",
    "a dog runs across the field",
    "How many people are dancing on the stage",
    "the woman opens the door and leaves the room",
    "xyzzy plugh",
    "",
    "why did the boy cry after he fell off the bike",
    "red car",
    "a girl is playing the piano",
    "what color is the cat",
]
