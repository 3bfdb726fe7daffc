"""MCG (arXiv:2410.09379): configuration, model and processor; importing registers
``model_type`` ``"mcg"`` in :data:`videoqa.persistence.PERSISTED`."""

from videoqa.models.mcg.configuration import MCGConfig, TextSettings, VideoSettings
from videoqa.models.mcg.modeling import MCG, build_mcg
from videoqa.models.mcg.processing import MCGBatch, MCGProcessor, MCGText, train_wordpiece_tokenizer

__all__ = [
    "MCG",
    "MCGBatch",
    "MCGConfig",
    "MCGProcessor",
    "MCGText",
    "TextSettings",
    "VideoSettings",
    "build_mcg",
    "train_wordpiece_tokenizer",
]
