"""SGVLM inputs: the typed batch and the processor that turns questions, answers and
candidates into LLM token ids (prompt layout of SGVLM §3.4: query tokens, then the
question prompt, then the answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor
from transformers import PreTrainedTokenizerBase

from videoqa.errors import UsageError


@dataclass
class SGVLMBatch:
    """One batch of questions with their videos' features.

    Attributes:
        frames: ``(B, T, D)`` frame vectors.
        frame_mask: ``(B, T)`` bool, True = real frame (at least one per row).
        times: ``(B, T)`` frame times in seconds.
        question_ids, question_mask: ``(B, L)`` LLM-tokenizer ids of the question (no
            special tokens), right-padded; read by the localizer.
        prompts: B lists of token ids of the filled prompt template.
        patches: ``(B, T, P, Dp)`` patch/region tokens per frame, or None.
        sg_tokens: ``(B, T, K, Dsg)`` scene-graph tokens, or None.
        sg_mask: ``(B, T, K)`` bool, or None.
        intervals: ``(B, 2)`` ground-truth moment in seconds (NaN = none), or None.
        video_index: ``(B,)`` long, equal for questions about the same video (the
            localizer's inter-video contrast needs it), or None.
        clip_length: seconds covered by one frame (uniform sampling: duration / T).
    """

    frames: Tensor
    frame_mask: Tensor
    times: Tensor
    question_ids: Tensor
    question_mask: Tensor
    prompts: list[list[int]]
    patches: Tensor | None = None
    sg_tokens: Tensor | None = None
    sg_mask: Tensor | None = None
    intervals: Tensor | None = None
    video_index: Tensor | None = None
    clip_length: float = 1.0

    def __post_init__(self) -> None:
        b, t = self.frame_mask.shape
        if self.frames.shape[:2] != (b, t) or self.times.shape != (b, t):
            raise UsageError("frames, frame_mask and times must share (B, T)")
        if not bool(self.frame_mask.any(dim=1).all()):
            raise UsageError("every video needs at least one visible frame")
        if len(self.prompts) != b or self.question_ids.shape[0] != b:
            raise UsageError("questions and videos differ in number")
        if (self.sg_tokens is None) != (self.sg_mask is None):
            raise UsageError("sg_tokens and sg_mask go together")

    @property
    def batch_size(self) -> int:
        """B."""
        return int(self.frames.shape[0])

    def to(self, device: torch.device | str) -> SGVLMBatch:
        """The batch on ``device`` (token-id lists stay on the host)."""
        moved = {
            f.name: getattr(self, f.name).to(device)
            for f in fields(self)
            if isinstance(getattr(self, f.name), Tensor)
        }
        return replace(self, **moved)


class SGVLMProcessor:
    """Tokenizes prompts, answers and candidates for one LLM tokenizer.

    Args:
        tokenizer: the LLM's tokenizer (pad and EOS tokens required).
        prompt_template: text with ``{question}``.
        max_question_tokens, max_answer_tokens: truncation lengths.

    Raises:
        UsageError: the tokenizer has no pad or EOS token, or the template lacks
            ``{question}``.
    """

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        prompt_template: str,
        max_question_tokens: int = 40,
        max_answer_tokens: int = 10,
    ) -> None:
        if tokenizer.pad_token_id is None or tokenizer.eos_token_id is None:
            raise UsageError("the LLM tokenizer needs a pad and an EOS token")
        if "{question}" not in prompt_template:
            raise UsageError("prompt_template must contain {question}")
        self.tokenizer = tokenizer
        self.template = prompt_template
        self.max_question_tokens = max_question_tokens
        self.max_answer_tokens = max_answer_tokens

    def _ids(self, text: str, limit: int) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False).input_ids)[:limit]

    def questions(self, texts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """``(B, L)`` right-padded ids and bool mask of the bare questions (L ≥ 1)."""
        rows = [
            self._ids(t, self.max_question_tokens) or [self.tokenizer.unk_token_id or 0]
            for t in texts
        ]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.bool)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = True
        return ids, mask

    def prompts(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of the prompt template filled with each question (BOS first when
        the tokenizer has one)."""
        bos = [self.tokenizer.bos_token_id] if self.tokenizer.bos_token_id is not None else []
        limit = self.max_question_tokens + 16
        return [bos + self._ids(self.template.format(question=t), limit) for t in texts]

    def answer(self, text: str) -> list[int]:
        """Token ids of an answer followed by EOS (what the LLM learns to generate)."""
        return self._ids(text, self.max_answer_tokens) + [self.tokenizer.eos_token_id]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of generated ids, stopping at EOS."""
        out: list[int] = []
        for i in ids:
            if i == self.tokenizer.eos_token_id:
                break
            out.append(int(i))
        return self.tokenizer.decode(out, skip_special_tokens=True).strip()
