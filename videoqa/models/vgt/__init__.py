"""VGT: video graph transformer with contrastive video-question/answer scoring
(Xiao et al., ECCV 2022)."""

from videoqa.models.vgt.configuration import VGTConfig
from videoqa.models.vgt.modeling import VGTModel

__all__ = ["VGTConfig", "VGTModel"]
