"""Fixtures for the metrics tests."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest

from videoqa.metrics.wordnet import (
    DEBIAN_WORDNET_DIR,
    WordNet,
    WordNetUnavailableError,
    load_wordnet,
)

# The WordNet 3.0 lexicographer files, numbered 0..44 (WordNet's lexnames(5WN) page):
# Debian's wordnet-base ships no ``lexnames`` file, which NLTK's reader needs.
_LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
    "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group "
    "noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant "
    "noun.possession noun.process noun.quantity noun.relation noun.shape noun.state "
    "noun.substance noun.time verb.body verb.change verb.cognition verb.communication "
    "verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion "
    "verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()


@pytest.fixture(scope="session")
def wordnet() -> WordNet:
    """WordNet 3.0 (NLTK data or Debian ``wordnet-base``); skips the test when absent."""
    try:
        return load_wordnet()
    except WordNetUnavailableError as err:
        pytest.skip(f"WordNet 3.0 is not installed: {err}")


@pytest.fixture(scope="session")
def nltk_wordnet():
    """NLTK's own ``WordNetCorpusReader`` over Debian's WordNet 3.0 (the reference the
    compact graph is checked against); skips when Debian's files are absent."""
    if not (DEBIAN_WORDNET_DIR / "data.noun").is_file():
        pytest.skip("Debian's wordnet-base is not installed")
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    root = DEBIAN_WORDNET_DIR

    class Reader(WordNetCorpusReader):
        def open(self, file: str):  # type: ignore[override]
            if file == "lexnames" and not (root / "lexnames").is_file():
                category = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
                lines = (
                    f"{i:02d}\t{name}\t{category[name.split('.')[0]]}\n"
                    for i, name in enumerate(_LEXNAMES)
                )
                return io.StringIO("".join(lines))
            return super().open(file)

        def map_wn(self, version: str = "wordnet") -> None:  # sense keys are not needed
            return None

    if str(root) not in nltk.data.path:
        nltk.data.path.append(str(root))  # NLTK only opens files under nltk.data.path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return Reader(str(Path(root)), None)
