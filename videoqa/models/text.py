"""A word-level tokenizer for the VideoQA backbones' trainable word embeddings.

The backbones of :mod:`videoqa.models` embed words themselves (HGA and VGT use word
embeddings trained with the model, as in their papers' GloVe/BERT-free variants), so
the tokenizer is a plain vocabulary: lower-case the text, split it on every run of
non-alphanumeric characters, map each word to an id. Special ids: ``pad=0``,
``unk=1``, ``cls=2``, ``sep=3``; ``encode`` adds none of ``cls``/``sep`` (models that
want them prepend them).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from videoqa.errors import DataFormatError, UsageError

PAD, UNK, CLS, SEP = 0, 1, 2, 3
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
_SPLIT = re.compile(r"[^0-9a-z]+")
_FORMAT = "videoqa.word_tokenizer/1"


def split_words(text: str) -> list[str]:
    """Lower-case ``text`` and split it on runs of non-alphanumeric characters.

    ``"What's the RED cube?"`` → ``["what", "s", "the", "red", "cube"]``. Letters outside
    ASCII count as separators (the benchmarks' questions are English).
    """
    return [w for w in _SPLIT.split(text.lower()) if w]


class WordTokenizer:
    """Word ↔ id vocabulary with padding/truncation to tensors.

    Args:
        words: the vocabulary after the four special tokens, in id order (id 4 first).

    Raises:
        UsageError: a word repeats, is empty, or is not a lower-case alphanumeric word.
    """

    def __init__(self, words: Sequence[str]) -> None:
        self._itos = list(SPECIAL_TOKENS) + list(words)
        self._stoi = {w: i for i, w in enumerate(self._itos)}
        if len(self._stoi) != len(self._itos):
            raise UsageError("tokenizer vocabulary has repeated words")
        bad = [w for w in words if split_words(w) != [w]]
        if bad:
            raise UsageError(f"tokenizer words must be lower-case alphanumeric: {bad[:5]}")

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1) -> WordTokenizer:
        """Vocabulary of the words occurring at least ``min_count`` times in ``texts``.

        Words are ordered by decreasing count, ties by the word itself, so the ids are
        reproducible for the same texts in any order.

        Raises:
            UsageError: ``min_count`` below 1.
        """
        if min_count < 1:
            raise UsageError(f"min_count must be at least 1, got {min_count}")
        counts = Counter(w for text in texts for w in split_words(text))
        kept = sorted(
            (w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w)
        )
        return cls(kept)

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included (the embedding table's rows)."""
        return len(self._itos)

    @property
    def words(self) -> list[str]:
        """The non-special words in id order (id 4 first)."""
        return self._itos[len(SPECIAL_TOKENS) :]

    def token_id(self, word: str) -> int:
        """Id of ``word`` (already split/lower-cased), ``UNK`` when unknown."""
        return self._stoi.get(word, UNK)

    def ids(self, text: str) -> list[int]:
        """Ids of the words of ``text``, unknown words as ``UNK``; no padding."""
        return [self._stoi.get(w, UNK) for w in split_words(text)]

    def encode(self, texts: Sequence[str], max_len: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad/truncate ``texts`` to one id tensor.

        Args:
            texts: N strings.
            max_len: most words kept per text (the first ones).

        Returns:
            ``(ids, mask)``: ``(N, L)`` long ids (``PAD`` = 0 after the end) and ``(N, L)``
            bool mask (True = word), ``L = min(max_len, longest text in words)``. A text
            with no words is encoded as one ``UNK`` so that every row has a visible token
            (attention pooling over an empty row has no value); ``L >= 1``.

        Raises:
            UsageError: ``max_len < 1``.
        """
        if max_len < 1:
            raise UsageError(f"max_len must be at least 1, got {max_len}")
        rows = [self.ids(t)[:max_len] or [UNK] for t in texts]
        length = max((len(r) for r in rows), default=1)
        ids = torch.zeros(len(rows), length, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        return ids, ids != PAD

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """Words of ``ids`` joined by spaces, padding dropped (inverse of :meth:`ids` for
        in-vocabulary lower-case text)."""
        values = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        return " ".join(self._itos[i] for i in values if i != PAD)

    def save(self, path: Path) -> None:
        """Write the vocabulary as JSON to ``path`` (parents created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"format": _FORMAT, "words": self.words}
        path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> WordTokenizer:
        """Read a tokenizer written by :meth:`save`.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            DataFormatError: the file is not a saved WordTokenizer.
        """
        try:
            payload = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise DataFormatError(f"{path}: not a WordTokenizer file ({err})") from None
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise DataFormatError(f"{path}: not a WordTokenizer file (format {_FORMAT} expected)")
        words = payload.get("words")
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise DataFormatError(f"{path}: 'words' must be a list of strings")
        try:
            return cls(words)
        except UsageError as err:
            raise DataFormatError(f"{path}: {err}") from None

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"WordTokenizer(vocab_size={self.vocab_size})"
