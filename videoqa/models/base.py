"""Typed inputs/outputs and the base class of the multiple-choice VideoQA backbones.

Every backbone in :mod:`videoqa.models` (HGA, VGT, the transformer baseline) maps one
:class:`QABatch` — frame features, question word ids and the word ids of C candidate
answers — to a :class:`QAOutput` with one score per candidate and the model's attention
over frames. Checkpoints are folders holding ``config.json`` (``model_type`` and the
config fields) and ``model.safetensors``, written and read by
:class:`~videoqa.persistence.PretrainedMixin`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from videoqa.errors import UsageError
from videoqa.persistence import PretrainedMixin


@dataclass
class QABatch:
    """A batch of multiple-choice questions about videos.

    Attributes:
        video: ``(B, T, D)`` float frame features.
        video_mask: ``(B, T)`` bool, True = visible frame; every row has at least one True.
        question: ``(B, L)`` long word ids (0 = pad), from :class:`~videoqa.models.text.WordTokenizer`.
        question_mask: ``(B, L)`` bool, True = word.
        candidates: ``(B, C, La)`` long word ids of each candidate answer.
        candidates_mask: ``(B, C, La)`` bool.
        patches: optional ``(B, T, P, Dp)`` region/patch tokens of each frame.

    Raises:
        UsageError: on construction, when shapes or dtypes disagree or a row of
            ``video_mask`` has no visible frame.
    """

    video: torch.Tensor
    video_mask: torch.Tensor
    question: torch.Tensor
    question_mask: torch.Tensor
    candidates: torch.Tensor
    candidates_mask: torch.Tensor
    patches: torch.Tensor | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check shapes, dtypes and the at-least-one-visible-frame rule.

        Raises:
            UsageError: describing the first inconsistency found.
        """
        if self.video.dim() != 3:
            raise UsageError(f"video must be (B, T, D), got {tuple(self.video.shape)}")
        b, t, _ = self.video.shape
        _expect(self.video_mask, (b, t), torch.bool, "video_mask")
        if self.question.dim() != 2 or self.question.shape[0] != b:
            raise UsageError(f"question must be ({b}, L), got {tuple(self.question.shape)}")
        _expect(self.question_mask, tuple(self.question.shape), torch.bool, "question_mask")
        if self.candidates.dim() != 3 or self.candidates.shape[0] != b:
            raise UsageError(f"candidates must be ({b}, C, La), got {tuple(self.candidates.shape)}")
        _expect(self.candidates_mask, tuple(self.candidates.shape), torch.bool, "candidates_mask")
        if self.question.dtype != torch.long or self.candidates.dtype != torch.long:
            raise UsageError("question and candidates must be long word ids")
        if self.patches is not None and (
            self.patches.dim() != 4 or self.patches.shape[:2] != (b, t)
        ):
            raise UsageError(f"patches must be ({b}, {t}, P, Dp), got {tuple(self.patches.shape)}")
        if b and not bool(self.video_mask.any(dim=1).all()):
            raise UsageError("every row of video_mask needs at least one visible frame")

    @property
    def batch_size(self) -> int:
        """B."""
        return self.video.shape[0]

    @property
    def num_frames(self) -> int:
        """T."""
        return self.video.shape[1]

    @property
    def num_candidates(self) -> int:
        """C."""
        return self.candidates.shape[1]

    def to(self, device: torch.device | str) -> QABatch:
        """The same batch with every tensor on ``device``."""
        moved = {
            f.name: None if getattr(self, f.name) is None else getattr(self, f.name).to(device)
            for f in fields(self)
        }
        return QABatch(**moved)

    def index(self, idx: torch.Tensor) -> QABatch:
        """The rows ``idx`` (a ``(K,)`` long index or ``(B,)`` bool mask) of every tensor."""
        picked = {
            f.name: None if getattr(self, f.name) is None else getattr(self, f.name)[idx]
            for f in fields(self)
        }
        return QABatch(**picked)

    def with_video(self, video: torch.Tensor, video_mask: torch.Tensor) -> QABatch:
        """The same questions over other frames: ``video`` ``(B, T', D)``, ``video_mask``
        ``(B, T')``. ``patches`` are kept when T' equals T, dropped otherwise.

        Raises:
            UsageError: inconsistent shapes or a row with no visible frame.
        """
        keep = self.patches is not None and video.shape[:2] == self.patches.shape[:2]
        return replace(
            self, video=video, video_mask=video_mask, patches=self.patches if keep else None
        )


def _expect(tensor: torch.Tensor, shape: tuple[int, ...], dtype: torch.dtype, name: str) -> None:
    if tuple(tensor.shape) != tuple(shape) or tensor.dtype != dtype:
        raise UsageError(
            f"{name} must be {dtype} of shape {shape}, got {tensor.dtype} {tuple(tensor.shape)}"
        )


@dataclass
class QAOutput:
    """What a backbone returns.

    Attributes:
        logits: ``(B, C)`` one unnormalised score per candidate.
        frame_weights: ``(B, T)`` the model's attention over frames, ``>= 0``, summing to 1
            over the visible frames and 0 on hidden ones (the answer's temporal evidence);
            None for a model without one.
    """

    logits: torch.Tensor
    frame_weights: torch.Tensor | None = None


class VideoQAConfig(BaseModel):
    """Fields shared by every backbone config (subclasses add their own).

    Attributes:
        feature_dim: D of the frame features.
        vocab_size: rows of the word embedding (``WordTokenizer.vocab_size``).
        hidden_size: width of the model.
        num_heads: attention heads (``hidden_size`` must be divisible by it).
        num_layers: depth of the main stack (each model says which).
        dropout: dropout probability in training.
        max_frames: most frames T a batch may have (size of learned temporal positions).
        max_text_len: most words per question/candidate (size of learned positions).
        patch_dim: Dp of ``QABatch.patches`` for models that use them, else None.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    feature_dim: int = Field(gt=0)
    vocab_size: int = Field(gt=4)
    hidden_size: int = Field(256, gt=0)
    num_heads: int = Field(4, gt=0)
    num_layers: int = Field(2, ge=0)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    max_frames: int = Field(64, gt=0)
    max_text_len: int = Field(32, gt=0)
    patch_dim: int | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _heads_divide_width(self) -> VideoQAConfig:
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} not divisible by num_heads {self.num_heads}"
            )
        return self


class VideoQAModel(PretrainedMixin, nn.Module):
    """Base class: a config, ``forward(QABatch) -> QAOutput``, and checkpoints.

    Subclasses set ``config_class`` and ``model_type`` (the registry name; defining it
    registers the class in :data:`videoqa.persistence.PERSISTED`) and are decorated with
    :func:`~videoqa.models.registry.register_model` (:data:`~videoqa.models.registry.MODELS`,
    the backbones :func:`~videoqa.models.registry.build_model` can build).

    ``save_pretrained(directory)`` / ``from_pretrained(directory or hub id)`` come from
    :class:`~videoqa.persistence.PretrainedMixin`; ``VideoQAModel.from_pretrained``
    itself loads whichever backbone the checkpoint names. Loading raises
    :class:`~videoqa.errors.CheckpointError` (missing files, another ``model_type``,
    an invalid config, weights that do not match it).
    """

    config_class: ClassVar[type[VideoQAConfig]] = VideoQAConfig
    model_type: ClassVar[str] = ""

    def __init__(self, config: VideoQAConfig) -> None:
        super().__init__()
        if not isinstance(config, self.config_class):
            raise UsageError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}"
            )
        self.config = config

    def forward(self, batch: QABatch) -> QAOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_batch(self, batch: QABatch) -> None:
        """Raise :class:`UsageError` when ``batch`` does not fit this config (feature dim,
        frame/text lengths)."""
        cfg = self.config
        if batch.video.shape[-1] != cfg.feature_dim:
            raise UsageError(
                f"video features have dim {batch.video.shape[-1]}, model expects {cfg.feature_dim}"
            )
        if batch.num_frames > cfg.max_frames:
            raise UsageError(f"{batch.num_frames} frames exceed max_frames={cfg.max_frames}")
        if max(batch.question.shape[1], batch.candidates.shape[2]) > cfg.max_text_len:
            raise UsageError(f"text longer than max_text_len={cfg.max_text_len}")

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

