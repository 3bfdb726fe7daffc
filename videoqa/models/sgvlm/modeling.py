"""SGVLM: scene-graph tokens + a question-conditioned frame localizer + two Q-Formers
+ an LLM (Dai et al., "Towards Fine-Grained Video Question Answering", 2025, §3).

Forward path for a batch of questions (§3.2–3.4):

1. the frame localizer (UniVTG-style, :mod:`videoqa.models.sgvlm.localizer`) reads the
   frame vectors, the scene-graph tokens and the question, and scores every frame's
   saliency; the top ``num_selected_frames`` frames (in time order) go on, their tokens
   multiplied by a straight-through gate (value 1, gradient of the frame's saliency) so
   the answer loss reaches the localizer. Without the
   localizer (NoLoc), as many frames are spread uniformly over the video;
2. the frame Q-Former reads the selected frames' patch/region tokens and the
   scene-graph Q-Former their scene-graph tokens (each token plus a sinusoidal
   embedding of its frame time in seconds); each yields ``num_queries`` tokens projected
   to the LLM width;
3. the LLM reads ``[frame queries; SG queries; prompt]`` and either generates the answer
   (open-ended) or scores each candidate by its summed log-likelihood (multiple
   choice). Training minimises the answer's token cross-entropy plus, when the question
   has a ground-truth moment, the localizer's moment-retrieval loss.

The scene-graph predictor is frozen (stage 1) and runs outside the model: its tokens
come precomputed (:class:`~videoqa.perception.scene_graph.store.SceneGraphStore`) or
from ``videoqa ask``'s pipeline.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import torch
from torch import Tensor, nn
from transformers import PreTrainedTokenizerBase

from videoqa.errors import UsageError
from videoqa.losses.moment import LossWeights, localizer_loss, moment_targets
from videoqa.models.sgvlm.configuration import LocalizerSettings, SGVLMConfig
from videoqa.models.sgvlm.llm import apply_lora, load_llm
from videoqa.models.sgvlm.localizer import (
    FrameLocalizer,
    LocalizerConfig,
    LocalizerOutput,
    select_frames,
)
from videoqa.models.sgvlm.processing import SGVLMBatch, SGVLMProcessor
from videoqa.modules.qformer import QFormer, QFormerConfig
from videoqa.persistence import PretrainedMixin

#: folder of a checkpoint holding the LLM and its tokenizer.
LLM_DIR = "llm"
IGNORE = -100


def time_embedding(times: Tensor, dim: int, max_period: float = 100.0) -> Tensor:
    """Sinusoidal embedding of times in seconds (Vaswani et al., 2017, §3.5, with
    seconds for positions): ``(...,)`` → ``(..., dim)``; ``dim`` must be even.

    Raises:
        UsageError: ``dim`` is odd.
    """
    if dim % 2:
        raise UsageError("time embedding width must be even")
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(dim // 2, device=times.device) / (dim // 2)
    )
    angles = times[..., None].float() * freqs * 2 * math.pi
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def uniform_frames(frame_mask: Tensor, num: int) -> Tensor:
    """``(B, num)`` indices spread evenly over each row's visible frames (the NoLoc
    ablation's frames), in time order; rows with fewer visible frames repeat some."""
    count = frame_mask.sum(dim=1, keepdim=True).clamp(min=1).float()
    steps = torch.arange(num, device=frame_mask.device).float()
    rank = torch.round((steps + 0.5) * count / num - 0.5).clamp(min=0).long()
    order = torch.argsort((~frame_mask).float(), dim=1, stable=True)  # visible first
    return order.gather(1, torch.minimum(rank, count.long() - 1))


class TokenInput(nn.Module):
    """A Q-Former's input: ``LayerNorm(Linear(x)) + Linear(time_embedding(t))``.

    The layer norm keeps the content of each token on the same scale as the time code
    (a raw sinusoid would otherwise outweigh small projected features and make every
    token of a frame look alike to the cross-attention).

    Shapes: tokens ``(B, m, P, D)`` and times ``(B, m)`` seconds → ``(B, m, P, H)``.
    """

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.time = nn.Linear(hidden, hidden)
        self.hidden = hidden

    def forward(self, tokens: Tensor, times: Tensor) -> Tensor:
        time_code = self.time(time_embedding(times, self.hidden))
        return self.norm(self.proj(tokens)) + time_code[:, :, None]


@dataclass
class VisualPrefix:
    """The LLM's soft prompt for a batch.

    Attributes:
        embeds: ``(B, N, H_llm)`` frame then scene-graph query tokens.
        selected: ``(B, m)`` indices of the frames passed to the Q-Formers (time order).
        gate: ``(B, m)`` weight of each selected frame's tokens.
        localizer: the localizer's output, None without a localizer.
    """

    embeds: Tensor
    selected: Tensor
    gate: Tensor
    localizer: LocalizerOutput | None


@dataclass
class SGVLMLoss:
    """Loss terms of a batch: ``total = lm + mc_loss_weight · mc +
    localizer_loss_weight · localizer``."""

    total: Tensor
    lm: Tensor
    localizer: Tensor
    mc: Tensor


class SGVLM(PretrainedMixin, nn.Module):
    """The full model (LLM included).

    Checkpoints (:class:`~videoqa.persistence.PretrainedMixin`): ``config.json``
    (``model_type`` ``"sgvlm"``), ``model.safetensors`` (everything but the LLM) and
    ``llm/`` (the LLM with its tokenizer, LoRA merged); ``from_pretrained`` returns the
    model in eval mode and raises :class:`~videoqa.errors.CheckpointError` on a missing
    or mismatched checkpoint. Checkpoints written before ``model_type`` was recorded
    still load.

    Args:
        config: sizes and switches (``vocab_size``/``llm_dim`` must match the LLM).
        llm: a ``transformers`` causal LM (or a peft model wrapping one).
        tokenizer: its tokenizer.

    Raises:
        UsageError: the config does not match the LLM.
    """

    model_type = "sgvlm"
    config_class = SGVLMConfig
    extra_parts = (LLM_DIR,)
    external_prefixes = ("llm.",)
    untyped_legacy = True

    def __init__(
        self, config: SGVLMConfig, llm: nn.Module, tokenizer: PreTrainedTokenizerBase
    ) -> None:
        super().__init__()
        width = llm.get_input_embeddings().weight.shape[1]
        if width != config.llm_dim:
            raise UsageError(f"config.llm_dim={config.llm_dim} but the LLM is {width} wide")
        self.config = config
        self.llm = llm
        self.processor = SGVLMProcessor(
            tokenizer, config.prompt_template, config.max_question_tokens, config.max_answer_tokens
        )
        self.localizer = FrameLocalizer(self._localizer_config()) if config.use_localizer else None
        q = config.qformer
        self.frame_in = TokenInput(config.patch_dim or config.frame_dim, q.hidden_size)
        self.frame_qformer = QFormer(self._qformer_config())
        self.sg_in = TokenInput(config.sg_dim, q.hidden_size) if config.use_scene_graph else None
        self.sg_qformer = QFormer(self._qformer_config()) if config.use_scene_graph else None
        self.question_in = nn.Linear(config.llm_dim, q.hidden_size) if q.question_aware else None

    def _localizer_config(self) -> LocalizerConfig:
        c, loc = self.config, self.config.localizer
        return LocalizerConfig(
            frame_dim=c.frame_dim,
            sg_dim=c.sg_dim if c.use_scene_graph else None,
            vocab_size=c.vocab_size,
            hidden_size=loc.hidden_size,
            num_heads=loc.num_heads,
            num_layers=loc.num_layers,
            temporal_layers=loc.temporal_layers,
            max_frames=c.max_frames,
            max_text_len=c.max_question_tokens,
            max_sg_tokens=c.max_sg_tokens,
            attention_mask=c.attention_mask,
            dropout=loc.dropout,
        )

    def _qformer_config(self) -> QFormerConfig:
        q = self.config.qformer
        return QFormerConfig(
            input_dim=q.hidden_size,
            output_dim=self.config.llm_dim,
            hidden_size=q.hidden_size,
            num_layers=q.num_layers,
            num_heads=q.num_heads,
            intermediate_size=q.intermediate_size,
            num_queries=q.num_queries,
            dropout=q.dropout,
            text_input=q.question_aware,
        )

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The LLM's tokenizer."""
        return self.processor.tokenizer

    # ---- visual prefix ---------------------------------------------------------------
    def localize(self, batch: SGVLMBatch) -> LocalizerOutput:
        """Run the localizer on ``batch``.

        Raises:
            UsageError: the model has no localizer (NoLoc).
        """
        if self.localizer is None:
            raise UsageError("this SGVLM has no localizer (use_localizer=False)")
        use_sg = self.config.use_scene_graph and batch.sg_tokens is not None
        return self.localizer(
            batch.frames,
            batch.frame_mask,
            batch.question_ids,
            batch.question_mask,
            batch.sg_tokens if use_sg else None,
            batch.sg_mask if use_sg else None,
            batch.times,
        )

    def visual_prefix(self, batch: SGVLMBatch) -> VisualPrefix:
        """Localize, select frames and run the two Q-Formers (see the module doc).

        Raises:
            UsageError: scene-graph tokens are missing and the model uses them.
        """
        num = min(self.config.num_selected_frames, batch.frames.shape[1])
        out = None
        if self.localizer is not None:
            out = self.localize(batch)
            selected = select_frames(out.saliency, batch.frame_mask, num)
            chosen = out.saliency.gather(1, selected)
            chosen = chosen.masked_fill(~batch.frame_mask.gather(1, selected), 0.0)
            gate = 1.0 + chosen - chosen.detach()  # value 1, gradient to the saliency
        else:
            selected = uniform_frames(batch.frame_mask, num)
            gate = torch.ones(selected.shape, device=selected.device)
        sel_mask = batch.frame_mask.gather(1, selected)
        sel_times = batch.times.gather(1, selected)
        text = self._question_text(batch)
        parts = [self._frame_queries(batch, selected, gate, sel_mask, sel_times, text)]
        if self.sg_qformer is not None:
            if batch.sg_tokens is None or batch.sg_mask is None:
                raise UsageError("this SGVLM reads scene-graph tokens; the batch has none")
            parts.append(self._sg_queries(batch, selected, gate, sel_mask, sel_times, text))
        return VisualPrefix(torch.cat(parts, dim=1), selected, gate, out)

    def _stream(self, tokens: Tensor, proj: TokenInput, gate: Tensor, times: Tensor) -> Tensor:
        """``(B, m, P, D)`` → projected, time-embedded, gated ``(B, m·P, H)``."""
        x = proj(tokens, times) * gate[:, :, None, None]
        return x.flatten(1, 2)

    def _question_text(self, batch: SGVLMBatch) -> dict:
        """Keyword arguments giving an instruction-aware Q-Former the question: the
        LLM's embeddings of its tokens, projected to the Q-Former width."""
        if self.question_in is None:
            return {}
        embeds = self.llm.get_input_embeddings()(batch.question_ids)
        return {"text": self.question_in(embeds), "text_mask": batch.question_mask}

    def _frame_queries(self, batch, selected, gate, sel_mask, sel_times, text) -> Tensor:
        if self.config.patch_dim is not None:
            if batch.patches is None:
                raise UsageError("this SGVLM reads patch tokens; the batch has none")
            src = batch.patches
        else:
            src = batch.frames[:, :, None]
        idx = selected[:, :, None, None].expand(-1, -1, src.shape[2], src.shape[3])
        tokens = self._stream(src.gather(1, idx), self.frame_in, gate, sel_times)
        mask = sel_mask[:, :, None].expand(-1, -1, src.shape[2]).flatten(1)
        return self.frame_qformer(tokens, mask, **text)

    def _sg_queries(self, batch, selected, gate, sel_mask, sel_times, text) -> Tensor:
        sg, sg_mask = batch.sg_tokens, batch.sg_mask
        idx = selected[:, :, None, None].expand(-1, -1, sg.shape[2], sg.shape[3])
        tokens = self._stream(sg.gather(1, idx), self.sg_in, gate, sel_times)
        mask = sg_mask.gather(1, selected[:, :, None].expand(-1, -1, sg.shape[2]))
        mask = (mask & sel_mask[:, :, None]).flatten(1)
        return self.sg_qformer(tokens, mask, **text)

    # ---- LLM sequences ---------------------------------------------------------------
    def _sequences(
        self, prefix: Tensor, rows: Tensor, prompts: list[list[int]], answers: list[list[int]]
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, int]:
        """Lay out ``R`` sequences ``[pad][prefix][prompt][answer][pad]``.

        Args:
            prefix: ``(B, N, H)`` soft tokens; ``rows`` ``(R,)`` picks each sequence's.
            prompts, answers: R token-id lists (answers may be empty for generation).

        Returns:
            inputs_embeds ``(R, S, H)``, attention mask ``(R, S)``, position ids
            ``(R, S)``, labels ``(R, S)`` (answer ids, else -100), and the column where
            answers start.
        """
        n, pad = prefix.shape[1], self.tokenizer.pad_token_id
        left = n + max(len(p) for p in prompts)
        width = left + max((len(a) for a in answers), default=0)
        count, device = len(prompts), prefix.device
        ids = torch.full((count, width), pad, dtype=torch.long)
        mask = torch.zeros((count, width), dtype=torch.long)
        labels = torch.full((count, width), IGNORE, dtype=torch.long)
        starts = torch.empty(count, dtype=torch.long)
        for r, (prompt, answer) in enumerate(zip(prompts, answers, strict=True)):
            ids[r, left - len(prompt) : left] = torch.tensor(prompt)
            mask[r, left - len(prompt) - n : left + len(answer)] = 1
            starts[r] = left - len(prompt) - n
            if answer:
                ids[r, left : left + len(answer)] = torch.tensor(answer)
                labels[r, left : left + len(answer)] = torch.tensor(answer)
        ids, mask, labels = ids.to(device), mask.to(device), labels.to(device)
        embeds = self.llm.get_input_embeddings()(ids)
        cols = starts.to(device)[:, None] + torch.arange(n, device=device)
        embeds = embeds.scatter(
            1, cols[..., None].expand(-1, -1, embeds.shape[2]), prefix[rows].to(embeds.dtype)
        )
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        return embeds, mask, positions, labels, left

    def _answer_logprobs(
        self, prefix: Tensor, rows: Tensor, prompts: list[list[int]], answers: list[list[int]]
    ) -> tuple[Tensor, Tensor]:
        """Per sequence: summed log-probability of its answer tokens and their count."""
        embeds, mask, positions, labels, left = self._sequences(prefix, rows, prompts, answers)
        keep = embeds.shape[1] - left + 1
        logits = self.llm(
            inputs_embeds=embeds, attention_mask=mask, position_ids=positions, logits_to_keep=keep
        ).logits[:, :-1]
        target = labels[:, left:]
        logp = torch.log_softmax(logits.float(), dim=-1)
        picked = logp.gather(2, target.clamp(min=0)[..., None])[..., 0]
        valid = target != IGNORE
        return (picked * valid).sum(dim=1), valid.sum(dim=1)

    def loss(
        self,
        batch: SGVLMBatch,
        answers: list[str],
        candidates: list[list[str]] | None = None,
        answer_index: Tensor | None = None,
    ) -> SGVLMLoss:
        """Training loss of a batch.

        ``lm``: token cross-entropy of ``answers`` (mean over answer tokens, EOS
        included) — SGVLM's generative objective. ``mc`` (when ``mc_loss_weight > 0``
        and ``candidates`` with ``answer_index`` ``(B,)`` are given): cross-entropy of the
        correct candidate among the C candidates' summed log-likelihoods — the same
        scores multiple choice is answered with; all B·C sequences go through the LLM in
        one pass and the LM term reuses the correct ones. ``localizer``: the UniVTG loss
        on questions with an interval.

        Raises:
            UsageError: ``candidates`` without ``answer_index`` or of another length.
        """
        prefix = self.visual_prefix(batch)
        device = prefix.embeds.device
        mc = prefix.embeds.new_zeros(())
        if self.config.mc_loss_weight > 0 and candidates is not None:
            if answer_index is None or len(candidates) != batch.batch_size:
                raise UsageError("candidates need one answer_index per question")
            rows = [b for b, cands in enumerate(candidates) for _ in cands]
            ids = [self.processor.answer(c) for cands in candidates for c in cands]
            prompts = [batch.prompts[b] for b in rows]
            logp, count = self._answer_logprobs(
                prefix.embeds, torch.tensor(rows, device=device), prompts, ids
            )
            width = len(candidates[0])
            logp, count = logp.view(-1, width), count.view(-1, width)
            answer_index = answer_index.to(device)
            mc = torch.nn.functional.cross_entropy(logp, answer_index)
            pick = answer_index[:, None]
            lm = -logp.gather(1, pick).sum() / count.gather(1, pick).sum().clamp(min=1)
        else:
            ids = [self.processor.answer(a) for a in answers]
            rows_t = torch.arange(batch.batch_size, device=device)
            logp, count = self._answer_logprobs(prefix.embeds, rows_t, batch.prompts, ids)
            lm = -logp.sum() / count.sum().clamp(min=1)
        loc = lm.new_zeros(())
        if prefix.localizer is not None and batch.intervals is not None:
            loc = self._localizer_loss(prefix.localizer, batch)
        total = lm + self.config.mc_loss_weight * mc + self.config.localizer_loss_weight * loc
        return SGVLMLoss(total, lm, loc, mc)

    def _localizer_loss(self, out: LocalizerOutput, batch: SGVLMBatch) -> Tensor:
        """UniVTG loss (:func:`videoqa.losses.moment.localizer_loss`) on the questions
        of the batch that have a ground-truth interval."""
        has = ~torch.isnan(batch.intervals).any(dim=1)
        if not bool(has.any()) or batch.video_index is None:
            return out.saliency.new_zeros(())
        rows = torch.nonzero(has).flatten()
        sub = LocalizerOutput(**{f.name: getattr(out, f.name)[rows] for f in fields(out)})
        targets = moment_targets(
            batch.intervals[rows], batch.times[rows], batch.frame_mask[rows], batch.clip_length
        )
        return localizer_loss(sub, targets, batch.video_index[rows], LossWeights()).total

    @torch.inference_mode()
    def score_candidates(self, batch: SGVLMBatch, candidates: list[list[str]]) -> Tensor:
        """Multiple choice by likelihood: ``(B, C)`` summed log-probability of each
        candidate answer (EOS included) given the video and question."""
        prefix = self.visual_prefix(batch)
        rows, prompts, answers = [], [], []
        for b, cands in enumerate(candidates):
            for cand in cands:
                rows.append(b)
                prompts.append(batch.prompts[b])
                answers.append(self.processor.answer(cand))
        index = torch.tensor(rows, device=prefix.embeds.device)
        logp, _ = self._answer_logprobs(prefix.embeds, index, prompts, answers)
        return logp.view(batch.batch_size, -1)

    def loglikelihood(self, batch: SGVLMBatch, candidates: Sequence[Sequence[str]]) -> Tensor:
        """The generative contract's multiple-choice call
        (:class:`~videoqa.models.contract.GenerativeQA`): ``(B, C)`` summed
        log-probabilities of the ``C`` candidates of each of the ``B`` questions, as
        :meth:`score_candidates`."""
        return self.score_candidates(batch, [list(c) for c in candidates])

    @torch.inference_mode()
    def generate(self, batch: SGVLMBatch, max_new_tokens: int | None = None) -> list[str]:
        """Open-ended answers by greedy decoding (``transformers`` ``generate``)."""
        prefix = self.visual_prefix(batch)
        rows = torch.arange(batch.batch_size, device=prefix.embeds.device)
        embeds, mask, _, _, _ = self._sequences(
            prefix.embeds, rows, batch.prompts, [[] for _ in batch.prompts]
        )
        out = self.llm.generate(
            inputs_embeds=embeds,
            attention_mask=mask,
            max_new_tokens=max_new_tokens or self.config.max_answer_tokens + 1,
            do_sample=False,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
        )
        return [self.processor.decode(row.tolist()) for row in out]

    # ---- checkpoints: the extension point of PretrainedMixin ----------------------------
    def save_extra_parts(self, directory: Path) -> None:
        """Write the LLM and its tokenizer under ``llm/`` (``transformers``
        ``save_pretrained``: safetensors + JSON), LoRA adapters merged into a copy."""
        llm = self.llm
        if hasattr(llm, "merge_and_unload"):
            llm = copy.deepcopy(llm).merge_and_unload()
        llm.save_pretrained(directory / LLM_DIR)
        self.tokenizer.save_pretrained(directory / LLM_DIR)

    @classmethod
    def build_for_loading(cls, config: SGVLMConfig, directory: Path, **options: object) -> SGVLM:
        """The model around the LLM and tokenizer saved in ``directory / "llm"``.

        Raises:
            CheckpointError: the LLM cannot be loaded.
            UsageError: loading options were given (there are none).
        """
        if options:
            raise UsageError(f"SGVLM takes no loading options, got {sorted(options)}")
        llm, tokenizer = load_llm(directory / LLM_DIR)
        return cls(config, llm, tokenizer)

def build_sgvlm(fields: dict, llm: str | Path, localizer_dir: Path | None = None) -> SGVLM:
    """Assemble a model for end-to-end fine-tuning (stage 3): load the LLM by hub id or
    directory, fill ``vocab_size``/``llm_dim`` from it, apply LoRA or freeze it as
    ``llm_training`` says, and load the stage-2 localizer weights when given.

    The localizer's sizes (width, depth, ``max_frames``, question length, K) follow the
    pretrained localizer when one is given.

    Raises:
        ModelUnavailableError: the LLM or the localizer cannot be loaded.
        UsageError: the pretrained localizer does not fit the config (input widths,
            vocabulary).
    """
    model, tokenizer = load_llm(llm)
    fields = dict(fields)
    fields.setdefault("vocab_size", len(tokenizer))
    fields.setdefault("llm_dim", int(model.get_input_embeddings().weight.shape[1]))
    pretrained = None
    if localizer_dir is not None and fields.get("use_localizer", True):
        pretrained = FrameLocalizer.from_pretrained(Path(localizer_dir))
        fields.update(_localizer_fields(pretrained.config))
    config = SGVLMConfig.model_validate(fields)
    if config.llm_training == "lora":
        model = apply_lora(model, config.lora)
    elif config.llm_training == "frozen":
        model.requires_grad_(False)
    sgvlm = SGVLM(config, model, tokenizer)
    if pretrained is not None and sgvlm.localizer is not None:
        try:
            sgvlm.localizer.load_state_dict(pretrained.state_dict())
        except RuntimeError as exc:
            raise UsageError(f"the localizer in {localizer_dir} does not fit: {exc}") from exc
    return sgvlm


def _localizer_fields(cfg: LocalizerConfig) -> dict:
    """SGVLM config fields that must follow a pretrained localizer's sizes."""
    return {
        "localizer": LocalizerSettings(
            hidden_size=cfg.hidden_size,
            num_heads=cfg.num_heads,
            num_layers=cfg.num_layers,
            temporal_layers=cfg.temporal_layers,
            dropout=cfg.dropout,
        ),
        "max_frames": cfg.max_frames,
        "max_question_tokens": cfg.max_text_len,
        "max_sg_tokens": cfg.max_sg_tokens,
    }
