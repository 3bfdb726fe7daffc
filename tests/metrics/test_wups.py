"""WUPS as NExT-OE's metrics.py computes it: known pairs, the script's edge rules, NLTK eras.

Hand computations use node depths from WordNet 3.0 (root depth 1): Wu–Palmer is
``2 * depth(lcs) / (depth(a) + depth(b))`` along the shortest paths through the LCS.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from videoqa.errors import UsageError
from videoqa.metrics import (
    NEXTQA_STOPWORDS,
    NextOENormalizer,
    NltkSemantics,
    nextoe_wups,
    tokenize,
    wups,
    wups_corpus,
    wups_scores,
)

PINNED, CURRENT = NltkSemantics.PINNED, NltkSemantics.CURRENT
DOG_CAT = 12 / 14  # lcs carnivore.n.01 at depth 12, dog and cat at depth 14 -> 0.857142...


def test_known_pairs(wordnet) -> None:
    assert wups("dog", "cat", 0.0) == pytest.approx(DOG_CAT, abs=1e-12)
    assert wups("dog", "cat", 0.9) == pytest.approx(0.1 * DOG_CAT, abs=1e-12)  # below t: x 0.1
    assert wups("man", "woman", 0.0) == pytest.approx(2 / 3, abs=1e-12)
    assert wups("run", "walk", 0.0) == pytest.approx(4 / 7, abs=1e-12)  # run.n.01 / walk.n.01


def test_verb_synsets_simulated_root(wordnet) -> None:
    run_v, walk_v = wordnet.synset("run.v.01"), wordnet.synset("walk.v.01")
    # both verb roots (depth 1) hang under a simulated root: lcs depth 1, depths 3 and 4
    assert wordnet.synset_wup(run_v, walk_v, PINNED) == pytest.approx(2 / 7, abs=1e-12)


def test_identical_and_empty(wordnet) -> None:
    assert wups("a man riding a red bike", "a man riding a red bike", 0.9) == 1.0
    assert wups("xqzt", "xqzt", 0.9) == 1.0  # identical strings score 1 before any look-up
    assert wups("", "", 0.0) == 0.0  # no word matched in either direction
    assert wups("dog", "", 0.0) == 0.0
    assert wups("xqzt", "dog", 0.0) == 0.0  # no synsets: skipped, nothing matched -> 0


def test_words_without_synsets_are_skipped(wordnet) -> None:
    assert wups("dog xqzt", "dog", 0.0) == 1.0
    # pred->ref: dog->cat 6/7, cat->cat 1; ref->pred: cat->1 -> min = 6/7
    assert wups("dog cat", "cat", 0.0) == pytest.approx(DOG_CAT, abs=1e-12)
    assert wups("dog cat", "cat", 0.9) == pytest.approx(0.1 * DOG_CAT, abs=1e-12)


def test_pinned_nltk_is_one_sided_for_noun_verb(wordnet) -> None:
    # first synsets cat.n.01 (13 edges to entity) and eat.v.01 (1 edge to its verb root).
    # NLTK 3.3 simulates a root only when the *first* synset is a verb: cat->eat is None (0),
    # eat->cat = 2*1 / ((2+1) + (14+1)) = 1/9. NLTK >= 3.6 uses the root both ways.
    assert wordnet.word_similarity("cat", "eat", PINNED) == 0.0
    assert wordnet.word_similarity("eat", "cat", PINNED) == pytest.approx(1 / 9, abs=1e-12)
    assert wordnet.word_similarity("cat", "eat", CURRENT) == pytest.approx(1 / 9, abs=1e-12)
    assert wups("cat", "eat", 0.0, semantics=PINNED) == 0.0
    assert wups("cat", "eat", 0.0, semantics=CURRENT) == pytest.approx(1 / 9, abs=1e-12)


def test_pinned_nltk_has_no_root_for_adjectives(wordnet) -> None:
    # "big" -> large.a.01 (adjective, depth 1), "large" -> large.n.01 (depth 6 edges)
    assert wordnet.word_similarity("big", "large", PINNED) == 0.0
    assert wordnet.word_similarity("big", "large", CURRENT) == pytest.approx(2 / 9, abs=1e-12)


def test_morphy_iterates_only_in_pinned_nltk(wordnet) -> None:
    assert wordnet.morphy("boxeses", "n", PINNED) == ("box",)
    assert wordnet.morphy("boxeses", "n", CURRENT) == ()
    assert wordnet.morphy("axes", "n", CURRENT) == ("ax", "axis")  # exception list


def test_tokenize_offline() -> None:
    assert tokenize("The dog's toy. It ran!") == ("The", "dog", "'s", "toy", ".", "It", "ran", "!")
    assert tokenize("  ") == ()


def test_batched_and_corpus(wordnet) -> None:
    preds = ["dog", "cat", "xqzt"]
    refs = ["cat", "cat", "dog"]
    s0 = wups_scores(preds, refs, 0.0)
    assert s0.shape == (3,) and s0.dtype == np.float64
    np.testing.assert_allclose(s0, [DOG_CAT, 1.0, 0.0], atol=1e-12)
    assert wups_corpus(preds, refs, 0.0) == pytest.approx(100 * (DOG_CAT + 1) / 3)


def test_usage_errors(wordnet) -> None:
    with pytest.raises(UsageError):
        wups("dog", "cat", 1.5)
    with pytest.raises(UsageError):
        wups_scores(["dog"], [], 0.0)
    with pytest.raises(UsageError):
        wups_corpus([], [], 0.0)


WORDS = ["dog", "cat", "man", "woman", "run", "eat", "red", "big", "large", "bike", "xqzt", "the"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(WORDS), max_size=4),
    st.lists(st.sampled_from(WORDS), max_size=4),
)
def test_properties(wordnet, a: list[str], b: list[str]) -> None:
    p, r = " ".join(a), " ".join(b)
    w0 = wups(p, r, 0.0, semantics=CURRENT)
    w9 = wups(p, r, 0.9, semantics=CURRENT)
    assert 0.0 <= w9 <= w0 <= 1.0
    assert w0 == wups(r, p, 0.0, semantics=CURRENT)  # symmetric once the root is symmetric


def test_normalizer_without_tagger(wordnet) -> None:
    norm = NextOENormalizer()
    # every token lemmatised as a noun: dogs->dog; "the"/"are" are stopwords; running stays
    assert norm("The dogs are running") == "dog running"
    assert "before" not in NEXTQA_STOPWORDS and "the" in NEXTQA_STOPWORDS


def test_normalizer_with_tagger(wordnet) -> None:
    tags = {"dogs": "NNS", "are": "VBP", "running": "VBG"}
    calls: list[list[str]] = []

    def tagger(tokens: list[str]) -> list[tuple[str, str]]:
        calls.append(tokens)
        return [(t, tags.get(t, "DT")) for t in tokens]

    norm = NextOENormalizer(pos_tagger=tagger)
    assert norm("the dogs are running") == "dog run"  # are -> be (stopword), running -> run
    assert ["the"] in calls  # an untagged word is re-tagged alone, as pywsd does


def test_nextoe_table_by_hand(wordnet) -> None:
    preds = ["dog", "cat", "two", "three", "dog"]
    refs = ["cat", "cat", "2", "three", "dog"]
    types = ["CW", "CW", "DC", "DC", "TP"]
    rep = nextoe_wups(preds, refs, types)
    # CW: (6/7 + 1)/2 = 92.857 -> 92.86 at t=0; (0.6/7 + 1)/2 = 54.29 at t=0.9
    # DC: exact match 1/2; TP counted as TN; overall (6/7 + 3)/5 = 77.14
    assert rep.wups0.table() == {
        "CW": 92.86,
        "WUPS_C": 92.86,
        "TPN": 100.0,
        "WUPS_T": 100.0,
        "DC": 50.0,
        "WUPS_D": 50.0,
        "WUPS": 77.14,
    }
    assert rep.wups9.per_type["CW"].percent == 54.29
    assert rep.wups9.per_type["DC"].percent == 50.0


def test_nextoe_extra_reference_takes_max(wordnet) -> None:
    rep = nextoe_wups(["dog", "two"], ["cat", "2"], ["CW", "DC"], extra_references=["dog", "two"])
    assert rep.wups0.overall.percent == 100.0
    with pytest.raises(UsageError):
        nextoe_wups(["dog"], ["cat", "x"], ["CW"])


def test_plain_text_tokenizes_as_nltk_does() -> None:
    from nltk.tokenize import word_tokenize

    texts = [
        "a man riding a red bike",
        "Two Dogs  and 3 cats",
        "cannot reach the toy",
        "they are gonna play",
        "wanna go",
        "gimme that",
        "got ta",
        "the baby s mouth",
        "in case food fall",
        "",
        "   ",
        "a1b2 c3",
    ]
    for text in texts:
        assert tokenize(text) == tuple(word_tokenize(text, preserve_line=True)), text


def test_light_nltk_import_keeps_the_tokenizer_tagger_and_scipy() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from videoqa.metrics.wups import import_nltk_light, tokenize\n"
        "import_nltk_light()\n"
        "hidden = [m for m in ('sklearn', 'scipy.stats') if m in sys.modules]\n"
        'print(tokenize("the dog\'s toy."), hidden)\n'
        "import scipy.stats  # importable afterwards\n"
        "print(scipy.stats.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["('the', 'dog', \"'s\", 'toy', '.') []", "scipy.stats"]
