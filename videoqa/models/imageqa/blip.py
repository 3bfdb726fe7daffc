"""BLIP VQA as an image-QA teacher: candidates ranked by the answer decoder's likelihood.

BLIP (Li et al., ICML 2022, "BLIP: Bootstrapping Language-Image Pre-training", §4.4 and
its VQA fine-tuning) answers a question with a decoder that reads the question encoded
with cross-attention to the image. For a closed set of candidates BLIP ranks them by
the decoder's teacher-forced log-likelihood of each candidate's tokens; here every
candidate of every frame is scored that way and a softmax over the C candidates gives
the teacher's probabilities (SpARC §3.1, ``M_I``).

Scoring of candidate ``c`` on frame ``k`` (:meth:`BlipTeacher.log_likelihoods`): the
candidate is tokenised as ``[DEC] w_1 … w_n [SEP]`` (the tokenizer's ``[CLS]`` replaced by
the decoder start token ``text_config.bos_token_id``, as in ``generate``), and

    s(k, c) = Σ_{j=1..n+1} log p(w_j | w_<j, question ⊗ frame k)

(``[SEP]`` = ``w_{n+1}`` counts, so a candidate that is a prefix of another is not
favoured). With ``length_normalize=True`` the sum is divided by ``n + 1`` (mean per
token), which removes the bias towards short answers at the cost of no longer being a
sequence log-probability. The probabilities are ``softmax_c s(k, c)``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import transformers
from huggingface_hub import constants as hf_constants
from huggingface_hub import try_to_load_from_cache

from videoqa.encoders.hf import quiet_transformers
from videoqa.encoders.loading import WEIGHT_FILES, hub_reachable
from videoqa.errors import ModelUnavailableError, UsageError
from videoqa.models.imageqa.base import (
    FrameSource,
    ImageQATeacher,
    check_candidates,
    frame_pixels,
)


class BlipTeacher(ImageQATeacher):
    """Image-QA teacher over a ``transformers`` ``BlipForQuestionAnswering`` checkpoint.

    Args:
        model: the BLIP VQA model (put in eval mode here).
        tokenizer: its BERT WordPiece tokenizer.
        image_processor: its image processor (resize to the model's input, normalise).
        name: description kept in the teacher store's meta (hub id or directory).
        device: torch device of the forward passes.
        frame_batch: frames per forward pass; each pass scores ``frame_batch × C``
            candidate sequences.
        length_normalize: mean instead of sum of the token log-probabilities (see the
            module docstring).
    """

    input_kind: ClassVar = "pixels"

    def __init__(
        self,
        model: transformers.BlipForQuestionAnswering,
        tokenizer: transformers.PreTrainedTokenizerBase,
        image_processor: transformers.BaseImageProcessor,
        *,
        name: str = "blip",
        device: str | torch.device = "cpu",
        frame_batch: int = 8,
        length_normalize: bool = False,
    ) -> None:
        if frame_batch < 1:
            raise UsageError(f"frame_batch must be at least 1, got {frame_batch}")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.name = f"blip:{name}"
        self.frame_batch = frame_batch
        self.length_normalize = length_normalize

    def _text(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        enc = self.tokenizer(texts, padding=True, return_tensors="pt")
        return enc["input_ids"].to(self.device), enc["attention_mask"].to(self.device)

    def encode_candidates(self, candidates: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoder inputs of the candidates.

        Returns:
            ``(ids, mask)``: ``(C, La)`` long ids ``[DEC] w_1 … w_n [SEP] [PAD]…`` and the
            ``(C, La)`` attention mask (1 = token).
        """
        ids, mask = self._text(check_candidates(candidates))
        ids = ids.clone()
        ids[:, 0] = self.model.config.text_config.bos_token_id
        return ids, mask

    def pixel_values(self, frames: FrameSource) -> torch.Tensor:
        """``(K, 3, S, S)`` float model inputs of the frames (the processor's resize and
        normalisation)."""
        pixels = frame_pixels(frames)
        out = self.image_processor(images=list(pixels), return_tensors="pt")
        return out["pixel_values"].to(self.device, torch.float32)

    @torch.inference_mode()
    def log_likelihoods(
        self,
        pixel_values: torch.Tensor,
        question: str,
        answer_ids: torch.Tensor,
        answer_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Teacher-forced scores ``s(k, c)`` of every candidate on every frame.

        Args:
            pixel_values: ``(K, 3, S, S)`` processed frames.
            question: the question text.
            answer_ids, answer_mask: ``(C, La)`` from :meth:`encode_candidates`.

        Returns:
            ``(K, C)`` float32: summed (or, with ``length_normalize``, mean) log-probability
            of each candidate's tokens after ``[DEC]``, ``[SEP]`` included.
        """
        q_ids, q_mask = self._text([question])
        num_k, num_c = len(pixel_values), len(answer_ids)
        image = self.model.vision_model(pixel_values=pixel_values).last_hidden_state
        image_mask = torch.ones(image.shape[:2], dtype=torch.long, device=self.device)
        q_states = self.model.text_encoder(
            input_ids=q_ids.expand(num_k, -1),
            attention_mask=q_mask.expand(num_k, -1),
            encoder_hidden_states=image,
            encoder_attention_mask=image_mask,
        ).last_hidden_state  # (K, Lq, H)
        ids = answer_ids.repeat(num_k, 1)  # (K*C, La), frame-major
        mask = answer_mask.repeat(num_k, 1)
        logits = self.model.text_decoder(
            input_ids=ids,
            attention_mask=mask,
            encoder_hidden_states=q_states.repeat_interleave(num_c, dim=0),
            encoder_attention_mask=q_mask.expand(num_k * num_c, -1),
        ).logits  # (K*C, La, V)
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        token_logp = logp.gather(-1, ids[:, 1:, None]).squeeze(-1)
        weights = mask[:, 1:].float()
        scores = (token_logp * weights).sum(-1)
        if self.length_normalize:
            scores = scores / weights.sum(-1).clamp(min=1.0)
        return scores.view(num_k, num_c)

    def answer_probs(
        self, frames: FrameSource, question: str, candidates: Sequence[str]
    ) -> np.ndarray:
        """Softmax over candidates of :meth:`log_likelihoods`, frames in chunks of
        ``frame_batch``.

        Returns:
            ``(K, C)`` float32 rows summing to 1.

        Raises:
            UsageError: frames that are not decoded pixels, or bad candidates.
        """
        pixels = frame_pixels(frames)
        answer_ids, answer_mask = self.encode_candidates(candidates)
        rows = []
        for start in range(0, len(pixels), self.frame_batch):
            values = self.pixel_values(pixels[start : start + self.frame_batch])
            rows.append(self.log_likelihoods(values, question, answer_ids, answer_mask))
        if not rows:
            return np.zeros((0, len(answer_ids)), dtype=np.float32)
        probs = torch.softmax(torch.cat(rows).double(), dim=-1)
        return probs.float().cpu().numpy()


def _cached(repo_id: str, cache_dir: str | Path | None) -> bool:
    def has(filename: str) -> bool:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
        return isinstance(found, str)

    return has("config.json") and any(has(f) for f in WEIGHT_FILES)


def _offline_mode() -> bool:
    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return bool(hf_constants.HF_HUB_OFFLINE) or env.strip().lower() in {"1", "on", "yes", "true"}


def _source(
    name_or_path: str | Path, local_files_only: bool | None, cache_dir: str | Path | None
) -> tuple[str, bool]:
    """``(source, local_files_only)`` for ``from_pretrained``; raises when it cannot work."""
    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailableError(
                f"{name}: directory holds no config.json (expected a saved "
                "BlipForQuestionAnswering checkpoint with tokenizer and preprocessor files)",
                name,
            )
        return str(path), True
    if path.exists() or name.startswith(("/", ".", "~")) or name.count("/") > 1:
        raise ModelUnavailableError(f"{name!r} is not a checkpoint directory", name)
    if _cached(name, cache_dir):
        return name, local_files_only is not False or not hub_reachable()
    if local_files_only or _offline_mode() or not hub_reachable():
        where = cache_dir or hf_constants.HF_HUB_CACHE
        raise ModelUnavailableError(
            f"BLIP teacher {name!r} cannot be loaded: its files are not in the local Hugging "
            f"Face cache ({where}) and the hub cannot be reached. Pass a local checkpoint "
            "directory, or copy the cache from a connected machine (`hf download "
            f"{name}`).",
            name,
        )
    return name, False


def load_blip_teacher(
    name_or_path: str | Path,
    *,
    local_files_only: bool | None = None,
    cache_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
    frame_batch: int = 8,
    length_normalize: bool = False,
) -> BlipTeacher:
    """Load a BLIP VQA teacher from a hub id (e.g. ``"Salesforce/blip-vqa-base"``) or a
    local directory written by ``save_pretrained`` (model, tokenizer, preprocessor).

    Uncached hub ids fail fast: at once when offline (``HF_HUB_OFFLINE``) or with
    ``local_files_only=True``, else after a ~1 s reachability probe of the hub.

    Raises:
        ModelUnavailableError: not cached and not downloadable, a directory without
            ``config.json``, unreadable files, or weights that leave parameters unset.
    """
    name = str(name_or_path)
    source, offline = _source(name_or_path, local_files_only, cache_dir)
    hub = {"cache_dir": cache_dir, "local_files_only": offline}
    try:
        with quiet_transformers():
            model, info = transformers.BlipForQuestionAnswering.from_pretrained(
                source, dtype=torch.float32, output_loading_info=True, **hub
            )
        tokenizer = transformers.AutoTokenizer.from_pretrained(source, **hub)
        processor = transformers.AutoImageProcessor.from_pretrained(source, backend="pil", **hub)
    except (OSError, ValueError) as err:
        raise ModelUnavailableError(f"{name}: could not load {source!r}: {err}", name) from err
    if info["missing_keys"]:
        missing = ", ".join(sorted(info["missing_keys"])[:5])
        raise ModelUnavailableError(f"{name}: the weights lack parameters ({missing}, ...)", name)
    return BlipTeacher(
        model,
        tokenizer,
        processor,
        name=name,
        device=device,
        frame_batch=frame_batch,
        length_normalize=length_normalize,
    )
