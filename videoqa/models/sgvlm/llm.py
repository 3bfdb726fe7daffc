"""The language model of SGVLM: any ``transformers`` causal LM, loaded by hub id or
directory, plus what this workplace needs to train one from scratch (no model hub): a
word-level tokenizer trained locally and a small Llama-architecture LM with random
weights, both saved in the standard ``from_pretrained`` layout.

SGVLM (Dai et al., "Towards Fine-Grained Video Question Answering", 2025, §3.4) feeds
the Q-Former query tokens, projected to the LLM's embedding width, in front of the
question prompt; a pretrained LLM is adapted with LoRA (Hu et al., ICLR 2022) through
``peft`` while a randomly initialised one is trained in full.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from torch import nn
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PreTrainedTokenizerFast,
)

from videoqa.errors import ModelUnavailableError, UsageError

PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN = "<pad>", "<unk>", "<s>", "</s>"


def train_word_tokenizer(texts: Iterable[str], min_frequency: int = 1) -> PreTrainedTokenizerFast:
    """Train a word-level tokenizer (``tokenizers`` WordLevel; lower-cased; split on
    whitespace and punctuation) on ``texts`` and wrap it as a ``transformers`` fast
    tokenizer with ``<pad>=0 <unk>=1 <s>=2 </s>=3``.

    ``save_pretrained(dir)`` then ``AutoTokenizer.from_pretrained(dir)`` round-trips it.

    Raises:
        UsageError: ``texts`` is empty.
    """
    texts = list(texts)
    if not texts:
        raise UsageError("cannot train a tokenizer on no text")
    tok = Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation()]
    )
    trainer = trainers.WordLevelTrainer(
        special_tokens=[PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN], min_frequency=min_frequency
    )
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD_TOKEN,
        unk_token=UNK_TOKEN,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
    )


class TinyLMConfig(BaseModel):
    """Size of a from-scratch Llama-architecture LM (Touvron et al., 2023).

    Attributes:
        hidden_size, num_layers, num_heads, intermediate_size: transformer size.
        max_positions: longest sequence in tokens (query tokens + prompt + answer).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    hidden_size: int = Field(128, gt=0)
    num_layers: int = Field(2, gt=0)
    num_heads: int = Field(4, gt=0)
    intermediate_size: int = Field(256, gt=0)
    max_positions: int = Field(256, gt=0)


def build_tiny_llm(tokenizer: PreTrainedTokenizerBase, config: TinyLMConfig) -> LlamaForCausalLM:
    """A randomly initialised ``LlamaForCausalLM`` over ``tokenizer``'s vocabulary.

    Raises:
        UsageError: ``hidden_size`` is not divisible by ``num_heads``.
    """
    if config.hidden_size % config.num_heads:
        raise UsageError("hidden_size must be divisible by num_heads")
    llama = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        max_position_embeddings=config.max_positions,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(llama)


def create_tiny_llm(texts: Iterable[str], out_dir: Path, config: TinyLMConfig) -> Path:
    """Train a tokenizer on ``texts``, build a random tiny LM and save both to
    ``out_dir`` (loadable with :func:`load_llm`). Returns ``out_dir``."""
    tokenizer = train_word_tokenizer(texts)
    model = build_tiny_llm(tokenizer, config)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out_dir)
    model.save_pretrained(out_dir)
    return out_dir


def load_llm(name_or_path: str | Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """``AutoModelForCausalLM`` + ``AutoTokenizer`` from a hub id or a local directory.

    A tokenizer without a pad token gets its EOS token as pad (Llama/Qwen tokenizers).

    Raises:
        ModelUnavailableError: the model cannot be loaded here (not cached, no network).
    """
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(name_or_path))
        model = AutoModelForCausalLM.from_pretrained(str(name_or_path))
    except OSError as exc:
        raise ModelUnavailableError(f"cannot load the LLM {name_or_path!r}: {exc}") from exc
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


class LoraSettings(BaseModel):
    """LoRA on the LLM (Hu et al., ICLR 2022, §4): rank ``r``, scale ``alpha / r``,
    dropout, and the module names to adapt (Llama/Qwen attention projections)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    r: int = Field(8, gt=0)
    alpha: int = Field(16, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")


def apply_lora(model: PreTrainedModel, settings: LoraSettings) -> nn.Module:
    """Wrap ``model`` with ``peft`` LoRA adapters: only the adapters train, the base
    weights are frozen. Returns the ``PeftModel``."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)
