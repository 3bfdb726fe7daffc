"""VideoQA backbones (HGA, VGT, transformer baseline), their typed batch/output, the
word tokenizer and the model registry.

Importing this package registers every architecture in :data:`MODELS`.
"""

from videoqa.models.base import QABatch, QAOutput, VideoQAConfig, VideoQAModel
from videoqa.models.registry import MODELS, build_model, list_models, load_model, register_model
from videoqa.models.text import WordTokenizer

# importing the architectures registers them in MODELS
from videoqa.models.hga import HGAConfig, HGAModel  # noqa: E402  isort: skip
from videoqa.models.transformer import TransformerQAConfig, TransformerQAModel  # noqa: E402  isort: skip
from videoqa.models.vgt import VGTConfig, VGTModel  # noqa: E402  isort: skip

__all__ = [
    "MODELS",
    "HGAConfig",
    "HGAModel",
    "TransformerQAConfig",
    "TransformerQAModel",
    "VGTConfig",
    "VGTModel",
    "QABatch",
    "QAOutput",
    "VideoQAConfig",
    "VideoQAModel",
    "WordTokenizer",
    "build_model",
    "list_models",
    "load_model",
    "register_model",
]
