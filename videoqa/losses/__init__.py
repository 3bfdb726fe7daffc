"""Training losses: SpARC's guided, consistency and spatial-distillation terms
(:mod:`videoqa.losses.sparc`) and temporal-guided / plain mixup (:mod:`videoqa.losses.mixup`)."""

from videoqa.losses.mixup import (
    MixedVideo,
    mixup_loss,
    mixup_pair_rows,
    plain_mixup,
    sample_mixup,
    temporal_guided_mixup,
)
from videoqa.losses.sparc import (
    CausalFrames,
    SparcLossParts,
    answer_frame_probs,
    causal_frame_mask,
    consistency_loss,
    guided_loss,
    sample_spatial_frames,
    single_frame_mask,
    sparc_loss,
    spatial_distillation_loss,
)

__all__ = [
    "CausalFrames",
    "MixedVideo",
    "SparcLossParts",
    "answer_frame_probs",
    "causal_frame_mask",
    "consistency_loss",
    "guided_loss",
    "mixup_loss",
    "mixup_pair_rows",
    "plain_mixup",
    "sample_mixup",
    "sample_spatial_frames",
    "single_frame_mask",
    "sparc_loss",
    "spatial_distillation_loss",
    "temporal_guided_mixup",
]
