"""VideoQA backbones (HGA, VGT, transformer baseline), their typed batch/output, the
word tokenizer and the model registry.

Importing this package registers every architecture in :data:`MODELS`.
"""

from videoqa.models.base import QABatch, QAOutput, VideoQAConfig, VideoQAModel
from videoqa.models.registry import MODELS, build_model, list_models, load_model, register_model
from videoqa.models.text import WordTokenizer

__all__ = [
    "MODELS",
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
