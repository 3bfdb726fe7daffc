"""Base class of the backbone loss objectives (``baseline``, ``sparc``) and the batched
forward they share."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import torch
from torch import Tensor, nn

from videoqa.losses.mixup import MixedVideo, mixup_loss, mixup_pair_rows
from videoqa.models.base import QABatch
from videoqa.training.config import BaselineOptions, MixupConfig
from videoqa.training.objectives.objective import Objective


class NamedObjective(Objective):
    """A named loss objective built from its recipe's options section.

    Attributes:
        name: the recipe name it serves (``baseline``, ``sparc``).
        options: the options it was built with (:class:`BaselineOptions` or a subclass).
    """

    name: ClassVar[str] = ""

    def __init__(self, options: BaselineOptions) -> None:
        self.options = options


def cat_batches(batches: list[QABatch]) -> QABatch:
    """Stack batches of equal shapes (apart from B) row-wise into one ``QABatch``."""
    if len(batches) == 1:
        return batches[0]
    patches = None
    if all(b.patches is not None for b in batches):
        patches = torch.cat([b.patches for b in batches])  # type: ignore[misc]
    return QABatch(
        video=torch.cat([b.video for b in batches]),
        video_mask=torch.cat([b.video_mask for b in batches]),
        question=torch.cat([b.question for b in batches]),
        question_mask=torch.cat([b.question_mask for b in batches]),
        candidates=torch.cat([b.candidates for b in batches]),
        candidates_mask=torch.cat([b.candidates_mask for b in batches]),
        patches=patches,
    )


def forward_passes(model: nn.Module, passes: list[QABatch], batched: bool) -> list[Tensor]:
    """Logits ``(B_k, C)`` of each pass; with ``batched`` the passes (which share shapes)
    run as one forward of ``Σ B_k`` rows, else one forward each."""
    if not passes:
        return []
    if not batched or len(passes) == 1:
        return [model(p).logits for p in passes]
    logits = model(cat_batches(passes)).logits
    return list(torch.split(logits, [p.batch_size for p in passes]))


def mixup_passes(qa: QABatch, mixed: MixedVideo) -> QABatch:
    """The ``2B`` rows of the mixup loss: the mixed video with each row's own question,
    then with its partner's (SpARC §3.5; see :func:`videoqa.losses.mixup.mixup_loss`)."""
    rows = mixup_pair_rows(mixed.permutation)
    video = torch.cat([mixed.video, mixed.video])
    mask = torch.cat([mixed.video_mask, mixed.video_mask])
    paired = qa.index(rows).with_video(video, mask)
    if mixed.patches is not None:
        paired = replace(paired, patches=torch.cat([mixed.patches, mixed.patches]))
    return paired


def mixup_fires(options: MixupConfig) -> bool:
    """Whether this batch gets the mixup term (one draw of torch's global RNG)."""
    draw = float(torch.rand(()))
    return options.enabled and draw < options.prob


def mixup_term(logits: Tensor, answers: Tensor, mixed: MixedVideo) -> Tensor:
    """``L_m`` from the ``(2B, C)`` logits of :func:`mixup_passes`."""
    b = answers.shape[0]
    return mixup_loss(logits[:b], logits[b:], answers, mixed.permutation, mixed.lam)
