"""WordTokenizer: splitting, ids, padding/truncation, save/load."""

from __future__ import annotations

import json

import pytest
import torch

from videoqa.errors import DataFormatError, UsageError
from videoqa.models.text import CLS, PAD, SEP, UNK, WordTokenizer, split_words


def test_split_words_lowercases_and_splits_on_non_alphanumerics():
    assert split_words("What's the RED cube-like  thing? 3x") == [
        "what",
        "s",
        "the",
        "red",
        "cube",
        "like",
        "thing",
        "3x",
    ]
    assert split_words("  ?! ") == []


def test_special_ids_and_build_order():
    tok = WordTokenizer.build(["b a", "a c", "a b"])
    assert (PAD, UNK, CLS, SEP) == (0, 1, 2, 3)
    # counts a=3, b=2, c=1: most frequent first, ties by word
    assert tok.words == ["a", "b", "c"]
    assert tok.vocab_size == 7
    assert tok.token_id("a") == 4 and tok.token_id("c") == 6


def test_build_is_independent_of_text_order_and_respects_min_count():
    texts = ["red cube", "blue cube", "red ball", "cube"]
    assert WordTokenizer.build(texts).words == WordTokenizer.build(texts[::-1]).words
    assert WordTokenizer.build(texts, min_count=2).words == ["cube", "red"]
    with pytest.raises(UsageError):
        WordTokenizer.build(texts, min_count=0)


def test_encode_pads_truncates_and_maps_unknown_words():
    tok = WordTokenizer.build(["what color is the cube", "red"])
    ids, mask = tok.encode(["What color?", "the purple cube is red", "red"], max_len=4)
    # L = min(max_len, longest) = min(4, 5) = 4
    assert ids.shape == mask.shape == (3, 4)
    assert ids.dtype == torch.long and mask.dtype == torch.bool
    w = tok.token_id
    assert ids.tolist() == [
        [w("what"), w("color"), PAD, PAD],
        [w("the"), UNK, w("cube"), w("is")],  # truncated after 4 words; purple unknown
        [w("red"), PAD, PAD, PAD],
    ]
    assert mask.tolist() == [[True, True, False, False], [True] * 4, [True, False, False, False]]


def test_encode_length_is_the_longest_text_when_shorter_than_max_len():
    tok = WordTokenizer.build(["a b c"])
    ids, _ = tok.encode(["a", "a b"], max_len=10)
    assert ids.shape == (2, 2)


def test_empty_text_is_one_unknown_token():
    tok = WordTokenizer.build(["a"])
    ids, mask = tok.encode(["", "?"], max_len=3)
    assert ids.tolist() == [[UNK], [UNK]] and mask.all()
    with pytest.raises(UsageError):
        tok.encode(["a"], max_len=0)


def test_decode_round_trips_in_vocabulary_text():
    tok = WordTokenizer.build(["what is left of the red ball"])
    ids, _ = tok.encode(["What is LEFT of the red ball?"], max_len=32)
    assert tok.decode(ids[0]) == "what is left of the red ball"


def test_save_load_round_trip(tmp_path):
    tok = WordTokenizer.build(["the small red cube", "a large blue ball", "cube"])
    path = tmp_path / "sub" / "vocab.json"
    tok.save(path)
    loaded = WordTokenizer.load(path)
    assert loaded.words == tok.words and loaded.vocab_size == tok.vocab_size
    texts = ["the red ball", "a purple cube"]
    for a, b in zip(tok.encode(texts, 8), loaded.encode(texts, 8), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps([1, 2]),
        json.dumps({"format": "other", "words": []}),
        json.dumps({"format": "videoqa.word_tokenizer/1", "words": ["a", "a"]}),
        json.dumps({"format": "videoqa.word_tokenizer/1", "words": ["Upper"]}),
    ],
)
def test_load_rejects_bad_files(tmp_path, content):
    path = tmp_path / "vocab.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError):
        WordTokenizer.load(path)
