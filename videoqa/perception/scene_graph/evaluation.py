"""Evaluation of the scene-graph predictor: SGCls and SGDet recall, detection and
attribute accuracy.

Protocols of Xu et al., "Scene Graph Generation by Iterative Message Passing", CVPR
2017, §5 and Zellers et al., "Neural Motifs", CVPR 2018, §5; see
:func:`evaluate_scene_graphs` and :class:`SceneGraphMetrics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

import torch
from pydantic import BaseModel

from videoqa.perception.scene_graph.data import FrameSet
from videoqa.perception.scene_graph.detector import box_iou
from videoqa.perception.scene_graph.motifs import (
    FrameSceneGraphs,
    SceneGraphPredictor,
    top_k_triplets,
)

__all__ = ["RECALL_KS", "SceneGraphMetrics", "evaluate_scene_graphs"]

RECALL_KS: tuple[int, ...] = (8, 20, 50)


class SceneGraphMetrics(BaseModel):
    """Validation metrics (all in [0, 1]).

    Attributes:
        frames: evaluated frames.
        det_recall, det_precision: detections matched one-to-one (greedy by score) to
            ground-truth boxes at IoU >= 0.5, over all frames.
        attribute_accuracy: per attribute of the label space, accuracy on ground-truth
            boxes (SGCls).
        object_accuracy: all attributes right, on ground-truth boxes.
        sgcls_recall: ``{K: R@K}`` with ground-truth boxes: a ground-truth triplet
            ``(s, p, o)`` is recalled when one of the frame's top-``K`` predicted triplets
            has the same two boxes, the same predicate, and all the predicted attributes
            of both objects are right.
        predicate_recall: ``{K: R@K}`` like ``sgcls_recall`` without the attribute
            condition (boxes and predicate only; PredCls-like).
        sgdet_recall: ``{K: R@K}`` with detected boxes: like ``sgcls_recall`` where the
            predicted subject and object boxes are the detections matched (IoU >= 0.5,
            one-to-one) to the ground-truth subject and object.
        recall_ceiling: ``{K: best possible R@K}``: a frame with more than ``K``
            ground-truth triplets cannot have them all in its top ``K``
            (``sum_f min(K, n_f) / sum_f n_f``).
        score: model selection score, mean of object accuracy, detection F1 and
            ``sgcls_recall[20]``.
    """

    frames: int
    det_recall: float
    det_precision: float
    attribute_accuracy: dict[str, float]
    object_accuracy: float
    sgcls_recall: dict[int, float]
    predicate_recall: dict[int, float]
    sgdet_recall: dict[int, float]
    recall_ceiling: dict[int, float]
    score: float


def _match(pred: torch.Tensor, gt: torch.Tensor) -> list[int]:
    """Greedy one-to-one matching at IoU >= 0.5: for each prediction (in score order)
    the index of its ground-truth box, or -1."""
    out = [-1] * len(pred)
    if not len(pred) or not len(gt):
        return out
    iou = box_iou(pred, gt)
    taken: set[int] = set()
    for i in range(len(pred)):
        for j in iou[i].argsort(descending=True).tolist():
            if iou[i, j] < 0.5:
                break
            if j not in taken:
                taken.add(j)
                out[i] = j
                break
    return out


def _recall_counts(
    top: torch.Tensor, correct: torch.Tensor, gt_slot: list[int], gt_rel: torch.Tensor
) -> tuple[int, int]:
    """Ground-truth triplets recalled by predicted triplets ``top`` ``(K, 3)`` of one frame.

    ``gt_slot[r]``: ground-truth slot of predicted object ``r`` (-1 none); ``correct[r]``:
    its attributes are all right; ``gt_rel`` ``(R, R, P)``: the ground-truth relations.
    """
    hits: set[tuple[int, int, int]] = set()
    for s, p, o in top.tolist():
        if p < 0 or s < 0:
            continue
        gs, go = gt_slot[s], gt_slot[o]
        if gs >= 0 and go >= 0 and correct[s] and correct[o] and gt_rel[gs, go, p] > 0:
            hits.add((gs, p, go))
    return len(hits), int(gt_rel.sum())


def _predict(model: SceneGraphPredictor, *inputs: torch.Tensor) -> FrameSceneGraphs:
    """``model.predict`` on the model's device, outputs back on the CPU."""
    device = next(model.parameters()).device
    out = model.predict(*(t.to(device) for t in inputs))
    return type(out)(**{f.name: getattr(out, f.name).cpu() for f in fields(out)})


def _sgcls(
    model: SceneGraphPredictor, batch: Sequence[torch.Tensor], acc: dict[str, list[float]]
) -> None:
    frames, boxes, mask, labels, relations = batch
    out = _predict(model, frames, boxes, mask)
    right = (out.object_labels == labels) & mask.unsqueeze(-1)
    for a, name in enumerate(model.config.label_space.attribute_names):
        acc[f"attr_{name}"][0] += float(right[..., a].sum())
    acc["objects"][0] += float(right.all(-1).sum())
    acc["objects"][1] += float(mask.sum())
    all_right = right.all(-1)
    for k in RECALL_KS:
        top = top_k_triplets(
            out.attribute_probs, out.boxes, out.object_scores, out.relation_probs, mask, k
        )
        for f in range(len(frames)):
            slots = list(range(boxes.shape[1]))
            hit, total = _recall_counts(top.triplets[f], all_right[f], slots, relations[f])
            hit_p, _ = _recall_counts(
                top.triplets[f], torch.ones_like(all_right[f]), slots, relations[f]
            )
            acc[f"sgcls_{k}"][0] += hit
            acc[f"sgcls_{k}"][1] += total
            acc[f"pred_{k}"][0] += hit_p
            acc[f"ceiling_{k}"][0] += min(k, total)


def _sgdet(
    model: SceneGraphPredictor, batch: Sequence[torch.Tensor], acc: dict[str, list[float]]
) -> None:
    frames, boxes, mask, labels, relations = batch
    out = _predict(model, frames)
    for k in RECALL_KS:
        top = top_k_triplets(
            out.attribute_probs,
            out.boxes,
            out.object_scores,
            out.relation_probs,
            out.object_mask,
            k,
        )
        for f in range(len(frames)):
            det = int(out.object_mask[f].sum())  # detections come first, sorted by score
            gt = int(mask[f].sum())  # ground-truth slots come first
            slot = _match(out.boxes[f, :det], boxes[f, :gt]) + [-1] * (out.boxes.shape[1] - det)
            correct = torch.tensor(
                [
                    s >= 0 and bool((out.object_labels[f, r] == labels[f, s]).all())
                    for r, s in enumerate(slot)
                ]
            )
            hit, total = _recall_counts(top.triplets[f], correct, slot, relations[f])
            acc[f"sgdet_{k}"][0] += hit
            acc[f"sgdet_{k}"][1] += total
            if k == RECALL_KS[0]:
                acc["det"][0] += sum(s >= 0 for s in slot)
                acc["det"][1] += det
                acc["gt"][1] += gt


def evaluate_scene_graphs(
    model: SceneGraphPredictor, data: FrameSet, batch_size: int = 64
) -> SceneGraphMetrics:
    """SGCls (ground-truth boxes) and SGDet (detected boxes) metrics on ``data``.

    Definitions are those of :class:`SceneGraphMetrics`. Recall@K counts, over all
    frames, the ground-truth triplets recalled by the frame's top-K triplets (score =
    predicate probability x subject and object confidence, no graph constraint: a pair
    may contribute several predicates, as the relations are multi-label) divided by the
    number of ground-truth triplets. The model runs in eval mode (inference mode) on its
    own device, ``batch_size`` frames at a time; no RNG is consumed.

    Args:
        model: the predictor; ``data``'s labels must be indexed in its label space.
        data: frames with ground truth (:func:`~videoqa.perception.scene_graph.data.load_frame_set`).
        batch_size: frames per forward pass.
    """
    names = model.config.label_space.attribute_names
    keys = [f"attr_{n}" for n in names] + ["objects", "det", "gt"]
    keys += [f"{p}_{k}" for p in ("sgcls", "pred", "sgdet", "ceiling") for k in RECALL_KS]
    acc = {key: [0.0, 0.0] for key in keys}
    for start in range(0, len(data), batch_size):
        batch = data.batch(slice(start, start + batch_size))
        _sgcls(model, batch, acc)
        _sgdet(model, batch, acc)
    n_obj = max(acc["objects"][1], 1.0)
    ratio = lambda hit, total: hit / max(total, 1.0)  # noqa: E731
    recall = ratio(acc["det"][0], acc["gt"][1])
    precision = ratio(acc["det"][0], acc["det"][1])
    f1 = 2 * recall * precision / max(recall + precision, 1e-9)
    sgcls = {k: ratio(*acc[f"sgcls_{k}"]) for k in RECALL_KS}
    obj_acc = acc["objects"][0] / n_obj
    return SceneGraphMetrics(
        frames=len(data),
        det_recall=recall,
        det_precision=precision,
        attribute_accuracy={n: acc[f"attr_{n}"][0] / n_obj for n in names},
        object_accuracy=obj_acc,
        sgcls_recall=sgcls,
        predicate_recall={k: ratio(acc[f"pred_{k}"][0], acc[f"sgcls_{k}"][1]) for k in RECALL_KS},
        sgdet_recall={k: ratio(*acc[f"sgdet_{k}"]) for k in RECALL_KS},
        recall_ceiling={k: ratio(acc[f"ceiling_{k}"][0], acc[f"sgcls_{k}"][1]) for k in RECALL_KS},
        score=(obj_acc + f1 + sgcls[20]) / 3,
    )
