"""A small image-QA teacher over stored frame features (SpARC §3.1 on synthetic data).

Where no pretrained image-QA model fits the data (the synthetic benchmark's flat 2-D
shapes), SpARC's teacher ``M_I`` is a small model trained on frame-level questions. It
reads one frame's stored features — the frame vector ``f ∈ R^D`` and, when the store
keeps them, patch tokens ``X ∈ R^{P×Dp}`` — and the question's word ids, and scores each
candidate answer:

1. words are embedded (``E``, shared by question and candidates); the question is read by
   a bidirectional GRU, ``q`` = masked mean of its states;
2. inputs are standardised with the training features' mean/std; patches are
   projected to the hidden size, a learned position embedding per patch is
   added, and ``hops`` rounds of question-guided attention (stacked attention, Yang et
   al., CVPR 2016, "Stacked Attention Networks for Image Question Answering", §3.3) pool
   them: ``u_0 = q``; hop ``h`` picks a phrase of the question,
   ``c_h = Σ_l softmax_l((K_h u_{h-1})·w_l / √H) w_l`` (``w_l`` the word states), then
   ``α_h = softmax_p((W_h c_h)·x_p / √H)``, ``v_h = Σ_p α_hp x_p``, ``u_h = u_{h-1} + v_h``;
3. ``z = MLP([q; f'; v_1 … v_hops; u_hops ⊙ q])`` (``f'`` the projected frame vector);
4. candidate ``c`` (masked mean of its word embeddings, projected) gets the logit
   ``z · a_c``.

Without patches, ``v_h`` are zero and the model is a question-conditioned MLP over ``f``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from videoqa.errors import CheckpointError, DataFormatError, UsageError
from videoqa.models.imageqa.base import (
    FrameFeatures,
    FrameSource,
    ImageQATeacher,
    check_candidates,
    frame_features,
)
from videoqa.models.text import WordTokenizer
from videoqa.persistence import PretrainedMixin

TOKENIZER_FILE = "tokenizer.json"
MODEL_TYPE = "feature_teacher"


class FeatureTeacherConfig(BaseModel):
    """Shape and size of a :class:`FeatureTeacherModel`.

    Attributes:
        feature_dim: ``D`` of the frame vectors.
        patch_dim, num_patches: ``Dp`` and ``P`` of the patch tokens; ``None`` when the
            feature store has none.
        vocab_size: rows of the word embedding (the tokenizer's ``vocab_size``).
        hidden_size: ``H``.
        hops: rounds of question-guided attention over the patches.
        dropout: dropout rate during training.
        max_text_len: most words read per question / candidate.
    """

    model_config = ConfigDict(extra="forbid")

    feature_dim: int = Field(gt=0)
    patch_dim: int | None = Field(None, gt=0)
    num_patches: int | None = Field(None, gt=0)
    vocab_size: int = Field(gt=4)
    hidden_size: int = Field(128, gt=0)
    hops: int = Field(2, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    max_text_len: int = Field(32, ge=1)


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` ``(..., L, H)`` over the positions where ``mask`` ``(..., L)`` is True."""
    weights = mask.unsqueeze(-1).to(x.dtype)
    return (x * weights).sum(-2) / weights.sum(-2).clamp(min=1.0)


class FeatureTeacherModel(nn.Module):
    """The network of :class:`FeatureTeacher` (see the module docstring).

    Args:
        config: sizes (:class:`FeatureTeacherConfig`).
    """

    def __init__(self, config: FeatureTeacherConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden_size
        self.words = nn.Embedding(config.vocab_size, h, padding_idx=0)
        self.question_rnn = nn.GRU(h, h // 2, batch_first=True, bidirectional=True)
        self.question_out = nn.Linear(2 * (h // 2), h)
        self.frame_proj = nn.Linear(config.feature_dim, h)
        self.register_buffer("frame_mean", torch.zeros(config.feature_dim))
        self.register_buffer("frame_std", torch.ones(config.feature_dim))
        self.has_patches = config.patch_dim is not None and config.num_patches is not None
        if self.has_patches:
            self.patch_proj = nn.Linear(config.patch_dim, h)
            self.register_buffer("patch_mean", torch.zeros(config.patch_dim))
            self.register_buffer("patch_std", torch.ones(config.patch_dim))
            self.patch_pos = nn.Parameter(torch.randn(config.num_patches, h) * 0.02)
            self.hop_query = nn.ModuleList(nn.Linear(h, h) for _ in range(config.hops))
            self.hop_control = nn.ModuleList(nn.Linear(h, h) for _ in range(config.hops))
        self.fuse = nn.Sequential(
            nn.Linear(h * (3 + config.hops), 2 * h),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(2 * h, h),
        )
        self.answer_proj = nn.Linear(h, h)
        self.drop = nn.Dropout(config.dropout)

    @torch.no_grad()
    def set_input_stats(self, vectors: torch.Tensor, patches: torch.Tensor | None) -> None:
        """Standardise inputs with the per-dimension mean and std of training features
        ``(N, D)`` and ``(N, P, Dp)`` (kept in the checkpoint as buffers)."""
        self.frame_mean.copy_(vectors.mean(0))
        self.frame_std.copy_(vectors.std(0).clamp(min=1e-6))
        if self.has_patches and patches is not None:
            flat = patches.reshape(-1, patches.shape[-1])
            self.patch_mean.copy_(flat.mean(0))
            self.patch_std.copy_(flat.std(0).clamp(min=1e-6))

    def encode_question(
        self, ids: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, L)`` word ids and bool mask → ``(N, H)`` question vector and ``(N, L, H)``
        word states."""
        lengths = mask.sum(-1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(
            self.drop(self.words(ids)), lengths, batch_first=True, enforce_sorted=False
        )
        states, _ = self.question_rnn(packed)  # padding never enters the GRU
        states, _ = nn.utils.rnn.pad_packed_sequence(
            states, batch_first=True, total_length=ids.shape[1]
        )
        states = self.question_out(states)
        return _masked_mean(states, mask), states

    def _attend(
        self, q: torch.Tensor, words: torch.Tensor, mask: torch.Tensor, patches: torch.Tensor
    ) -> list[torch.Tensor]:
        """``hops`` question-guided poolings of ``(N, P, Dp)`` patches → list of ``(N, H)``.

        Each hop first attends over the question's words (``words`` ``(N, L, H)``, ``mask``
        ``(N, L)``) to pick the phrase it looks for (the control step of MAC, Hudson &
        Manning, ICLR 2018, §3.2.1), then over the patches with that phrase as query.
        """
        x = self.patch_proj((patches - self.patch_mean) / self.patch_std) + self.patch_pos
        scale = math.sqrt(x.shape[-1])
        u, pooled = q, []
        for control, query in zip(self.hop_control, self.hop_query, strict=True):
            word_scores = torch.einsum("nh,nlh->nl", control(u), words) / scale
            phrase = torch.einsum(
                "nl,nlh->nh", word_scores.masked_fill(~mask, float("-inf")).softmax(-1), words
            )
            scores = torch.einsum("nh,nph->np", query(phrase), x) / scale
            v = torch.einsum("np,nph->nh", scores.softmax(-1), x)
            pooled.append(v)
            u = u + v
        return pooled

    def forward(
        self,
        vectors: torch.Tensor,
        patches: torch.Tensor | None,
        question: torch.Tensor,
        question_mask: torch.Tensor,
        candidates: torch.Tensor,
        candidates_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Candidate logits of N (frame, question) rows.

        Args:
            vectors: ``(N, D)`` frame vectors.
            patches: ``(N, P, Dp)`` patch tokens, or ``None`` (then required to be
                ``None`` by the config too).
            question, question_mask: ``(N, L)`` word ids / bool mask.
            candidates, candidates_mask: ``(N, C, La)`` word ids / bool mask; a
                candidate with no True in its mask is padding and gets ``-inf``.

        Returns:
            ``(N, C)`` logits.

        Raises:
            UsageError: patches given or missing against the config.
        """
        if (patches is not None) != self.has_patches:
            raise UsageError(
                "patch tokens must be given exactly when the teacher was built with them "
                f"(patch_dim={self.config.patch_dim})"
            )
        q, words = self.encode_question(question, question_mask)
        f = self.frame_proj((vectors - self.frame_mean) / self.frame_std)
        if patches is not None:
            pooled = self._attend(q, words, question_mask, patches)
            u = q + sum(pooled)
        else:
            pooled = [torch.zeros_like(q) for _ in range(self.config.hops)]
            u = q
        z = self.fuse(self.drop(torch.cat([q, f, *pooled, u * q], dim=-1)))  # (N, H)
        answers = self.answer_proj(_masked_mean(self.words(candidates), candidates_mask))
        logits = torch.einsum("nh,nch->nc", z, answers)
        return logits.masked_fill(~candidates_mask.any(-1), float("-inf"))


class FeatureTeacher(PretrainedMixin, ImageQATeacher):
    """Image-QA teacher over stored features (input ``FrameFeatures``).

    Checkpoints (:class:`~videoqa.persistence.PretrainedMixin`): ``config.json``
    (``model_type`` ``"feature_teacher"`` + :class:`FeatureTeacherConfig`),
    ``model.safetensors`` (the network, input statistics included) and
    ``tokenizer.json``. ``from_pretrained(directory or hub id, batch_size=...,
    device=...)`` names the teacher ``"feature:<directory>"`` and raises
    :class:`~videoqa.errors.CheckpointError` on a missing or mismatched checkpoint.

    Args:
        model: the trained :class:`FeatureTeacherModel` (put in eval mode here).
        tokenizer: the word tokenizer it was trained with.
        name: description kept in the teacher store's meta (``"feature:<dir>"``).
        batch_size: (frame, question) rows per forward pass.
        device: torch device of the forward passes.
    """

    input_kind: ClassVar = "features"
    model_type = MODEL_TYPE
    config_class = FeatureTeacherConfig
    extra_parts = (TOKENIZER_FILE,)

    def __init__(
        self,
        model: FeatureTeacherModel,
        tokenizer: WordTokenizer,
        *,
        name: str = "feature",
        batch_size: int = 1024,
        device: str | torch.device = "cpu",
    ) -> None:
        if batch_size < 1:
            raise UsageError(f"batch_size must be at least 1, got {batch_size}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.name = name
        self.batch_size = batch_size

    @property
    def config(self) -> FeatureTeacherConfig:
        """The model's :class:`FeatureTeacherConfig`."""
        return self.model.config

    def encode_text(
        self, questions: Sequence[str], candidates: Sequence[Sequence[str]]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Word ids of Q questions and their candidate lists.

        Returns:
            ``(question (Q, L), question_mask (Q, L), candidates (Q, C, La),
            candidates_mask (Q, C, La))``; lists shorter than the longest (``C``) are
            padded with all-False candidates.
        """
        max_len = self.config.max_text_len
        q_ids, q_mask = self.tokenizer.encode(list(questions), max_len)
        lists = [check_candidates(c) for c in candidates]
        num_c = max(len(c) for c in lists)
        flat = [text for c in lists for text in c]
        a_ids, a_mask = self.tokenizer.encode(flat, max_len)
        ids = torch.zeros(len(lists), num_c, a_ids.shape[1], dtype=torch.long)
        mask = torch.zeros(ids.shape, dtype=torch.bool)
        row = 0
        for i, c in enumerate(lists):
            ids[i, : len(c)] = a_ids[row : row + len(c)]
            mask[i, : len(c)] = a_mask[row : row + len(c)]
            row += len(c)
        return q_ids, q_mask, ids, mask

    @torch.inference_mode()
    def logits(
        self,
        vectors: np.ndarray,
        patches: np.ndarray | None,
        owner: np.ndarray,
        text: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    ) -> torch.Tensor:
        """Logits of N frame rows, row ``n`` answering question ``owner[n]`` of ``text``
        (from :meth:`encode_text`), in chunks of ``batch_size``.

        Returns:
            ``(N, C)`` float32 logits (``-inf`` for padded candidates).
        """
        q_ids, q_mask, a_ids, a_mask = (t.to(self.device) for t in text)
        out = []
        for start in range(0, len(vectors), self.batch_size):
            stop = start + self.batch_size
            idx = torch.as_tensor(owner[start:stop], device=self.device)
            v = torch.as_tensor(vectors[start:stop], dtype=torch.float32, device=self.device)
            p = None
            if patches is not None:
                p = torch.as_tensor(patches[start:stop], dtype=torch.float32, device=self.device)
            out.append(self.model(v, p, q_ids[idx], q_mask[idx], a_ids[idx], a_mask[idx]))
        if not out:
            return torch.zeros(0, a_ids.shape[1])
        return torch.cat(out).float().cpu()

    def answer_probs(
        self, frames: FrameSource, question: str, candidates: Sequence[str]
    ) -> np.ndarray:
        """Per-frame candidate probabilities (softmax of the logits).

        Args:
            frames: :class:`FrameFeatures` of K frames.

        Returns:
            ``(K, C)`` float32 rows summing to 1.

        Raises:
            UsageError: pixels instead of features, patches given/missing against the
                config, or bad candidates.
        """
        return self.answer_probs_many([frames], [question], [candidates])[0]

    def answer_probs_many(
        self,
        frames: Sequence[FrameSource],
        questions: Sequence[str],
        candidates: Sequence[Sequence[str]],
    ) -> list[np.ndarray]:
        """:meth:`answer_probs` of Q questions in shared forward passes (all their frames
        stacked, ``batch_size`` rows at a time).

        Returns:
            Q arrays ``(K_q, C_q)`` float32 with rows summing to 1.

        Raises:
            UsageError: sequences of different lengths, or as :meth:`answer_probs`.
        """
        if not len(frames) == len(questions) == len(candidates):
            raise UsageError("frames, questions and candidates differ in length")
        if not frames:
            return []
        feats = [frame_features(f) for f in frames]
        counts = [len(f) for f in feats]
        owner = np.repeat(np.arange(len(feats)), counts)
        vectors = np.concatenate([f.vectors for f in feats])
        has = [f.patches is not None for f in feats]
        if any(has) and not all(has):
            raise UsageError("either every frame set carries patch tokens or none does")
        patches = np.concatenate([f.patches for f in feats]) if all(has) else None
        logits = self.logits(vectors, patches, owner, self.encode_text(questions, candidates))
        probs = torch.softmax(logits.double(), dim=-1).float().numpy()
        out, start = [], 0
        for count, c in zip(counts, candidates, strict=True):
            out.append(np.ascontiguousarray(probs[start : start + count, : len(c)]))
            start += count
        return out

    # ---- checkpoints: the extension point of PretrainedMixin ----------------------------
    def state_dict(self) -> dict[str, torch.Tensor]:
        """The network's state dict (what ``model.safetensors`` holds)."""
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor], strict: bool = True) -> None:
        """Copy ``state`` into the network (see ``nn.Module.load_state_dict``)."""
        self.model.load_state_dict(state, strict=strict)

    def save_extra_parts(self, directory: Path) -> None:
        """Write the word tokenizer as ``tokenizer.json``."""
        self.tokenizer.save(directory / TOKENIZER_FILE)

    @classmethod
    def build_for_loading(
        cls,
        config: FeatureTeacherConfig,
        directory: Path,
        *,
        batch_size: int = 1024,
        device: str | torch.device = "cpu",
    ) -> FeatureTeacher:
        """A teacher named ``"feature:<directory>"`` around a new network for ``config``
        and the saved ``tokenizer.json``.

        Raises:
            CheckpointError: an unreadable ``tokenizer.json``.
        """
        try:
            tokenizer = WordTokenizer.load(directory / TOKENIZER_FILE)
        except DataFormatError as err:
            raise CheckpointError(str(err), model=str(directory)) from None
        return cls(
            FeatureTeacherModel(config),
            tokenizer,
            name=f"feature:{directory}",
            batch_size=batch_size,
            device=device,
        )


def features_of(frames: np.ndarray, patches: np.ndarray | None = None) -> FrameFeatures:
    """:class:`FrameFeatures` of ``(K, D)`` vectors and optional ``(K, P, Dp)`` patches."""
    return FrameFeatures(
        vectors=np.asarray(frames, np.float32),
        patches=None if patches is None else np.asarray(patches, np.float32),
    )
