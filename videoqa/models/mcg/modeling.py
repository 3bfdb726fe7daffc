"""MCG: Joint Unimodal Modeling + Multi-granularity Contrastive Learning + Cross-modal
Collaborative Generation (Yu et al., "Multi-granularity Contrastive Cross-modal
Collaborative Generation for End-to-End Long-term Video Question Answering",
arXiv:2410.09379, §3; released code OpenMICG/mcg).

* **Intra-Video Module** (§3.2): a ``transformers`` ``TimesformerModel`` (divided
  space-time attention: temporal attention across the frames at each patch position,
  then spatial attention within each frame) over ``T`` head-tail sampled frames gives a
  CLS token and ``T·P`` patch tokens. The learned time embedding is interpolated when
  ``T`` differs from the one it was trained with. A real TimeSformer checkpoint (hub
  id or folder) loads through :func:`build_mcg` (``video_backbone=``).
* **Intra-Question Module** (§3.2): a ``transformers`` ``BertModel``; its WordPiece
  pieces are summed back into words and each word is weighted by the last layer's CLS
  attention (summed over its pieces) — the instance level is the CLS token, the token
  level the words.
* **Multi-granularity Contrastive Learning** (§3.3): both are projected to a shared
  256-d, L2-normalised space; instance-level InfoNCE (CLS↔CLS) and token-level
  word↔patch contrast (:mod:`videoqa.losses.mcg`).
* **Cross-modal Collaborative Generation** (§3.4): the question tokens cross-attend to
  the video tokens (fusion blocks), and a ``BertLMHeadModel`` decoder cross-attending
  to ``[fused question; video]`` generates the answer token by token (beam search,
  beam 3, at most 10 tokens). Multiple choice is scored by each candidate's summed
  log-likelihood under that decoder — never by parsing generated text.

Pre-training (§3.5) adds the masked-language-model loss on captions fused with the
video. The ``classifier`` head (an answer-vocabulary classifier on the fused CLS) is the
discriminative formulation the paper compares against, on the same encoders.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import ValidationError
from torch import Tensor, nn
from transformers import (
    AutoTokenizer,
    BertConfig,
    BertLMHeadModel,
    BertModel,
    PreTrainedTokenizerBase,
    TimesformerConfig,
    TimesformerModel,
)
from transformers.models.bert.modeling_bert import BertOnlyMLMHead

from videoqa.errors import CheckpointError, ModelUnavailableError, UsageError
from videoqa.losses.mcg import (
    TEMPERATURE_RANGE,
    attend,
    instance_contrastive_loss,
    token_contrastive_loss,
)
from videoqa.models.mcg.configuration import MCGConfig, TextSettings, VideoSettings
from videoqa.models.mcg.processing import IGNORE, MCGBatch, MCGProcessor, MCGText
from videoqa.persistence import PretrainedMixin

TOKENIZER_DIR = "tokenizer"
_NEG = -1e4


@dataclass
class VideoEncoding:
    """The Intra-Video Module's output for ``B`` videos of ``T`` frames, ``P`` patches each.

    Attributes:
        cls: ``(B, Hv)`` the video CLS token.
        patches: ``(B, T, P, Hv)`` patch tokens, frame-major.
        cls_attention: ``(B, T, P)`` last block's CLS→patch attention (head mean; per
            frame for divided attention, over all tokens for joint attention).
    """

    cls: Tensor
    patches: Tensor
    cls_attention: Tensor

    @property
    def tokens(self) -> Tensor:
        """``(B, 1 + T·P, Hv)``: CLS then the patches, frame-major."""
        return torch.cat([self.cls[:, None], self.patches.flatten(1, 2)], dim=1)


@dataclass
class TextEncoding:
    """The Intra-Question Module's output.

    Attributes:
        hidden: ``(B, L, Ht)`` piece states; mask: ``(B, L)`` bool.
        words: ``(B, W, Ht)`` word states (pieces summed); word_mask: ``(B, W)`` bool.
        word_attention: ``(B, W)`` last layer's CLS attention summed over each word's pieces.
    """

    hidden: Tensor
    mask: Tensor
    words: Tensor
    word_mask: Tensor
    word_attention: Tensor

    @property
    def cls(self) -> Tensor:
        """``(B, Ht)`` the CLS state (instance level)."""
        return self.hidden[:, 0]


#: what :meth:`MCG.memory` returns: decoder memory ``(B, M, Ht)``, its mask ``(B, M)``
#: and the unimodal encodings (answering and alignment of one batch share it).
Encoded = tuple[Tensor, Tensor, VideoEncoding, TextEncoding]


@dataclass
class MCGLoss:
    """Loss terms of one batch (unweighted), as scalars; ``None`` where not computed.

    ``total`` is the weighted sum the caller back-propagates."""

    total: Tensor
    generation: Tensor | None = None
    instance: Tensor | None = None
    token: Tensor | None = None
    mlm: Tensor | None = None


def aggregate_words(
    hidden: Tensor, attention: Tensor, word_index: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Sum WordPiece pieces back into words (MCG §3.2, the released code's
    ``aggregate_tokens``).

    Args:
        hidden: ``(B, L, H)`` piece states.
        attention: ``(B, L)`` CLS attention to each piece.
        word_index: ``(B, L)`` long, the piece's word (−1 = special token / padding).

    Returns:
        words ``(B, W, H)`` (sum of their pieces' states), word_mask ``(B, W)`` bool
        and word_attention ``(B, W)`` (sum of their pieces' attention), ``W`` = the
        most words in a row (at least 1).
    """
    b, _, h = hidden.shape
    valid = word_index >= 0
    width = max(int(word_index.max()) + 1, 1) if bool(valid.any()) else 1
    index = word_index.clamp(min=0)
    weight = valid.to(hidden.dtype)
    words = hidden.new_zeros(b, width, h).scatter_add(
        1, index[..., None].expand(-1, -1, h), hidden * weight[..., None]
    )
    att = attention.new_zeros(b, width).scatter_add(1, index, attention * weight)
    count = hidden.new_zeros(b, width).scatter_add(1, index, weight)
    return words, count > 0, att


@contextmanager
def _frames(config: TimesformerConfig, num_frames: int) -> Iterator[None]:
    """Let ``TimesformerModel``'s blocks reshape for ``num_frames`` frames (they read
    ``config.num_frames``; the time embedding itself is interpolated by the model)."""
    saved = config.num_frames
    config.num_frames = num_frames
    try:
        yield
    finally:
        config.num_frames = saved


def timesformer_config(video: VideoSettings) -> TimesformerConfig:
    """The ``transformers`` TimeSformer config of :class:`VideoSettings`."""
    return TimesformerConfig(
        image_size=video.image_size,
        patch_size=video.patch_size,
        num_channels=3,
        num_frames=video.num_frames,
        hidden_size=video.hidden_size,
        num_hidden_layers=video.num_layers,
        num_attention_heads=video.num_heads,
        intermediate_size=video.intermediate_size,
        hidden_dropout_prob=video.dropout,
        attention_probs_dropout_prob=video.dropout,
        attention_type=video.attention_type,
    )


def bert_config(text: TextSettings, vocab_size: int, *, layers: int, decoder: bool) -> BertConfig:
    """A ``transformers`` BERT config of the text width (eager attention, so the CLS
    attention can be read)."""
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=text.hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=text.num_heads,
        intermediate_size=text.intermediate_size,
        max_position_embeddings=text.max_positions,
        hidden_dropout_prob=text.dropout,
        attention_probs_dropout_prob=text.dropout,
        is_decoder=decoder,
        add_cross_attention=decoder,
        pad_token_id=0,
        attn_implementation="eager",
    )


class MCG(PretrainedMixin, nn.Module):
    """The MCG model (see the module doc).

    Checkpoints (:class:`~videoqa.persistence.PretrainedMixin`): ``config.json``
    (``model_type`` ``"mcg"``), ``model.safetensors`` (every tower) and ``tokenizer/``
    (the WordPiece tokenizer, ``transformers`` layout).

    Args:
        config: :class:`MCGConfig` (``vocab_size`` must match the tokenizer).
        tokenizer: a fast BERT-style tokenizer.

    Raises:
        UsageError: the tokenizer's vocabulary is larger than ``config.vocab_size``.
    """

    model_type = "mcg"
    config_class = MCGConfig
    extra_parts = (TOKENIZER_DIR,)

    def __init__(self, config: MCGConfig, tokenizer: PreTrainedTokenizerBase) -> None:
        super().__init__()
        if len(tokenizer) > config.vocab_size:
            raise UsageError(
                f"the tokenizer has {len(tokenizer)} tokens but config.vocab_size={config.vocab_size}"
            )
        self.config = config
        v, t = config.video, config.text
        self.processor = MCGProcessor(
            tokenizer, v.image_size, config.max_question_tokens, config.max_answer_tokens
        )
        self.video = TimesformerModel(timesformer_config(v))
        self.text = BertModel(
            bert_config(t, config.vocab_size, layers=t.num_layers, decoder=False),
            add_pooling_layer=False,
        )
        self.video_proj = nn.Linear(v.hidden_size, config.embed_dim)
        self.text_proj = nn.Linear(t.hidden_size, config.embed_dim)
        self.temperature = nn.Parameter(torch.tensor(float(config.temperature)))
        self.video_to_text = nn.Linear(v.hidden_size, t.hidden_size)
        layer = nn.TransformerDecoderLayer(
            t.hidden_size,
            t.num_heads,
            t.intermediate_size,
            dropout=t.dropout,
            batch_first=True,
            norm_first=True,
        )
        self.fusion = nn.TransformerDecoder(layer, t.fusion_layers, norm=nn.LayerNorm(t.hidden_size))
        mlm_config = bert_config(t, config.vocab_size, layers=1, decoder=False)
        self.mlm_head = BertOnlyMLMHead(mlm_config)
        self.decoder = None
        self.classifier = None
        if config.head == "generative":
            self.decoder = BertLMHeadModel(
                bert_config(t, config.vocab_size, layers=t.decoder_layers, decoder=True)
            )
        else:
            self.classifier = nn.Sequential(
                nn.Linear(t.hidden_size, 2 * t.hidden_size),
                nn.GELU(),
                nn.Linear(2 * t.hidden_size, len(config.answers)),
            )
            self._answer_index = {a: i for i, a in enumerate(config.answers)}

    @property
    def tokenizer(self) -> PreTrainedTokenizerBase:
        """The WordPiece tokenizer."""
        return self.processor.tokenizer

    # ---- persistence ----------------------------------------------------------------
    def save_extra_parts(self, directory: Path) -> None:
        self.tokenizer.save_pretrained(str(Path(directory) / TOKENIZER_DIR))

    @classmethod
    def build_for_loading(cls, config: MCGConfig, directory: Path, **options: Any) -> MCG:
        if options:
            raise UsageError(f"MCG takes no loading options, got {sorted(options)}")
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(Path(directory) / TOKENIZER_DIR))
        except (OSError, ValueError) as err:
            raise CheckpointError(f"{directory}: unreadable tokenizer ({err})") from None
        return cls(config, tokenizer)

    # ---- switches -------------------------------------------------------------------
    def enable_gradient_checkpointing(self) -> None:
        """Recompute the TimeSformer blocks' activations in the backward pass (less
        memory, about one more forward of compute)."""
        enable = getattr(self.video, "activation_checkpointing_enable", None)  # transformers >= 5.x
        (enable or self.video.gradient_checkpointing_enable)()

    def clamp_temperature(self) -> Tensor:
        """Clamp the learnable temperature to [0.001, 0.5] in place (released code)
        and return it."""
        with torch.no_grad():
            self.temperature.clamp_(*TEMPERATURE_RANGE)
        return self.temperature

    # ---- unimodal encoders ----------------------------------------------------------
    def encode_video(self, pixels: Tensor) -> VideoEncoding:
        """Intra-Video Module: ``(B, T, 3, S, S)`` normalised frames → :class:`VideoEncoding`.

        Raises:
            UsageError: frames of another size than ``config.video.image_size``.
        """
        b, t, _, s, s2 = pixels.shape
        v = self.config.video
        if (s, s2) != (v.image_size, v.image_size):
            raise UsageError(f"frames must be {v.image_size}x{v.image_size}, got {s}x{s2}")
        with _frames(self.video.config, t):
            for layer in self.video.encoder.layer:  # keep the blocks' view in sync
                layer.config = self.video.config
            out = self.video(pixel_values=pixels, output_attentions=True, return_dict=True)
        hidden = out.last_hidden_state
        p = v.patches_per_side**2
        patches = hidden[:, 1:].reshape(b, p, t, -1).transpose(1, 2)
        att = out.attentions[-1][..., 0, 1:].mean(dim=1)
        if v.attention_type == "divided_space_time":  # (B·T, P), one softmax per frame
            cls_att = att.reshape(b, t, p)
        else:  # (B, P·T), patch-major
            cls_att = att.reshape(b, p, t).transpose(1, 2)
        return VideoEncoding(hidden[:, 0], patches, cls_att)

    def encode_text(self, text: MCGText, input_ids: Tensor | None = None) -> TextEncoding:
        """Intra-Question Module: tokens → piece states, words and word weights
        (``input_ids`` replaces ``text.input_ids``, e.g. by masked ids for MLM)."""
        ids = text.input_ids if input_ids is None else input_ids
        out = self.text(
            input_ids=ids,
            attention_mask=text.attention_mask.long(),
            token_type_ids=text.token_type_ids,
            output_attentions=True,
            return_dict=True,
        )
        hidden = out.last_hidden_state
        cls_att = out.attentions[-1][:, :, 0, :].mean(dim=1)
        words, word_mask, word_att = aggregate_words(hidden, cls_att, text.word_index)
        return TextEncoding(hidden, text.attention_mask, words, word_mask, word_att)

    # ---- contrast ---------------------------------------------------------------------
    def instance_features(self, video: VideoEncoding, text: TextEncoding) -> tuple[Tensor, Tensor]:
        """``(B, E)`` L2-normalised projected CLS features of the video and the text."""
        return (
            F.normalize(self.video_proj(video.cls), dim=-1),
            F.normalize(self.text_proj(text.cls), dim=-1),
        )

    def token_features(self, video: VideoEncoding, text: TextEncoding) -> tuple[Tensor, Tensor]:
        """``(B, W, E)`` word and ``(B, T·P, E)`` patch features, L2-normalised."""
        return (
            F.normalize(self.text_proj(text.words), dim=-1),
            F.normalize(self.video_proj(video.patches.flatten(1, 2)), dim=-1),
        )

    def contrastive_losses(self, video: VideoEncoding, text: TextEncoding) -> tuple[Tensor, Tensor]:
        """Instance-level and token-level losses (:mod:`videoqa.losses.mcg`)."""
        v, t = self.instance_features(video, text)
        instance = instance_contrastive_loss(v, t, self.clamp_temperature())
        words, patches = self.token_features(video, text)
        token = token_contrastive_loss(
            words,
            text.word_mask,
            text.word_attention,
            patches,
            video.cls_attention.flatten(1),
            self.config.token_temperature,
        )
        return instance, token

    def alignment(self, batch: MCGBatch, encoded: Encoded | None = None) -> tuple[Tensor, Tensor]:
        """Where the token-level alignment looks: each word's attention on the patches
        (``softmax(w·p / τ_l)``), averaged over the words with their importance weights.

        Args:
            encoded: ``self.memory(batch)`` when the caller has it (not encoded again).

        Returns:
            ``(B, T, P)`` patch weights (each row sums to 1) and ``(B, T)`` their sum
            per frame.
        """
        if encoded is None:
            video, text = self.encode_video(batch.pixels), self.encode_text(batch.text)
        else:
            video, text = encoded[2], encoded[3]
        words, patches = self.token_features(video, text)
        att = attend(words, patches, None, self.config.token_temperature)  # (B, W, T·P)
        weights = text.word_attention.masked_fill(~text.word_mask, 0.0)
        weights = weights / weights.sum(dim=1, keepdim=True).clamp(min=1e-12)
        per_patch = (att * weights[..., None]).sum(dim=1)
        b, t, p, _ = video.patches.shape
        per_patch = per_patch.reshape(b, t, p)
        return per_patch, per_patch.sum(dim=2)

    # ---- fusion and decoding --------------------------------------------------------
    def fuse(self, video: VideoEncoding, text: TextEncoding) -> tuple[Tensor, Tensor]:
        """Cross-attention fusion: the question tokens attend to themselves and to the
        video tokens. Returns the decoder memory ``[fused question; video]`` ``(B, L +
        1 + T·P, Ht)`` and its bool mask."""
        vid = self.video_to_text(video.tokens)
        fused = self.fusion(text.hidden, vid, tgt_key_padding_mask=~text.mask)
        memory = torch.cat([fused, vid], dim=1)
        ones = torch.ones(vid.shape[:2], dtype=torch.bool, device=vid.device)
        return memory, torch.cat([text.mask, ones], dim=1)

    def memory(self, batch: MCGBatch) -> Encoded:
        """Encode and fuse a batch: memory ``(B, M, Ht)``, its mask ``(B, M)`` and the
        unimodal encodings."""
        video = self.encode_video(batch.pixels)
        text = self.encode_text(batch.text)
        memory, mask = self.fuse(video, text)
        return memory, mask, video, text

    def _decoder_logits(self, ids: Tensor, mask: Tensor, memory: Tensor, memory_mask: Tensor) -> Tensor:
        assert self.decoder is not None
        out = self.decoder(
            input_ids=ids,
            attention_mask=mask.long(),
            encoder_hidden_states=memory,
            encoder_attention_mask=memory_mask.long(),
            return_dict=True,
            use_cache=False,
        )
        return out.logits

    def _answer_logprobs(self, memory: Tensor, memory_mask: Tensor, answers: Sequence[str]) -> Tensor:
        """``(N,)`` summed log-probabilities of ``N`` answers (one per memory row),
        the end-of-answer ``[SEP]`` included."""
        ids, mask, labels = self.processor.answers(answers)
        ids, mask, labels = (x.to(memory.device) for x in (ids, mask, labels))
        logits = self._decoder_logits(ids, mask, memory, memory_mask)[:, :-1]
        target = labels[:, 1:]
        logp = torch.log_softmax(logits.float(), dim=-1)
        picked = logp.gather(2, target.clamp(min=0)[..., None])[..., 0]
        return (picked * (target != IGNORE)).sum(dim=1)

    def _classifier_logits(self, memory: Tensor) -> Tensor:
        assert self.classifier is not None
        return self.classifier(memory[:, 0])

    def generation_loss(self, memory: Tensor, memory_mask: Tensor, answers: Sequence[str]) -> Tensor:
        """Answer loss: token cross-entropy of the answers summed over tokens and
        averaged over the batch (released code: ``loss.sum() / B``); the classifier
        head's cross-entropy over the answer vocabulary instead.

        Raises:
            UsageError: (classifier) an answer outside the answer vocabulary.
        """
        if self.decoder is not None:
            return -self._answer_logprobs(memory, memory_mask, answers).mean()
        missing = [a for a in answers if a not in self._answer_index]
        if missing:
            raise UsageError(f"answers outside the classifier's vocabulary: {missing[:3]}")
        target = torch.tensor([self._answer_index[a] for a in answers], device=memory.device)
        return F.cross_entropy(self._classifier_logits(memory), target)

    # ---- training objectives --------------------------------------------------------
    def qa_loss(
        self,
        batch: MCGBatch,
        answers: Sequence[str],
        instance_weight: float = 0.0,
        token_weight: float = 0.0,
    ) -> MCGLoss:
        """Fine-tuning loss (§3.4–3.5): generation cross-entropy plus, when weighted,
        the video–question instance- and token-level contrast."""
        memory, mask, video, text = self.memory(batch)
        gen = self.generation_loss(memory, mask, answers)
        total = gen
        inst = tok = None
        if instance_weight > 0 or token_weight > 0:
            inst, tok = self.contrastive_losses(video, text)
            total = total + instance_weight * inst + token_weight * tok
        return MCGLoss(total=total, generation=gen, instance=inst, token=tok)

    def pretrain_loss(
        self,
        batch: MCGBatch,
        mlm_weight: float = 1.0,
        instance_weight: float = 1.0,
        token_weight: float = 1.0,
        mask_probability: float = 0.15,
        encodings: tuple[VideoEncoding, TextEncoding] | None = None,
    ) -> MCGLoss:
        """Pre-training loss on video–caption pairs (§3.5, released ``McgForPretrain``):
        MLM on the captions fused with the video, plus instance- and token-level contrast
        (``batch.text`` holds the captions; ``encodings``: the batch's
        ``encode_video`` / ``encode_text`` when the caller has them)."""
        if encodings is None:
            encodings = self.encode_video(batch.pixels), self.encode_text(batch.text)
        video, text = encodings
        total = video.cls.new_zeros(())
        inst = tok = mlm = None
        if instance_weight > 0 or token_weight > 0:
            inst, tok = self.contrastive_losses(video, text)
            total = total + instance_weight * inst + token_weight * tok
        if mlm_weight > 0:
            ids, labels = self.processor.mask_tokens(batch.text.to("cpu"), mask_probability)
            masked = self.encode_text(batch.text, ids.to(batch.pixels.device))
            memory, _ = self.fuse(video, masked)
            logits = self.mlm_head(memory[:, : masked.hidden.shape[1]])
            mlm = F.cross_entropy(
                logits.flatten(0, 1).float(), labels.to(logits.device).flatten(), ignore_index=IGNORE
            )
            total = total + mlm_weight * mlm
        return MCGLoss(total=total, instance=inst, token=tok, mlm=mlm)

    # ---- answering (the generative contract) ----------------------------------------
    @torch.no_grad()
    def loglikelihood(
        self, batch: MCGBatch, candidates: Sequence[Sequence[str]], encoded: Encoded | None = None
    ) -> Tensor:
        """``(B, C)`` summed log-probabilities (nats) of each candidate answer, the
        end-of-answer token included (classifier head: the log-softmax of the
        candidate's class, −1e4 for one outside the vocabulary). ``encoded``:
        ``self.memory(batch)`` when the caller has it (not encoded again).

        Raises:
            UsageError: ``len(candidates) != B`` or rows of different lengths.
        """
        b = batch.batch_size
        if len(candidates) != b or len({len(c) for c in candidates}) != 1:
            raise UsageError("give B rows of candidates, all of the same length")
        c = len(candidates[0])
        memory, mask, _, _ = encoded or self.memory(batch)
        if self.decoder is None:
            logp = torch.log_softmax(self._classifier_logits(memory).float(), dim=-1)
            out = torch.full((b, c), _NEG, device=memory.device)
            for i, row in enumerate(candidates):
                for j, cand in enumerate(row):
                    if cand in self._answer_index:
                        out[i, j] = logp[i, self._answer_index[cand]]
            return out
        flat = [a for row in candidates for a in row]
        scores = self._answer_logprobs(
            memory.repeat_interleave(c, dim=0), mask.repeat_interleave(c, dim=0), flat
        )
        return scores.reshape(b, c)

    @torch.no_grad()
    def generate(
        self, batch: MCGBatch, max_new_tokens: int | None = None, encoded: Encoded | None = None
    ) -> list[str]:
        """``B`` open-ended answers by beam search (``config.num_beams`` beams, at most
        ``max_new_tokens`` or ``config.max_answer_tokens`` tokens; finished beams are
        ranked by their mean token log-probability, as ``transformers``' length penalty
        1.0). The classifier head returns its top class. ``encoded``:
        ``self.memory(batch)`` when the caller has it (not encoded again)."""
        memory, mask, _, _ = encoded or self.memory(batch)
        if self.decoder is None:
            top = self._classifier_logits(memory).argmax(dim=-1).tolist()
            return [self.config.answers[i] for i in top]
        limit = max_new_tokens or self.config.max_answer_tokens
        return [
            self.processor.decode(seq)
            for seq in self._beam_search(memory, mask, self.config.num_beams, limit)
        ]

    def _beam_search(self, memory: Tensor, memory_mask: Tensor, beams: int, limit: int) -> list[list[int]]:
        tok = self.tokenizer
        b, device = memory.shape[0], memory.device
        mem = memory.repeat_interleave(beams, dim=0)
        mem_mask = memory_mask.repeat_interleave(beams, dim=0)
        seqs = torch.full((b * beams, 1), tok.cls_token_id, dtype=torch.long, device=device)
        scores = torch.full((b, beams), float("-inf"), device=device)
        scores[:, 0] = 0.0
        done = torch.zeros(b * beams, dtype=torch.bool, device=device)
        lengths = torch.zeros(b * beams, device=device)
        for _ in range(limit):
            logits = self._decoder_logits(seqs, torch.ones_like(seqs, dtype=torch.bool), mem, mem_mask)
            logp = torch.log_softmax(logits[:, -1].float(), dim=-1)
            logp[:, tok.pad_token_id] = float("-inf")
            logp[:, tok.cls_token_id] = float("-inf")
            # a finished beam only extends with padding, at no cost
            finished = torch.full_like(logp, float("-inf"))
            finished[:, tok.pad_token_id] = 0.0
            logp = torch.where(done[:, None], finished, logp)
            vocab = logp.shape[1]
            total = (scores.reshape(-1, 1) + logp).reshape(b, beams * vocab)
            scores, flat = total.topk(beams, dim=1)
            origin = (flat // vocab) + torch.arange(b, device=device)[:, None] * beams
            token = (flat % vocab).reshape(-1)
            origin = origin.reshape(-1)
            seqs = torch.cat([seqs[origin], token[:, None]], dim=1)
            was_done = done[origin]
            lengths = lengths[origin] + (~was_done).float()
            done = was_done | (token == tok.sep_token_id)
            if bool(done.all()):
                break
        normalised = (scores.reshape(-1) / lengths.clamp(min=1)).reshape(b, beams)
        best = normalised.argmax(dim=1) + torch.arange(b, device=device) * beams
        return [seqs[i, 1:].tolist() for i in best.tolist()]


def build_mcg(
    fields: dict[str, Any],
    tokenizer: PreTrainedTokenizerBase,
    *,
    video_backbone: str | Path | None = None,
    text_backbone: str | Path | None = None,
) -> MCG:
    """A new MCG from config fields, optionally initialised from real checkpoints.

    Args:
        fields: :class:`MCGConfig` fields (``vocab_size`` defaults to the tokenizer's).
        tokenizer: the text tokenizer.
        video_backbone: hub id or folder of a ``transformers`` TimeSformer
            (``TimesformerModel.from_pretrained``); its sizes replace ``video``'s
            (``image_size``, ``patch_size``, widths, ``num_frames``) and its weights
            initialise the Intra-Video Module.
        text_backbone: hub id or folder of a BERT checkpoint initialising the
            Intra-Question Module (its sizes replace ``text``'s, its vocabulary must be
            the tokenizer's).

    Raises:
        UsageError: invalid fields. ModelUnavailableError: a backbone cannot be loaded.
    """
    fields = dict(fields)
    fields.setdefault("vocab_size", len(tokenizer))
    video_model = text_model = None
    if video_backbone is not None:
        try:
            video_model = TimesformerModel.from_pretrained(str(video_backbone))
        except (OSError, ValueError) as err:
            raise ModelUnavailableError(f"cannot load TimeSformer {video_backbone}: {err}") from None
        c = video_model.config
        if c.attention_type not in ("divided_space_time", "joint_space_time"):
            raise UsageError(f"{video_backbone}: attention_type {c.attention_type!r} is not supported")
        fields["video"] = {
            **dict(fields.get("video") or {}),
            "hidden_size": c.hidden_size,
            "num_layers": c.num_hidden_layers,
            "num_heads": c.num_attention_heads,
            "intermediate_size": c.intermediate_size,
            "image_size": c.image_size,
            "patch_size": c.patch_size,
            "num_frames": c.num_frames,
            "attention_type": c.attention_type,
            "pretrained": str(video_backbone),
        }
    if text_backbone is not None:
        try:
            text_model = BertModel.from_pretrained(str(text_backbone), add_pooling_layer=False)
        except (OSError, ValueError) as err:
            raise ModelUnavailableError(f"cannot load BERT {text_backbone}: {err}") from None
        c = text_model.config
        fields["text"] = {
            **dict(fields.get("text") or {}),
            "hidden_size": c.hidden_size,
            "num_layers": c.num_hidden_layers,
            "num_heads": c.num_attention_heads,
            "intermediate_size": c.intermediate_size,
            "max_positions": c.max_position_embeddings,
            "pretrained": str(text_backbone),
        }
        fields["vocab_size"] = c.vocab_size
    try:
        config = MCGConfig.model_validate(fields)
    except ValidationError as err:
        raise UsageError(f"invalid MCG config: {err}") from None
    model = MCG(config, tokenizer)
    if video_model is not None:
        model.video.load_state_dict(video_model.state_dict())
    if text_model is not None:
        model.text.load_state_dict(text_model.state_dict())
    return model


__all__ = [
    "MCG",
    "Encoded",
    "MCGLoss",
    "TextEncoding",
    "VideoEncoding",
    "aggregate_words",
    "bert_config",
    "build_mcg",
    "timesformer_config",
]
