"""CLIP and SigLIP adapters over the ``transformers`` model classes.

Each adapter wraps a ``CLIPModel`` / ``SiglipModel`` with its tokenizer and image
processor and implements :class:`~videoqa.encoders.base.ImageTextEncoder`: frames and
texts in, L2-normalised ``float32`` embeddings out.

Image preprocessing is done by the checkpoint's own image processor (the PIL/NumPy
backend of ``transformers``), fed whole ``(B, H, W, 3)`` uint8 arrays: no per-frame
PIL objects are made here.

Measured (2-core CPU, busy machine, 1 torch thread, 64 frames 640×272 of the ``bikes``
sample): ``tiny`` 242 frames/s, ``tiny-siglip`` 345 frames/s end to end; the image
processor alone 285 / 433 frames/s on the array against 145 / 214 frames/s when handed
PIL images, so preprocessing is ~85 % of the tiny presets' time. A batched
``torch.nn.functional.interpolate`` (bicubic, antialiased) was not faster here and
differs from PIL by up to 14 grey levels, so the checkpoint's processor is kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
import transformers

from videoqa.encoders.base import ImageTextEncoder
from videoqa.encoders.spec import Interpolation, PretrainedSpec, TextPadding
from videoqa.errors import ModelUnavailableError, UsageError

_PIL_FILTERS: dict[Interpolation, int] = {
    "nearest": 0,
    "lanczos": 1,
    "bilinear": 2,
    "bicubic": 3,
    "box": 4,
    "hamming": 5,
}
_FILTER_NAMES: dict[int, Interpolation] = {v: k for k, v in _PIL_FILTERS.items()}


PRESET_CONFIG_KEY = "videoqa_preset"
"""``config.json`` key naming the offline preset a checkpoint was saved from; such
checkpoints hold random weights and load with ``pretrained=False``."""


@contextmanager
def quiet_transformers(warnings_too: bool = False) -> Iterator[None]:
    """Hide ``transformers``' progress bars (and, with ``warnings_too``, its warnings)
    inside the block; the previous settings are restored on exit."""
    log = transformers.utils.logging
    bars, verbosity = log.is_progress_bar_enabled(), log.get_verbosity()
    log.disable_progress_bar()
    if warnings_too:
        log.set_verbosity_error()
    try:
        yield
    finally:
        if bars:
            log.enable_progress_bar()
        log.set_verbosity(verbosity)


def _check_frames(frames: np.ndarray) -> np.ndarray:
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3:
        shape = getattr(frames, "shape", type(frames).__name__)
        raise UsageError(f"frames must be a (T, H, W, 3) uint8 array, got {shape}")
    if frames.dtype != np.uint8:
        raise UsageError(f"frames must be uint8 RGB, got dtype {frames.dtype}")
    return frames


def _check_batch_size(batch_size: int) -> None:
    if int(batch_size) < 1:
        raise UsageError(f"batch_size must be >= 1, got {batch_size}")


class HFDualEncoder(ImageTextEncoder):
    """Shared machinery of the ``transformers`` dual-encoder adapters.

    Args:
        model: a ``transformers`` ``CLIPModel`` or ``SiglipModel``; put in eval mode.
        tokenizer: its tokenizer (a ``transformers`` tokenizer).
        image_processor: its image processor (``size``, ``crop_size``, ``image_mean``...).
        spec: the preprocessing and dimensions of the checkpoint.
        name: the registry name, hub id or directory it was loaded from.
        device: torch device for the forward passes (``"cpu"`` by default); the
            returned embeddings are always on the CPU.
    """

    arch: ClassVar[str]
    model_class_name: ClassVar[str]
    image_processor_class_name: ClassVar[str]
    default_text_padding: ClassVar[TextPadding] = "longest"
    _text_inputs: ClassVar[tuple[str, ...]] = ("input_ids", "attention_mask")

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        image_processor: Any,
        spec: PretrainedSpec,
        *,
        name: str,
        device: str | torch.device = "cpu",
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.spec = spec
        self.name = name
        self.pretrained = spec.pretrained
        self.embed_dim = spec.embed_dim
        self.image_size = spec.image_size
        self._dtype = next(self.model.parameters()).dtype

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, D={self.embed_dim}, "
            f"image_size={self.image_size}, pretrained={self.pretrained})"
        )

    # ---- images -------------------------------------------------------------------

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """Resize, crop and normalise frames with the checkpoint's image processor.

        Args:
            frames: ``(B, H, W, 3)`` uint8 RGB.

        Returns:
            ``(B, 3, S, S)`` float32 pixel values, ``S = image_size`` pixels.
        """
        out = self.image_processor(
            images=_check_frames(frames),
            return_tensors="pt",
            input_data_format="channels_last",
            do_convert_rgb=False,
        )
        return out["pixel_values"]

    def encode_images(self, frames: np.ndarray, batch_size: int = 32) -> torch.Tensor:
        """Embed RGB frames.

        Args:
            frames: ``(T, H, W, 3)`` uint8 RGB, any size.
            batch_size: frames per forward pass; the result does not depend on it
                (up to float rounding, ~1e-6).

        Returns:
            ``(T, D)`` float32 on the CPU, L2-normalised rows.

        Raises:
            UsageError: frames not ``(T, H, W, 3)`` uint8, or ``batch_size < 1``.
        """
        frames = _check_frames(frames)
        _check_batch_size(batch_size)
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(frames), batch_size):
                pixels = self.preprocess(frames[start : start + batch_size])
                pixels = pixels.to(self.device, self._dtype)
                feats = self.model.get_image_features(pixel_values=pixels).pooler_output
                chunks.append(feats.float().cpu())
        if not chunks:
            return torch.zeros(0, self.embed_dim)
        return F.normalize(torch.cat(chunks), dim=-1)

    # ---- texts --------------------------------------------------------------------

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Token ids of ``texts``, truncated to ``context_length`` and padded as the
        checkpoint expects (see :attr:`PretrainedSpec.text_padding`).

        Returns:
            ``{"input_ids": (N, L) int64[, "attention_mask": (N, L) int64]}`` with
            ``L <= context_length``.
        """
        padding = True if self.spec.text_padding == "longest" else "max_length"
        enc = self.tokenizer(
            list(texts),
            padding=padding,
            truncation=True,
            max_length=self.spec.context_length,
            return_tensors="pt",
        )
        return {k: v for k, v in enc.items() if k in self._text_inputs}

    def encode_texts(self, texts: Sequence[str], batch_size: int = 256) -> torch.Tensor:
        """Embed texts.

        Args:
            texts: ``N`` strings; each is truncated to ``context_length`` tokens.
            batch_size: texts per forward pass.

        Returns:
            ``(N, D)`` float32 on the CPU, L2-normalised rows.

        Raises:
            UsageError: ``texts`` is a bare string or ``batch_size < 1``.
        """
        if isinstance(texts, str):
            raise UsageError("texts must be a sequence of strings, not one string")
        _check_batch_size(batch_size)
        texts = list(texts)
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                enc = self.tokenize(texts[start : start + batch_size])
                enc = {k: v.to(self.device) for k, v in enc.items()}
                chunks.append(self.model.get_text_features(**enc).pooler_output.float().cpu())
        if not chunks:
            return torch.zeros(0, self.embed_dim)
        return F.normalize(torch.cat(chunks), dim=-1)

    # ---- checkpoint plumbing ------------------------------------------------------

    @classmethod
    def model_class(cls) -> type:
        """The ``transformers`` model class of this architecture."""
        return getattr(transformers, cls.model_class_name)

    @classmethod
    def image_processor_class(cls) -> type:
        """The ``transformers`` PIL-backend image processor class of this architecture."""
        return getattr(transformers, cls.image_processor_class_name)

    @classmethod
    def image_processor_from_spec(cls, spec: PretrainedSpec) -> Any:
        """An image processor that prepares images as ``spec`` says."""
        side = spec.image_size
        size = (
            {"shortest_edge": side}
            if spec.resize == "shortest_edge"
            else {"height": side, "width": side}
        )
        return cls.image_processor_class()(
            do_resize=True,
            size=size,
            resample=_PIL_FILTERS[spec.interpolation],
            do_center_crop=spec.center_crop,
            crop_size={"height": side, "width": side},
            do_rescale=True,
            rescale_factor=1 / 255,
            do_normalize=True,
            image_mean=list(spec.mean),
            image_std=list(spec.std),
        )

    @classmethod
    def spec_from_checkpoint(
        cls, config: Any, tokenizer: Any, image_processor: Any, *, name: str, pretrained: bool
    ) -> PretrainedSpec:
        """Derive the :class:`PretrainedSpec` of a loaded checkpoint.

        Raises:
            ModelUnavailableError: the image processor's resize is neither
                shortest-edge nor a fixed height × width.
        """
        size = image_processor.size
        if size.shortest_edge:
            resize = "shortest_edge"
        elif size.height and size.width:
            resize = "square"
        else:
            raise ModelUnavailableError(f"{name}: unsupported image processor size {size}", name)
        context = config.text_config.max_position_embeddings
        tok_max = getattr(tokenizer, "model_max_length", None)
        if isinstance(tok_max, int) and 1 < tok_max < context:
            context = tok_max
        return PretrainedSpec(
            name=name,
            arch=cls.arch,
            source=None,
            pretrained=pretrained,
            image_size=config.vision_config.image_size,
            resize=resize,
            center_crop=bool(getattr(image_processor, "do_center_crop", False)),
            interpolation=_FILTER_NAMES.get(int(image_processor.resample), "bicubic"),
            mean=tuple(float(v) for v in image_processor.image_mean),
            std=tuple(float(v) for v in image_processor.image_std),
            context_length=context,
            text_padding=cls.default_text_padding,
            embed_dim=cls.embed_dim_of(config),
        )

    @staticmethod
    def embed_dim_of(config: Any) -> int:
        """Joint embedding dimension ``D`` read from a model config."""
        raise NotImplementedError


class ClipEncoder(HFDualEncoder):
    """CLIP (Radford et al. 2021, "Learning Transferable Visual Models From Natural
    Language Supervision", §2.4–2.5) through ``transformers.CLIPModel``.

    Image and text embeddings are the projected pooled outputs (class token / end-of-text
    token), L2-normalised; ``logit_scale = exp(t)`` with the learned temperature ``t``
    and ``logit_bias = 0``.
    """

    arch = "clip"
    model_class_name = "CLIPModel"
    image_processor_class_name = "CLIPImageProcessorPil"
    default_text_padding = "longest"

    @property
    def logit_scale(self) -> float:
        """``exp(t)``, the multiplier of cosine similarities (Radford et al. 2021, Fig. 3)."""
        return float(self.model.logit_scale.detach().float().exp())

    @property
    def logit_bias(self) -> float:
        """Always 0 for CLIP."""
        return 0.0

    @staticmethod
    def embed_dim_of(config: Any) -> int:
        """Joint embedding size ``D`` of a ``CLIPConfig``: its projection dimension."""
        return int(config.projection_dim)


class SiglipEncoder(HFDualEncoder):
    """SigLIP (Zhai et al. 2023, "Sigmoid Loss for Language Image Pre-Training", §3)
    through ``transformers.SiglipModel``.

    Texts are padded to ``context_length`` and encoded without an attention mask, as the
    model was trained; the text embedding is the projected last token and the image
    embedding the attention-pooled (MAP head) output. Pair logits are
    ``exp(t') · cos + b`` with the learned ``t'`` and ``b`` (§3, Algorithm 1).
    """

    arch = "siglip"
    model_class_name = "SiglipModel"
    image_processor_class_name = "SiglipImageProcessorPil"
    default_text_padding = "max_length"
    _text_inputs = ("input_ids",)

    @property
    def logit_scale(self) -> float:
        """``exp(t')`` (Zhai et al. 2023, Algorithm 1)."""
        return float(self.model.logit_scale.detach().float().exp())

    @property
    def logit_bias(self) -> float:
        """The learned bias ``b`` (Zhai et al. 2023, Algorithm 1)."""
        return float(self.model.logit_bias.detach().float())

    @staticmethod
    def embed_dim_of(config: Any) -> int:
        """Joint embedding size ``D`` of a ``SiglipConfig``: the vision hidden size
        (SigLIP has no separate projection dimension)."""
        return int(config.vision_config.hidden_size)


SIGLIP_INIT_LOGIT_SCALE = math.log(10.0)
"""Initial ``t'`` of SigLIP (Zhai et al. 2023, §3 and Algorithm 1): ``exp(t') = 10``."""
SIGLIP_INIT_LOGIT_BIAS = -10.0
"""Initial bias ``b`` of SigLIP (Zhai et al. 2023, §3 and Algorithm 1)."""
