"""Typed configuration of SGVLM (Dai et al., "Towards Fine-Grained Video Question
Answering", 2025): sizes of the localizer and the two Q-Formers, how the LLM trains,
and the paper's ablation switches (§4.4: without scene graphs, without the localizer,
without the localizer's attention mask).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from videoqa.models.sgvlm.llm import LoraSettings

#: width of one scene-graph token (see ``videoqa.perception.scene_graph.store``).
SG_TOKEN_DIM = 53


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalizerSettings(_Frozen):
    """Size of the frame localizer (UniVTG-style, §3.3); its input widths come from
    :class:`SGVLMConfig`."""

    hidden_size: int = Field(128, gt=0)
    num_heads: int = Field(4, gt=0)
    num_layers: int = Field(2, gt=0)
    temporal_layers: int = Field(2, ge=0)
    dropout: float = Field(0.1, ge=0, lt=1)


class QFormerSettings(_Frozen):
    """Size of each of the two Q-Formers (BLIP-2, §3.1); ``question_aware`` feeds the
    question to their self-attention (InstructBLIP's instruction-aware Q-Former)."""

    hidden_size: int = Field(128, gt=0)
    num_layers: int = Field(2, gt=0)
    num_heads: int = Field(4, gt=0)
    intermediate_size: int = Field(256, gt=0)
    num_queries: int = Field(16, gt=0)
    dropout: float = Field(0.1, ge=0, lt=1)
    question_aware: bool = False


class SGVLMConfig(_Frozen):
    """Everything that shapes an SGVLM model (saved as ``config.json``).

    Attributes:
        frame_dim: D of the frame vectors ``(T, D)`` the localizer reads.
        patch_dim: Dp of the per-frame patch/region tokens ``(T, P, Dp)`` the frame
            Q-Former reads; None = it reads the frame vectors (one token per frame).
        sg_dim: width of a scene-graph token (53).
        max_sg_tokens: K, scene-graph tokens per frame.
        vocab_size: the LLM tokenizer's size (the localizer embeds question ids).
        llm_dim: the LLM's input embedding width (projection target).
        max_frames: most frames T per video.
        num_selected_frames: frames passed to the Q-Formers: the localizer's top
            frames by saliency; without the localizer, as many uniformly spread frames.
        use_scene_graph: False = the paper's NoSG ablation (no SG tokens anywhere).
        use_localizer: False = NoLoc (uniform frames, no localizer).
        attention_mask: False = the localizer without its attention mask.
        llm_training: ``full`` (a randomly initialised LLM), ``lora`` (adapters on a
            pretrained LLM via peft) or ``frozen``.
        localizer_loss_weight: weight of the moment-retrieval loss kept during
            end-to-end fine-tuning (questions with a ground-truth interval only).
        mc_loss_weight: weight of a candidate-ranking cross-entropy over the choices'
            log-likelihoods, added to the generative answer loss (0 = the paper's
            generative objective alone).
        max_question_tokens, max_answer_tokens: truncation of the prompt and answers.
        prompt_template: the text after the query tokens; ``{question}`` is replaced.
        frame_encoder: how the frame features were made (an ``extract --encoder`` spec
            such as ``cnn:DIR``, or ``scene-graph-oracle``), for ``videoqa ask``.
        scene_graph_predictor: directory of the frozen scene-graph predictor, or None.
        num_frames: frames per video in training (``ask`` samples as many), or None.
        trained_on: what the model was fine-tuned on (``dataset:folder``), or None.
    """

    frame_dim: int = Field(gt=0)
    patch_dim: int | None = Field(None, gt=0)
    sg_dim: int = Field(SG_TOKEN_DIM, gt=0)
    max_sg_tokens: int = Field(8, gt=0)
    vocab_size: int = Field(gt=4)
    llm_dim: int = Field(gt=0)
    max_frames: int = Field(64, gt=0)
    num_selected_frames: int = Field(6, gt=0)
    use_scene_graph: bool = True
    use_localizer: bool = True
    attention_mask: bool = True
    localizer: LocalizerSettings = LocalizerSettings()
    qformer: QFormerSettings = QFormerSettings()
    llm_training: Literal["full", "lora", "frozen"] = "full"
    lora: LoraSettings = LoraSettings()
    localizer_loss_weight: float = Field(1.0, ge=0)
    mc_loss_weight: float = Field(0.0, ge=0)
    max_question_tokens: int = Field(40, gt=0)
    max_answer_tokens: int = Field(10, gt=0)
    prompt_template: str = "question : {question} answer :"
    frame_encoder: str = "unknown"
    scene_graph_predictor: str | None = None
    num_frames: int | None = Field(None, gt=0)
    trained_on: str | None = None
