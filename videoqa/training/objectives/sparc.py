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
``batch_passes`` they run as one forward. With ``split_backward`` (default) the
spatial and mixup terms are back-propagated right after their own forward, so at most
the two passes of ``L_g + w_c·L_c`` hold activations at once (peak memory about twice
a baseline step instead of three to five times; same gradients).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from videoqa.losses.mixup import MixedVideo, sample_mixup, temporal_guided_mixup
from videoqa.losses.sparc import (
    CausalFrames,
    SparcLossParts,
    answer_frame_probs,
    causal_frame_mask,
    sample_spatial_frames,
    single_frame_mask,
    sparc_loss,
    spatial_distillation_loss,
)
from videoqa.models.base import QABatch
from videoqa.training.data import TrainBatch
from videoqa.training.objectives.base import (
    NamedObjective,
    forward_passes,
    mixup_fires,
    mixup_passes,
    mixup_term,
)


class SparcObjective(NamedObjective):
    """SpARC training (needs teacher probabilities ``(B, T, C)`` on every batch)."""

    name = "sparc"
    requires_teacher = True

    def causal_frames(self, batch: TrainBatch) -> CausalFrames:
        """``V_c`` of the batch (§3.2, Eq. 1) with the top-k fallback."""
        assert batch.teacher_probs is not None  # guaranteed by the trainer
        p = answer_frame_probs(batch.teacher_probs, batch.answers)
        opts = self.options
        return causal_frame_mask(p, batch.qa.video_mask, opts.threshold, opts.fallback_topk)

    def _plan(self, batch: TrainBatch) -> _Plan:
        """Draw this step's randomness (in a fixed order) and build the passes."""
        opts, qa = self.options, batch.qa
        mixing = mixup_fires(opts.mixup)
        causal = self.causal_frames(batch) if opts.temporal_guidance or mixing else None
        plan = _Plan(fallback=0 if causal is None else causal.fallback_count)
        if not opts.temporal_guidance or opts.w_c > 0:
            plan.passes["full"] = qa
        if opts.temporal_guidance:
            plan.passes["causal"] = qa.with_video(qa.video, causal.mask)  # type: ignore[union-attr]
        if opts.w_s > 0:
            frames = sample_spatial_frames(qa.video_mask)
            plan.passes["frame"] = qa.with_video(qa.video, single_frame_mask(frames, qa.num_frames))
            rows = torch.arange(batch.batch_size, device=frames.device)
            plan.teacher_frame = batch.teacher_probs[rows, frames]  # type: ignore[index]
        if mixing:
            perm, lam = sample_mixup(batch.batch_size, opts.mixup.alpha, opts.mixup.beta)
            device = qa.video.device
            plan.mixed = temporal_guided_mixup(
                qa.video,
                qa.video_mask,
                causal.mask,
                perm.to(device),
                lam.to(device),  # type: ignore[union-attr]
                patches=qa.patches,
            )
            plan.passes["mixup"] = mixup_passes(qa, plan.mixed)
        return plan

    def loss(self, model: nn.Module, batch: TrainBatch) -> SparcLossParts:
        opts, answers = self.options, batch.answers
        plan = self._plan(batch)
        names = list(plan.passes)
        outputs = forward_passes(model, list(plan.passes.values()), opts.batch_passes)
        logits = dict(zip(names, outputs, strict=True))
        mixed = plan.mixed
        return sparc_loss(
            answers=answers,
            full_logits=logits.get("full"),
            causal_logits=logits.get("causal"),
            frame_logits=logits.get("frame"),
            teacher_frame_probs=plan.teacher_frame,
            w_c=opts.w_c,
            w_s=opts.w_s,
            mixup=None if mixed is None else mixup_term(logits["mixup"], answers, mixed),
            w_m=opts.mixup.weight,
            fallback=plan.fallback,
        )

    def backward_loss(
        self, model: nn.Module, batch: TrainBatch, backward: Callable[[Tensor], None]
    ) -> SparcLossParts:
        """With ``split_backward``: ``w_s·L_s`` and ``w_m·L_m`` are back-propagated right
        after their own forward, then ``L_g + w_c·L_c`` (whose two passes are batched);
        the gradients equal those of one backward of the total. Returned terms are
        detached."""
        opts, answers = self.options, batch.answers
        if not opts.split_backward:
            return super().backward_loss(model, batch, backward)
        plan = self._plan(batch)
        spatial = mixup = None
        extra = torch.zeros(())
        if "frame" in plan.passes:
            frame_logits = model(plan.passes["frame"]).logits
            spatial = spatial_distillation_loss(frame_logits, plan.teacher_frame)  # type: ignore[arg-type]
            backward(opts.w_s * spatial)
            spatial = spatial.detach()
            extra = extra + opts.w_s * spatial.cpu()
        if plan.mixed is not None:
            mixup = mixup_term(model(plan.passes["mixup"]).logits, answers, plan.mixed)
            backward(opts.mixup.weight * mixup)
            mixup = mixup.detach()
            extra = extra + opts.mixup.weight * mixup.cpu()
        names = [n for n in ("full", "causal") if n in plan.passes]
        outputs = forward_passes(model, [plan.passes[n] for n in names], opts.batch_passes)
        logits = dict(zip(names, outputs, strict=True))
        main = sparc_loss(
            answers=answers,
            full_logits=logits.get("full"),
            causal_logits=logits.get("causal"),
            w_c=opts.w_c,
        )
        backward(main.total)
        return SparcLossParts(
            total=main.total.detach() + extra.to(main.total.device),
            main=main.main.detach(),
            consistency=None if main.consistency is None else main.consistency.detach(),
            spatial=spatial,
            mixup=mixup,
            fallback=plan.fallback,
        )


@dataclass
class _Plan:
    """The passes of one step and what their losses need."""

    passes: dict[str, QABatch] = field(default_factory=dict)
    teacher_frame: Tensor | None = None
    mixed: MixedVideo | None = None
    fallback: int = 0
