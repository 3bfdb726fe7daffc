"""The ``sparc`` recipe (SpARC §3): causal-frame guidance, consistency, spatial
distillation and temporal-guided mixup, each switchable for the ablations:

==========================  ============================================================
options                     loss
==========================  ============================================================
full (default)              ``L_g + w_c·L_c + w_s·L_s``
temporal only (``w_s=0``)   ``L_g + w_c·L_c``
spatial only                ``CE(M(V, Q), A) + w_s·L_s`` (``temporal_guidance: false``)
``mixup.enabled``           ``+ w_m·L_m`` with temporal-guided mixup (§3.5)
==========================  ============================================================

Teacher probabilities are used only here, in training; evaluation runs the model on
the whole video. The passes ``M(V, Q)``, ``M(V_c, Q)``, ``M({f_i}, Q)`` and the two
mixup passes share shapes (only masks, frames and question rows differ), so with
``batch_passes`` they run as one forward.
"""

from __future__ import annotations

import torch
from torch import nn

from videoqa.losses.mixup import sample_mixup, temporal_guided_mixup
from videoqa.losses.sparc import (
    CausalFrames,
    SparcLossParts,
    answer_frame_probs,
    causal_frame_mask,
    sample_spatial_frames,
    single_frame_mask,
    sparc_loss,
)
from videoqa.models.base import QABatch
from videoqa.recipes.base import Recipe, forward_passes, mixup_fires, mixup_passes, mixup_term
from videoqa.training.config import RecipeConfig
from videoqa.training.data import TrainBatch


class SparcRecipe(Recipe):
    """SpARC training (needs teacher probabilities ``(B, T, C)`` on every batch)."""

    name = "sparc"
    requires_teacher = True

    @classmethod
    def from_config(cls, options: RecipeConfig) -> SparcRecipe:
        return cls(options)

    def causal_frames(self, batch: TrainBatch) -> CausalFrames:
        """``V_c`` of the batch (§3.2, Eq. 1) with the top-k fallback."""
        assert batch.teacher_probs is not None  # guaranteed by the trainer
        p = answer_frame_probs(batch.teacher_probs, batch.answers)
        opts = self.options
        return causal_frame_mask(p, batch.qa.video_mask, opts.threshold, opts.fallback_topk)

    def loss(self, model: nn.Module, batch: TrainBatch) -> SparcLossParts:
        opts, qa, answers = self.options, batch.qa, batch.answers
        mixing = mixup_fires(opts.mixup)
        causal = self.causal_frames(batch) if opts.temporal_guidance or mixing else None
        names: list[str] = []
        passes: list[QABatch] = []
        if not opts.temporal_guidance or opts.w_c > 0:
            names.append("full")
            passes.append(qa)
        if opts.temporal_guidance:
            names.append("causal")
            passes.append(qa.with_video(qa.video, causal.mask))  # type: ignore[union-attr]
        teacher_frame = None
        if opts.w_s > 0:
            frames = sample_spatial_frames(qa.video_mask)
            names.append("frame")
            passes.append(qa.with_video(qa.video, single_frame_mask(frames, qa.num_frames)))
            rows = torch.arange(batch.batch_size, device=frames.device)
            teacher_frame = batch.teacher_probs[rows, frames]  # type: ignore[index]
        mixed = None
        if mixing:
            perm, lam = sample_mixup(batch.batch_size, opts.mixup.alpha, opts.mixup.beta)
            device = qa.video.device
            mixed = temporal_guided_mixup(
                qa.video,
                qa.video_mask,
                causal.mask,
                perm.to(device),
                lam.to(device),  # type: ignore[union-attr]
            )
            names.append("mixup")
            passes.append(mixup_passes(qa, mixed))
        logits = dict(zip(names, forward_passes(model, passes, opts.batch_passes), strict=True))
        return sparc_loss(
            answers=answers,
            full_logits=logits.get("full"),
            causal_logits=logits.get("causal"),
            frame_logits=logits.get("frame"),
            teacher_frame_probs=teacher_frame,
            w_c=opts.w_c,
            w_s=opts.w_s,
            mixup=None if mixed is None else mixup_term(logits["mixup"], answers, mixed),
            w_m=opts.mixup.weight,
            fallback=0 if causal is None else causal.fallback_count,
        )
