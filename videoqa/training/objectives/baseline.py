"""The ``baseline`` recipe: plain cross-entropy on the whole video, optional whole-video
mixup (Zhang et al., ICLR 2018): ``L = CE(M(V, Q), A) [+ w_m·L_m]``."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from videoqa.losses.mixup import plain_mixup, sample_mixup
from videoqa.losses.sparc import SparcLossParts
from videoqa.training.data import TrainBatch
from videoqa.training.objectives.base import (
    NamedObjective,
    forward_passes,
    mixup_fires,
    mixup_passes,
    mixup_term,
)


class BaselineObjective(NamedObjective):
    """Same backbone, no guidance. Options used: ``mixup`` and ``batch_passes``."""

    name = "baseline"
    requires_teacher = False

    def loss(self, model: nn.Module, batch: TrainBatch) -> SparcLossParts:
        qa, answers = batch.qa, batch.answers
        passes = [qa]
        mixed = None
        mix = self.options.mixup
        if mixup_fires(mix):
            perm, lam = sample_mixup(batch.batch_size, mix.alpha, mix.beta)
            device = qa.video.device
            mixed = plain_mixup(
                qa.video, qa.video_mask, perm.to(device), lam.to(device), patches=qa.patches
            )
            passes.append(mixup_passes(qa, mixed))
        logits = forward_passes(model, passes, self.options.batch_passes)
        main = F.cross_entropy(logits[0], answers)
        total, l_m = main, None
        if mixed is not None:
            l_m = mixup_term(logits[1], answers, mixed)
            total = main + mix.weight * l_m
        return SparcLossParts(total=total, main=main, mixup=l_m)
