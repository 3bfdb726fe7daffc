"""Fixtures for the metrics tests."""

from __future__ import annotations

import pytest

from videoqa.metrics.wordnet import WordNet, WordNetUnavailableError, load_wordnet


@pytest.fixture(scope="session")
def wordnet() -> WordNet:
    """WordNet 3.0 (NLTK data or Debian ``wordnet-base``); skips the test when absent."""
    try:
        return load_wordnet()
    except WordNetUnavailableError as err:
        pytest.skip(f"WordNet 3.0 is not installed: {err}")
