"""MCG inputs: the typed batch, the WordPiece tokenizer and the processor that turns
frames, questions (with an optional extra text stream), captions and answers into it.

Frames are resized to ``S×S`` and normalised with the CLIP mean/std the released code
uses. Text is tokenized by a BERT WordPiece tokenizer as ``[CLS] question [SEP]
(extra text [SEP])``; every piece records the word it belongs to (``word_index``), so
that the Intra-Question Module can sum the pieces back into words (MCG §3.2, the
released code's ``aggregate_tokens``). Answers are decoded as ``[CLS] answer [SEP]``
(``[CLS]`` starts the decoder, ``[SEP]`` ends the answer).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

from videoqa.encoders.spec import OPENAI_CLIP_MEAN as PIXEL_MEAN
from videoqa.encoders.spec import OPENAI_CLIP_STD as PIXEL_STD
from videoqa.errors import UsageError

# PIXEL_MEAN / PIXEL_STD: the CLIP per-channel RGB mean / std, which the released
# configs' ``img_pixel_mean`` / ``_std`` are.
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
IGNORE = -100


def train_wordpiece_tokenizer(
    texts: Iterable[str], vocab_size: int = 400, min_frequency: int = 1
) -> PreTrainedTokenizerFast:
    """Build a lower-cased BERT WordPiece tokenizer (``tokenizers`` WordPiece model,
    greedy longest-match-first) from ``texts`` and wrap it as a ``transformers`` fast
    tokenizer (``[PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4``; ``[CLS] A [SEP] B [SEP]``
    templates).

    The vocabulary is deterministic (the ``tokenizers`` trainer breaks ties differently
    from run to run, which would make training runs unrepeatable): the special tokens,
    every character seen (as a word start and as a ``##`` continuation), then the most
    frequent words (ties alphabetical, at least ``min_frequency`` occurrences) up to
    ``vocab_size`` entries. Words left out are split into pieces, so a small
    ``vocab_size`` gives multi-piece words. ``save_pretrained`` / ``AutoTokenizer``
    round-trip it.

    Raises:
        UsageError: ``texts`` is empty.
    """
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    texts = [t for t in texts if t.strip()]
    if not texts:
        raise UsageError("cannot train a tokenizer on no text")
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(text)))
    chars = sorted({c for w in counts for c in w})
    vocab: dict[str, int] = {}
    for token in [*SPECIAL_TOKENS, *chars, *(f"##{c}" for c in chars)]:
        vocab.setdefault(token, len(vocab))
    for word, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= vocab_size:
            break
        if n >= min_frequency:
            vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.WordPiece()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


@dataclass
class MCGText:
    """Tokenized text of ``B`` samples.

    Attributes:
        input_ids, attention_mask, token_type_ids: ``(B, L)`` (mask: bool, True = token).
        word_index: ``(B, L)`` long, the word each piece belongs to (0-based within the
            sample, over the question then the extra text), −1 for special tokens and
            padding.
    """

    input_ids: Tensor
    attention_mask: Tensor
    token_type_ids: Tensor
    word_index: Tensor

    def to(self, device: torch.device | str) -> MCGText:
        """The text on ``device``."""
        return MCGText(*(getattr(self, f.name).to(device) for f in fields(self)))


@dataclass
class MCGBatch:
    """One batch of ``B`` videos with their questions (or captions).

    Attributes:
        pixels: ``(B, T, 3, S, S)`` float, normalised frames (every row has ``T`` real
            frames: a short video repeats frames, nothing is padded).
        times: ``(B, T)`` frame times in seconds.
        text: the tokenized questions (+ extra text stream), :class:`MCGText`.
    """

    pixels: Tensor
    times: Tensor
    text: MCGText

    def __post_init__(self) -> None:
        if self.pixels.dim() != 5 or self.pixels.shape[2] != 3:
            raise UsageError(f"pixels must be (B, T, 3, S, S), got {tuple(self.pixels.shape)}")
        if self.times.shape != self.pixels.shape[:2]:
            raise UsageError("pixels and times must share (B, T)")
        if self.text.input_ids.shape[0] != self.pixels.shape[0]:
            raise UsageError("questions and videos differ in number")

    @property
    def batch_size(self) -> int:
        """B."""
        return int(self.pixels.shape[0])

    def to(self, device: torch.device | str, **_: object) -> MCGBatch:
        """The batch on ``device`` (extra keyword arguments, e.g. ``non_blocking``, are
        accepted and ignored, for ``accelerate``)."""
        return replace(
            self, pixels=self.pixels.to(device), times=self.times.to(device), text=self.text.to(device)
        )


class MCGProcessor:
    """Frames, questions and answers → MCG tensors, for one tokenizer.

    Args:
        tokenizer: a fast BERT-style tokenizer with ``[PAD] [CLS] [SEP] [MASK]``.
        image_size: frame side S in pixels.
        max_question_tokens: tokens kept per question (+ extra text), specials included.
        max_answer_tokens: answer tokens kept (``[CLS]`` and ``[SEP]`` not counted).

    Raises:
        UsageError: the tokenizer is not a fast one or lacks a special token.
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        image_size: int,
        max_question_tokens: int = 40,
        max_answer_tokens: int = 10,
    ) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise UsageError("MCG needs a fast tokenizer (word ids of the pieces)")
        for name in ("pad_token_id", "cls_token_id", "sep_token_id", "mask_token_id"):
            if getattr(tokenizer, name, None) is None:
                raise UsageError(f"the tokenizer has no {name.removesuffix('_id')}")
        self.tokenizer = tokenizer
        self.image_size = image_size
        self.max_question_tokens = max_question_tokens
        self.max_answer_tokens = max_answer_tokens

    # ---- frames -------------------------------------------------------------------
    def frames(self, frames: np.ndarray | Tensor) -> Tensor:
        """``(T, H, W, 3)`` uint8 RGB → ``(T, 3, S, S)`` float, resized (bilinear,
        antialiased) and normalised.

        Raises:
            UsageError: not a ``(T, H, W, 3)`` array.
        """
        x = torch.as_tensor(np.asarray(frames) if not isinstance(frames, Tensor) else frames)
        if x.dim() != 4 or x.shape[-1] != 3:
            raise UsageError(f"frames must be (T, H, W, 3), got {tuple(x.shape)}")
        x = x.permute(0, 3, 1, 2).float() / 255.0
        s = self.image_size
        if x.shape[-2:] != (s, s):
            x = F.interpolate(x, size=(s, s), mode="bilinear", antialias=True, align_corners=False)
        mean = torch.tensor(PIXEL_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(PIXEL_STD).view(1, 3, 1, 1)
        return (x - mean) / std

    # ---- text ---------------------------------------------------------------------
    def text(self, texts: Sequence[str], extra: Sequence[str | None] | None = None) -> MCGText:
        """Tokenize questions (or captions), with an optional extra text stream per
        sample (subtitles / transcript, MCG on TVQA) as the second segment.

        Raises:
            UsageError: ``extra`` has another length than ``texts``.
        """
        texts = [t if t.strip() else self.tokenizer.unk_token for t in texts]
        if extra is not None and len(extra) != len(texts):
            raise UsageError("extra text stream and questions differ in number")
        pairs = extra is not None and any(e for e in extra)
        rows = []
        for i, t in enumerate(texts):
            second = (extra[i] or None) if pairs else None
            enc = self.tokenizer(
                t,
                second,
                truncation=True,
                max_length=self.max_question_tokens,
                return_token_type_ids=True,
            )
            rows.append(enc)
        width = max(len(r.input_ids) for r in rows)
        b = len(rows)
        ids = torch.full((b, width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((b, width), dtype=torch.bool)
        types = torch.zeros((b, width), dtype=torch.long)
        words = torch.full((b, width), -1, dtype=torch.long)
        for i, enc in enumerate(rows):
            n = len(enc.input_ids)
            ids[i, :n] = torch.tensor(enc.input_ids)
            mask[i, :n] = True
            types[i, :n] = torch.tensor(enc.get("token_type_ids", [0] * n))
            seq_ids, word_ids = enc.sequence_ids(), enc.word_ids()
            first = max((w for s, w in zip(seq_ids, word_ids, strict=True) if s == 0 and w is not None), default=-1)
            for j, (s, w) in enumerate(zip(seq_ids, word_ids, strict=True)):
                if s is not None and w is not None:
                    words[i, j] = w if s == 0 else first + 1 + w
            # renumber densely (word ids may skip when truncation cut a word's pieces)
            valid = words[i] >= 0
            if valid.any():
                _, dense = torch.unique(words[i][valid], return_inverse=True)
                words[i][valid] = dense
        return MCGText(ids, mask, types, words)

    def answers(self, texts: Sequence[str]) -> tuple[Tensor, Tensor, Tensor]:
        """Decoder inputs of answers ``[CLS] answer [SEP]``: ids and bool mask ``(N,
        La)`` and labels ``(N, La)`` (the ids, −100 on padding; the decoder predicts
        ``labels[:, 1:]`` from ``ids[:, :-1]``)."""
        rows = []
        for t in texts:
            pieces = self.tokenizer(t, add_special_tokens=False).input_ids[: self.max_answer_tokens]
            rows.append([self.tokenizer.cls_token_id, *pieces, self.tokenizer.sep_token_id])
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.bool)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = True
        labels = ids.masked_fill(~mask, IGNORE)
        return ids, mask, labels

    def decode(self, ids: Sequence[int]) -> str:
        """Text of generated ids (after the start token), stopping at ``[SEP]``."""
        out = []
        for i in ids:
            if int(i) == self.tokenizer.sep_token_id:
                break
            if int(i) in (self.tokenizer.pad_token_id, self.tokenizer.cls_token_id):
                continue
            out.append(int(i))
        return self.tokenizer.decode(out, skip_special_tokens=True).strip()

    def mask_tokens(self, text: MCGText, probability: float = 0.15) -> tuple[Tensor, Tensor]:
        """BERT masked-language-model corruption (Devlin et al., 2019, §3.1; MCG's
        pre-training MLM): each non-special token is chosen with ``probability``; of
        those 80 % become ``[MASK]``, 10 % a random token, 10 % stay. Randomness from
        torch's global RNG (the training loop seeds it).

        Returns:
            masked ``input_ids`` ``(B, L)`` and labels ``(B, L)`` (the original id where
            chosen, −100 elsewhere); at least one token per row is chosen.
        """
        ids = text.input_ids.clone()
        maskable = text.word_index >= 0
        chosen = (torch.rand(ids.shape) < probability) & maskable
        none = ~chosen.any(dim=1) & maskable.any(dim=1)
        for i in torch.nonzero(none).flatten().tolist():
            options = torch.nonzero(maskable[i]).flatten()
            chosen[i, options[torch.randint(len(options), (1,))]] = True
        labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
        roll = torch.rand(ids.shape)
        ids[chosen & (roll < 0.8)] = self.tokenizer.mask_token_id
        randomised = chosen & (roll >= 0.8) & (roll < 0.9)
        ids[randomised] = torch.randint(len(SPECIAL_TOKENS), len(self.tokenizer), ids.shape)[randomised]
        return ids, labels


__all__ = [
    "IGNORE",
    "MCGBatch",
    "MCGProcessor",
    "MCGText",
    "PIXEL_MEAN",
    "PIXEL_STD",
    "train_wordpiece_tokenizer",
]
