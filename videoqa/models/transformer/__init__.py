"""Single-stream transformer baseline: frames, question and candidates in one encoder."""

from videoqa.models.transformer.configuration import TransformerQAConfig
from videoqa.models.transformer.modeling import TransformerQAModel

__all__ = ["TransformerQAConfig", "TransformerQAModel"]
