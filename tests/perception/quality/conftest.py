"""Shared fixtures of the quality tests: real sample videos, their features, a frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videoqa.perception.quality.features import VideoQualityFeatures, extract_quality_features
from videoqa.video.reader import read_frames
from videoqa.video.samples import sample_video


@pytest.fixture(scope="session")
def carphone_pristine() -> Path:
    return sample_video("carphone_pristine")


@pytest.fixture(scope="session")
def carphone_distorted() -> Path:
    return sample_video("carphone_distorted")


@pytest.fixture(scope="session")
def pristine_features(carphone_pristine: Path) -> VideoQualityFeatures:
    return extract_quality_features(carphone_pristine)


@pytest.fixture(scope="session")
def distorted_features(carphone_distorted: Path) -> VideoQualityFeatures:
    return extract_quality_features(carphone_distorted)


@pytest.fixture(scope="session")
def bikes_frame() -> np.ndarray:
    """``(272, 640, 3)`` uint8: the frame of bikes.mp4 shown at 1.2 s."""
    return read_frames(sample_video("bikes"), [1.2]).frames[0]
