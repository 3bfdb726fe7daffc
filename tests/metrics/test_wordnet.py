"""Offline WordNet: sources, the typed error, the compact graph against NLTK's own
reader, and its cache (keyed by the files' hashes, written atomically, no pickle)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import numpy as np
import pytest

from videoqa.errors import ModelUnavailableError
from videoqa.metrics.wordnet import (
    DEBIAN_WORDNET_DIR,
    NltkSemantics,
    WordNet,
    WordNetFiles,
    WordNetGraph,
    WordNetUnavailableError,
    load_graph,
    load_wordnet,
)

PINNED, CURRENT = NltkSemantics.PINNED, NltkSemantics.CURRENT

# Answers of the kind NExT-QA / MSRVTT-QA hold: nouns, verbs in several forms, adjectives,
# adverbs, plurals, exceptions (geese, ran), multiword lemmas and words WordNet lacks.
WORDS = (
    "dog dogs cat man woman men women baby babies boy girl lady toy toys ball bike bicycle "
    "car road table chair bed sofa cup phone book door window hand hands face head hat "
    "run ran running walk walked walking sit sat sitting eat ate eating cry crying laugh "
    "laughed smile play playing hold holding pick picked throw jump dance singing talk "
    "red blue green happy sad big large small little quickly slowly outdoors indoors "
    "geese mice axes boxes leaves wolves ice_cream bus stop two three five first "
    "xqzt because the and of nothing something curious stomach unstable capture"
).split()


def test_missing_wordnet_is_a_typed_error(tmp_path) -> None:
    with pytest.raises(WordNetUnavailableError, match="WordNet 3.0 not found") as info:
        load_wordnet(tmp_path)
    assert isinstance(info.value, ModelUnavailableError) and info.value.exit_code == 4


def test_loaded_once_and_version(wordnet) -> None:
    assert load_wordnet() is wordnet
    assert wordnet.version == "3.0"
    dog = wordnet.first_synset("dogs", PINNED)
    assert wordnet.name(dog) == "dog.n.01" and wordnet.pos(dog) == "n"
    assert wordnet.synset("dog.n.01") == dog


def test_import_is_cheap() -> None:
    code = "import sys, videoqa.metrics; print(sorted({'nltk','scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_graph_matches_nltk(wordnet, nltk_wordnet) -> None:
    """Synset names, depths, hypernyms, morphy and Wu–Palmer against NLTK's reader; NLTK
    installed here is >= 3.9, whose behaviour is NltkSemantics.CURRENT."""
    for word in WORDS:
        ours = wordnet.first_synset(word, CURRENT)
        theirs = nltk_wordnet.synsets(word)
        assert (ours is None) == (not theirs), word
        if ours is None:
            continue
        ref = theirs[0]
        assert wordnet.name(ours) == ref.name(), word
        assert (wordnet.graph.min_depth[ours], wordnet.graph.max_depth[ours]) == (
            ref.min_depth(),
            ref.max_depth(),
        )
        assert sorted(map(wordnet.name, wordnet.hypernyms(ours))) == sorted(
            s.name() for s in ref.hypernyms() + ref.instance_hypernyms()
        )
        for pos in "nvar":
            assert wordnet.morphy(word, pos, CURRENT) == tuple(nltk_wordnet._morphy(word, pos))
    for a in WORDS[::3]:
        for b in WORDS[1::4]:
            sa, sb = nltk_wordnet.synsets(a), nltk_wordnet.synsets(b)
            want = 1.0 if a == b else 0.0
            if a != b and sa and sb:
                want = sa[0].wup_similarity(sb[0]) or 0.0
            assert wordnet.word_similarity(a, b, CURRENT) == pytest.approx(want, abs=1e-12), (a, b)


def test_cache_round_trip_and_atomic_write(tmp_path) -> None:
    if not (DEBIAN_WORDNET_DIR / "data.noun").is_file():
        pytest.skip("Debian's wordnet-base is not installed")
    files = WordNetFiles(str(DEBIAN_WORDNET_DIR), DEBIAN_WORDNET_DIR)
    graph = load_graph(files, tmp_path)
    cached = list((tmp_path / "wordnet").iterdir())
    assert [p.name for p in cached] == [f"{files.digest()}.npz"]  # no temporary left
    with np.load(cached[0], allow_pickle=False) as z:  # plain arrays: no pickle needed
        assert {"lemmas", "lemma_ptr", "hyp_ids", "names", "exceptions"} <= set(z.files)
    again = WordNetGraph.load(cached[0])
    assert again == graph and again.names == graph.names
    assert load_graph(files, tmp_path) == graph  # read back, not parsed again
    cached[0].write_bytes(b"not a zip")  # a damaged cache is rebuilt
    assert load_graph(files, tmp_path) == graph and zipfile.is_zipfile(cached[0])
    wn = WordNet(graph, "test")
    assert wn.word_similarity("dog", "cat", PINNED) == pytest.approx(12 / 14, abs=1e-12)


def test_nltk_zip_source(tmp_path) -> None:
    if not (DEBIAN_WORDNET_DIR / "data.noun").is_file():
        pytest.skip("Debian's wordnet-base is not installed")
    archive = tmp_path / "wordnet.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in DEBIAN_WORDNET_DIR.iterdir():
            zf.write(path, f"wordnet/{path.name}")
    zipped = WordNetFiles(str(archive), archive, "wordnet/")
    plain = WordNetFiles(str(DEBIAN_WORDNET_DIR), DEBIAN_WORDNET_DIR)
    assert zipped.digest() == plain.digest()
    assert zipped.read("adv.exc") == (DEBIAN_WORDNET_DIR / "adv.exc").read_bytes()
