"""Typed configuration of MCG (Yu et al., "Multi-granularity Contrastive Cross-modal
Collaborative Generation for End-to-End Long-term Video Question Answering",
arXiv:2410.09379): the sizes of the Intra-Video Module (a TimeSformer), the
Intra-Question Module (a BERT encoder), the fusion and the answer decoder, the shared
contrastive space, the sampling and the decoding settings.

The released code (OpenMICG/mcg) uses ViT-B/16 TimeSformer (768 wide, 12 divided
space-time blocks, 224 px, 16 frames for QA, 4 for pre-training), BERT-base text and
decoder towers, a 256-d contrastive space, beam 3 and at most 10 answer tokens; the
defaults below are that shape at a small width, and the shipped YAMLs name both.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VideoSettings(_Frozen):
    """The Intra-Video Module: a ``transformers`` ``TimesformerModel``.

    Attributes:
        hidden_size, num_layers, num_heads, intermediate_size: transformer size.
        image_size: frame side S in pixels (frames are resized to S×S).
        patch_size: patch side in pixels (S must be a multiple).
        num_frames: length of the learned time embedding (other frame counts are
            interpolated, ``TimesformerEmbeddings``).
        attention_type: ``divided_space_time`` (TimeSformer: temporal attention per
            patch position, then spatial attention per frame — MCG's choice) or
            ``joint_space_time`` (one attention over all T·P tokens; for comparison).
        dropout: hidden and attention dropout.
        pretrained: hub id or folder of a TimeSformer checkpoint the sizes were read
            from (recorded for provenance; the weights live in ``model.safetensors``).
    """

    hidden_size: int = Field(64, gt=0)
    num_layers: int = Field(2, gt=0)
    num_heads: int = Field(4, gt=0)
    intermediate_size: int = Field(128, gt=0)
    image_size: int = Field(32, gt=0)
    patch_size: int = Field(8, gt=0)
    num_frames: int = Field(8, gt=0)
    attention_type: Literal["divided_space_time", "joint_space_time"] = "divided_space_time"
    dropout: float = Field(0.0, ge=0, lt=1)
    pretrained: str | None = None

    @model_validator(mode="after")
    def _check(self) -> VideoSettings:
        if self.image_size % self.patch_size:
            raise ValueError("image_size must be a multiple of patch_size")
        if self.hidden_size % self.num_heads:
            raise ValueError("video hidden_size must be a multiple of num_heads")
        return self

    @property
    def patches_per_side(self) -> int:
        """Patches along one side of a frame (``image_size // patch_size``)."""
        return self.image_size // self.patch_size


class TextSettings(_Frozen):
    """A BERT tower (``transformers`` ``BertConfig``): the Intra-Question Module, the
    cross-attention fusion and the answer decoder share this width.

    Attributes:
        hidden_size, num_layers, num_heads, intermediate_size: encoder size.
        fusion_layers: cross-attention fusion blocks (question tokens attend to the
            video tokens).
        decoder_layers: layers of the autoregressive answer decoder (``BertLMHeadModel``
            with cross-attention to the fused states).
        max_positions: longest token sequence (question + extra text stream).
        dropout: hidden and attention dropout.
        pretrained: hub id or folder of the BERT checkpoint the question encoder was
            initialised from (provenance only).
    """

    hidden_size: int = Field(64, gt=0)
    num_layers: int = Field(2, gt=0)
    num_heads: int = Field(4, gt=0)
    intermediate_size: int = Field(128, gt=0)
    fusion_layers: int = Field(1, gt=0)
    decoder_layers: int = Field(2, gt=0)
    max_positions: int = Field(128, gt=0)
    dropout: float = Field(0.0, ge=0, lt=1)
    pretrained: str | None = None

    @model_validator(mode="after")
    def _check(self) -> TextSettings:
        if self.hidden_size % self.num_heads:
            raise ValueError("text hidden_size must be a multiple of num_heads")
        return self


class MCGConfig(_Frozen):
    """Everything an MCG checkpoint needs to be rebuilt.

    Attributes:
        vocab_size: the WordPiece tokenizer's vocabulary size (filled from it).
        video: :class:`VideoSettings`; text: :class:`TextSettings`.
        embed_dim: width of the shared contrastive space (256 in the paper, §3.3).
        temperature: initial learnable instance-level temperature (0.07, clamped to
            [0.001, 0.5] as in the released code).
        token_temperature: temperature of the token-level contrast (0.1).
        head: ``generative`` (MCG's Cross-modal Collaborative Generation, §3.4) or
            ``classifier`` (an answer-vocabulary head on the same encoders — the
            formulation MCG argues against, for the comparison).
        answers: the answer vocabulary of the ``classifier`` head (empty otherwise).
        num_beams, max_answer_tokens: beam search settings (3 and 10, as released).
        max_question_tokens: WordPiece tokens kept of the question (+ extra text).
        train_sampler, eval_sampler: frame samplers (``head-tail`` for training and
            ``uniform`` at evaluation, as the released configs).
        num_frames: frames sampled per video.
        trained_on: what the model was trained on (provenance, shown by ``ask``).
        text_stream: whether the model was trained with an extra text stream
            (subtitles / transcript as the question's second segment, MCG on TVQA); then
            ``ask`` feeds it what is said in the video (:mod:`videoqa.perception.speech`).
    """

    vocab_size: int = Field(gt=0)
    video: VideoSettings = Field(default_factory=VideoSettings)
    text: TextSettings = Field(default_factory=TextSettings)
    embed_dim: int = Field(256, gt=0)
    temperature: float = Field(0.07, gt=0)
    token_temperature: float = Field(0.1, gt=0)
    head: Literal["generative", "classifier"] = "generative"
    answers: list[str] = Field(default_factory=list)
    num_beams: int = Field(3, ge=1)
    max_answer_tokens: int = Field(10, ge=1)
    max_question_tokens: int = Field(40, ge=4)
    train_sampler: str = "head-tail"
    eval_sampler: str = "uniform"
    num_frames: int = Field(8, ge=1)
    trained_on: str | None = None
    text_stream: bool = False

    @model_validator(mode="after")
    def _check(self) -> MCGConfig:
        if self.head == "classifier" and len(self.answers) < 2:
            raise ValueError("the classifier head needs an answer vocabulary (answers)")
        return self


__all__ = ["MCGConfig", "TextSettings", "VideoSettings"]
