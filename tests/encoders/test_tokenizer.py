"""The word-level tokenizer of the tiny presets."""

from __future__ import annotations

import pytest

from videoqa.encoders import build_tiny_tokenizer
from videoqa.encoders.tiny import BOS, EOS, PAD, SPECIAL_TOKENS, UNK
from videoqa.encoders.vocab import VIDEOQA_WORDS


@pytest.fixture(scope="module")
def tok():
    return build_tiny_tokenizer("clip", context_length=32)


def test_special_token_ids(tok):
    assert [tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3]
    assert (tok.pad_token, tok.unk_token, tok.bos_token, tok.eos_token) == (PAD, UNK, BOS, EOS)
    assert tok.eos_token_id != 2  # CLIP reads eos_token_id == 2 as a legacy config


def test_vocabulary_is_the_word_list(tok):
    assert len(tok) == len(SPECIAL_TOKENS) + len(VIDEOQA_WORDS)
    assert len(set(VIDEOQA_WORDS)) == len(VIDEOQA_WORDS)
    assert all(w == w.lower() and " " not in w for w in VIDEOQA_WORDS)
    for word in ("what", "man", "dog", "running", "red", "three", "kitchen", "?"):
        assert word in VIDEOQA_WORDS


@pytest.mark.parametrize(
    "text",
    ["what is the man doing?", "a dog runs across the field", "how many people are dancing?"],
)
def test_known_words_round_trip(tok, text):
    ids = tok(text)["input_ids"]
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
    assert tok.unk_token_id not in ids
    assert tok.decode(ids, skip_special_tokens=True) == text


def test_ids_follow_the_word_list_order(tok):
    ids = tok("what man")["input_ids"]
    offset = len(SPECIAL_TOKENS)
    assert ids == [2, VIDEOQA_WORDS.index("what") + offset, VIDEOQA_WORDS.index("man") + offset, 3]


def test_lower_cases_and_splits_punctuation(tok):
    assert tok("What DOG?")["input_ids"] == tok("what dog ?")["input_ids"]


def test_unknown_words_map_to_the_unknown_token(tok):
    ids = tok("the xylophonist zorbs")["input_ids"]
    assert ids[1:-1] == [tok.convert_tokens_to_ids("the"), tok.unk_token_id, tok.unk_token_id]
    assert tok.decode(ids, skip_special_tokens=False).split()[2:4] == [UNK, UNK]


def test_siglip_layout_has_no_bos():
    tok = build_tiny_tokenizer("siglip", context_length=16)
    ids = tok("a dog")["input_ids"]
    assert ids == [tok.convert_tokens_to_ids("a"), tok.convert_tokens_to_ids("dog"), 3]
    assert tok.model_max_length == 16
