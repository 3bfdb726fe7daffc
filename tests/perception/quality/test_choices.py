"""Mapping free-form choices onto the quality model's answer spaces (lexicon, meaning)."""

from __future__ import annotations

import pytest

from videoqa.perception.quality.choices import lexicon_value, map_choices, space_prototypes
from videoqa.perception.quality.questions import embeddings_available


@pytest.mark.parametrize(
    ("choice", "value"),
    [("yes", True), ("No.", False), ("very blurry", True), ("slightly blurred", True),
     ("not blurry", False), ("sharp", False), ("in focus", False), ("out of focus", True),
     ("pixelated", True), ("nothing wrong, pristine", False), ("a red car", None)],
)  # fmt: skip
def test_blur_yes_no_lexicon(choice, value):
    assert lexicon_value(choice, "distortion_yes_no", ["blur"]) is value


def test_rating_and_kind_lexicon():
    got = [lexicon_value(c, "rating") for c in ("5", "4/5", "decent", "so-so", "horrible", "blue")]
    assert got == [5, 4, 4, 3, 1, None]
    kinds = [lexicon_value(c, "kind") for c in ("grainy", "camera shake", "no distortion", "x")]
    assert kinds == ["noise", "shake", "none", None]
    assert lexicon_value("good", "good_bad") is True and lexicon_value("awful", "good_bad") is False
    with pytest.raises(ValueError):
        space_prototypes("colour")


@pytest.mark.skipif(not embeddings_available(), reason="sentence-transformers not installed")
def test_meaning_maps_what_the_lexicon_misses_and_refuses_the_rest():
    m = map_choices(["the picture trembles", "filmed on a tripod", "a bowl of soup"],
                    "distortion_yes_no", ["shake"])  # fmt: skip
    assert m.values == (True, False, None)
    assert m.methods == ("embedding", "lexicon", "unmapped")
    kinds = map_choices(["frames are skipped", "colors are washed", "my cat"], "kind")
    assert kinds.values == ("stutter", "overexposure", None) and kinds.unmapped == [2]
    rated = map_choices(["dreadful", "a bowl of soup"], "rating")
    assert rated.values == (1, None) and rated.methods == ("embedding", "unmapped")
