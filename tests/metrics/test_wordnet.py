"""Offline WordNet loading: sources, typed error, cheap package import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from videoqa.errors import ModelUnavailableError
from videoqa.metrics.wordnet import NltkSemantics, WordNetUnavailableError, load_wordnet


def test_missing_wordnet_is_a_typed_error(tmp_path) -> None:
    with pytest.raises(WordNetUnavailableError, match="WordNet 3.0 not found") as info:
        load_wordnet(tmp_path)
    assert isinstance(info.value, ModelUnavailableError) and info.value.exit_code == 4


def test_loaded_once_and_version(wordnet) -> None:
    assert load_wordnet() is wordnet
    assert wordnet.reader.get_version() == "3.0"
    dog = wordnet.first_synset("dogs", NltkSemantics.PINNED)
    assert dog.name() == "dog.n.01" and dog.lexname() == "noun.animal"  # generated lexnames


def test_import_is_cheap() -> None:
    code = "import sys, videoqa.metrics; print(sorted({'nltk','scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
