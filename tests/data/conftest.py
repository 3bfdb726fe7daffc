"""Fixture folder of the dataset-loader tests."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """``tests/fixtures/data``: small annotation files, one folder per benchmark."""
    return DATA_FIXTURES
