"""Stage-1 losses of SGVLM: pretraining the scene-graph predictor on frame scene graphs.

SGVLM (Dai et al., "Towards Fine-Grained Video Question Answering", 2025, §3.2)
pretrains its scene-graph predictor on annotated frame graphs and freezes it. Losses per
batch of frames (:func:`scene_graph_losses`):

- detector: CenterNet focal heatmap loss + 0.1 x L1 size + L1 offset (Zhou et al.,
  "Objects as Points", 2019, Eq. 1-3 and the weights of §3);
- objects: cross-entropy per attribute on ground-truth boxes (SGCls training, Xu et al.,
  CVPR 2017, §5), averaged over the attributes of the label space;
- relations: binary cross-entropy over every ordered pair of ground-truth boxes and every
  predicate (multi-label relations).

The ``sg-predictor`` recipe (:mod:`videoqa.recipes.scene_graph`) trains with them on the
shared loop; :mod:`.evaluation` scores the result.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field

from videoqa.perception.scene_graph.detector import centernet_losses, centernet_targets
from videoqa.perception.scene_graph.motifs import SceneGraphPredictor

__all__ = ["SceneGraphLossWeights", "scene_graph_losses"]


class SceneGraphLossWeights(BaseModel):
    """Weights and augmentation of the stage-1 losses.

    Attributes:
        size_weight, offset_weight: CenterNet loss weights (0.1 and 1 in the paper).
        relation_weight: weight of the relation BCE.
        box_jitter: the object/relation branch sees ground-truth boxes whose sides move
            by up to this fraction of the box size (uniform, training mode only), so that
            it also works on detected boxes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    size_weight: float = Field(0.1, ge=0)
    offset_weight: float = Field(1.0, ge=0)
    relation_weight: float = Field(1.0, ge=0)
    box_jitter: float = Field(0.08, ge=0, lt=0.5)


def scene_graph_losses(
    model: SceneGraphPredictor,
    batch: Sequence[torch.Tensor],
    weights: SceneGraphLossWeights,
) -> dict[str, torch.Tensor]:
    """Stage-1 losses of one batch (see the module docstring).

    Randomness (the box jitter) comes from torch's global RNG.

    Args:
        model: the predictor (jitter only in training mode).
        batch: ``(images (B, 3, H, W) in [0, 1], boxes (B, R, 4) normalised xyxy,
            mask (B, R) bool, labels (B, R, n_attributes) int64 (-1 pad),
            relations (B, R, R, P) float)`` as from
            :meth:`~videoqa.perception.scene_graph.data.FrameSet.batch`.
        weights: :class:`SceneGraphLossWeights`.

    Returns:
        ``{"heatmap", "size", "offset", "attributes", "relations", "total"}`` scalars
        (``total`` is the weighted sum that is back-propagated).
    """
    frames, boxes, mask, labels, relations = batch
    images = model.prepare(frames)
    det = centernet_losses(
        model.detector(images), centernet_targets(boxes, mask, model.config.map_size)
    )
    noisy = boxes
    if weights.box_jitter > 0 and model.training:
        wh = (boxes[..., 2:] - boxes[..., :2]).repeat(1, 1, 2)
        noisy = (boxes + (torch.rand_like(boxes) * 2 - 1) * weights.box_jitter * wh).clamp(0, 1)
    out = model(images, noisy, mask)
    attr = sum(
        F.cross_entropy(logits.flatten(0, 1), labels[..., a].flatten(), ignore_index=-1)
        for a, logits in enumerate(out.attributes)
    ) / len(out.attributes)
    eye = torch.eye(boxes.shape[1], dtype=torch.bool, device=boxes.device)
    pairs = (mask[:, :, None] & mask[:, None, :] & ~eye).unsqueeze(-1).float()
    bce = F.binary_cross_entropy_with_logits(out.relations, relations, reduction="none")
    rel = (bce * pairs).sum() / (pairs.sum() * relations.shape[-1]).clamp(min=1)
    total = (
        det["heatmap"]
        + weights.size_weight * det["size"]
        + weights.offset_weight * det["offset"]
        + attr
        + weights.relation_weight * rel
    )
    return {**det, "attributes": attr, "relations": rel, "total": total}
