"""Stage 1 of SGVLM: pretraining the scene-graph predictor on frame scene graphs.

SGVLM (Dai et al., "Towards Fine-Grained Video Question Answering", 2025, §3.2)
pretrains its scene-graph predictor on annotated frame graphs and freezes it. Here the
annotations are the synthetic benchmark's ground truth. Losses per batch of frames:

- detector: CenterNet focal heatmap loss + 0.1 x L1 size + L1 offset (Zhou et al. 2019,
  Eq. 1-3 and the weights of §3);
- objects: cross-entropy per attribute on ground-truth boxes (SGCls training);
- relations: binary cross-entropy over every ordered pair of ground-truth boxes and every
  predicate (multi-label relations).

Evaluation protocols (Xu et al., CVPR 2017, §5; Zellers et al., CVPR 2018, §5), see
:func:`evaluate_scene_graphs`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from videoqa.perception.scene_graph.config import ATTRIBUTES, SceneGraphConfig
from videoqa.perception.scene_graph.data import FrameSet, load_frame_set
from videoqa.perception.scene_graph.detector import box_iou, centernet_losses, centernet_targets
from videoqa.perception.scene_graph.motifs import SceneGraphPredictor, top_k_triplets

__all__ = [
    "METRICS_FILE",
    "SceneGraphMetrics",
    "SceneGraphTrainSettings",
    "SceneGraphTrainReport",
    "evaluate_scene_graphs",
    "scene_graph_losses",
    "train_scene_graph_predictor",
]

METRICS_FILE = "metrics.json"
RECALL_KS: tuple[int, ...] = (8, 20, 50)


class SceneGraphTrainSettings(BaseModel):
    """Stage-1 training settings.

    Attributes:
        model: predictor configuration.
        epochs: passes over the training frames.
        frames_per_video: training frames decoded per video (a new random frame of each
            segment is *not* redrawn per epoch: frames are decoded once).
        val_frames_per_video: validation frames per video (segment centres).
        batch_size: frames per step.
        lr, weight_decay: AdamW (cosine decay to 5% of ``lr`` after a 3% warm-up).
        size_weight, offset_weight: CenterNet loss weights (0.1 and 1 in the paper).
        relation_weight: weight of the relation BCE.
        box_jitter: the object/relation branch sees ground-truth boxes whose sides move
            by up to this fraction of the box size (uniform), so that it also works on
            detected boxes.
        max_train_videos, max_val_videos: cap the videos used (``None``: all).
        threads: ``torch.set_num_threads`` during training (``None``: unchanged).
        seed: weights, frame choice and batch order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: SceneGraphConfig = Field(default_factory=SceneGraphConfig)
    epochs: int = Field(4, ge=1)
    frames_per_video: int = Field(8, ge=1)
    val_frames_per_video: int = Field(4, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    size_weight: float = Field(0.1, ge=0)
    offset_weight: float = Field(1.0, ge=0)
    relation_weight: float = Field(1.0, ge=0)
    box_jitter: float = Field(0.08, ge=0, lt=0.5)
    max_train_videos: int | None = Field(None, ge=1)
    max_val_videos: int | None = Field(None, ge=1)
    threads: int | None = Field(None, ge=1)
    seed: int = 0


class SceneGraphMetrics(BaseModel):
    """Validation metrics (all in [0, 1]).

    Attributes:
        frames: evaluated frames.
        det_recall, det_precision: detections matched one-to-one (greedy by score) to
            ground-truth boxes at IoU >= 0.5, over all frames.
        attribute_accuracy: per attribute, accuracy on ground-truth boxes (SGCls).
        object_accuracy: all four attributes right, on ground-truth boxes.
        sgcls_recall: ``{K: R@K}`` with ground-truth boxes: a ground-truth triplet
            ``(s, p, o)`` is recalled when one of the frame's top-``K`` predicted triplets
            has the same two boxes, the same predicate, and all four predicted attributes
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


class SceneGraphTrainReport(BaseModel):
    """What :func:`train_scene_graph_predictor` did (also written to ``metrics.json``).

    Attributes:
        settings: the settings used.
        train_frames, val_frames: frame counts.
        best_epoch: 1-based epoch of the saved weights.
        best: validation metrics of the saved weights.
        history: per epoch ``{"epoch", "loss", "score", "seconds"}``.
        decode_seconds, train_seconds, total_seconds: wall time.
    """

    settings: SceneGraphTrainSettings
    train_frames: int
    val_frames: int
    best_epoch: int
    best: SceneGraphMetrics
    history: list[dict[str, float]]
    decode_seconds: float
    train_seconds: float
    total_seconds: float


def scene_graph_losses(
    model: SceneGraphPredictor,
    batch: Sequence[torch.Tensor],
    settings: SceneGraphTrainSettings,
) -> dict[str, torch.Tensor]:
    """Stage-1 losses of one batch (see the module docstring).

    Args:
        batch: ``(images (B, 3, H, W) in [0, 1], boxes (B, R, 4), mask (B, R),
            labels (B, R, 4), relations (B, R, R, P))`` as from :meth:`FrameSet.batch`.

    Returns:
        ``{"total", "heatmap", "size", "offset", "attributes", "relations"}`` scalars.
    """
    frames, boxes, mask, labels, relations = batch
    images = model.prepare(frames)
    det = centernet_losses(
        model.detector(images), centernet_targets(boxes, mask, model.config.map_size)
    )
    noisy = boxes
    if settings.box_jitter > 0 and model.training:
        wh = (boxes[..., 2:] - boxes[..., :2]).repeat(1, 1, 2)
        noisy = (boxes + (torch.rand_like(boxes) * 2 - 1) * settings.box_jitter * wh).clamp(0, 1)
    out = model(images, noisy, mask)
    attr = sum(
        F.cross_entropy(logits.flatten(0, 1), labels[..., a].flatten(), ignore_index=-1)
        for a, logits in enumerate(out.attributes)
    ) / len(out.attributes)
    eye = torch.eye(boxes.shape[1], dtype=torch.bool)
    pairs = (mask[:, :, None] & mask[:, None, :] & ~eye).unsqueeze(-1).float()
    bce = F.binary_cross_entropy_with_logits(out.relations, relations, reduction="none")
    rel = (bce * pairs).sum() / (pairs.sum() * relations.shape[-1]).clamp(min=1)
    total = (
        det["heatmap"]
        + settings.size_weight * det["size"]
        + settings.offset_weight * det["offset"]
        + attr
        + settings.relation_weight * rel
    )
    return {**det, "attributes": attr, "relations": rel, "total": total}


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


def _sgcls(
    model: SceneGraphPredictor, batch: Sequence[torch.Tensor], acc: dict[str, list[float]]
) -> None:
    frames, boxes, mask, labels, relations = batch
    out = model.predict(frames, boxes, mask)
    right = (out.object_labels == labels) & mask.unsqueeze(-1)
    for a, name in enumerate(ATTRIBUTES):
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
    out = model.predict(frames)
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
    number of ground-truth triplets.
    """
    acc: dict[str, list[float]] = {}
    keys = [f"attr_{n}" for n in ATTRIBUTES] + ["objects", "det", "gt"]
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
        attribute_accuracy={n: acc[f"attr_{n}"][0] / n_obj for n in ATTRIBUTES},
        object_accuracy=obj_acc,
        sgcls_recall=sgcls,
        predicate_recall={k: ratio(acc[f"pred_{k}"][0], acc[f"sgcls_{k}"][1]) for k in RECALL_KS},
        sgdet_recall={k: ratio(*acc[f"sgdet_{k}"]) for k in RECALL_KS},
        recall_ceiling={k: ratio(acc[f"ceiling_{k}"][0], acc[f"sgcls_{k}"][1]) for k in RECALL_KS},
        score=(obj_acc + f1 + sgcls[20]) / 3,
    )


def _lr_at(step: int, total: int, base: float) -> float:
    warm = max(1, int(0.03 * total))
    if step < warm:
        return base * (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def _run_epoch(
    model: SceneGraphPredictor,
    data: FrameSet,
    optim: torch.optim.Optimizer,
    settings: SceneGraphTrainSettings,
    state: dict[str, int],
    progress: Progress,
    task: int,
) -> float:
    """One pass over ``data`` in a seeded random order; returns the mean total loss."""
    model.train()
    rng = np.random.default_rng([settings.seed, state["epoch"]])
    order = rng.permutation(len(data))
    losses: list[float] = []
    for start in range(0, len(order), settings.batch_size):
        index = np.sort(order[start : start + settings.batch_size])
        for group in optim.param_groups:
            group["lr"] = _lr_at(state["step"], state["total"], settings.lr)
        loss = scene_graph_losses(model, data.batch(index), settings)["total"]
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optim.step()
        state["step"] += 1
        losses.append(float(loss.detach()))
        progress.update(
            task,
            advance=1,
            description=f"epoch {state['epoch'] + 1} loss {np.mean(losses[-20:]):.3f}",
        )
    return float(np.mean(losses))


def _fit(
    train: FrameSet,
    val: FrameSet,
    out_dir: Path,
    settings: SceneGraphTrainSettings,
    show_progress: bool,
) -> tuple[SceneGraphMetrics, int, list[dict[str, float]]]:
    """Train for ``settings.epochs``, saving the model whenever the validation score
    improves; returns the best metrics, their 1-based epoch and the history."""
    torch.manual_seed(settings.seed)
    model = SceneGraphPredictor(settings.model)
    optim = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    steps = math.ceil(len(train) / settings.batch_size)
    state = {"epoch": 0, "step": 0, "total": steps * settings.epochs}
    history: list[dict[str, float]] = []
    best: tuple[SceneGraphMetrics, int] | None = None
    columns = (
        TextColumn("[bold]sg-train {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not show_progress, transient=True) as progress:
        task = progress.add_task("", total=state["total"])
        for epoch in range(settings.epochs):
            state["epoch"] = epoch
            tick = time.perf_counter()
            loss = _run_epoch(model, train, optim, settings, state, progress, task)
            metrics = evaluate_scene_graphs(model, val)
            seconds = time.perf_counter() - tick
            history.append(
                {"epoch": epoch + 1, "loss": loss, "score": metrics.score, "seconds": seconds}
            )
            if best is None or metrics.score > best[0].score:
                best = (metrics, epoch + 1)
                model.save_pretrained(out_dir)
    assert best is not None  # epochs >= 1
    return best[0], best[1], history


def train_scene_graph_predictor(
    bench_dir: str | Path,
    out_dir: str | Path,
    settings: SceneGraphTrainSettings | None = None,
    *,
    show_progress: bool = True,
) -> SceneGraphTrainReport:
    """Train the predictor on the ``train`` split, keep the best epoch on ``val``.

    Writes ``out_dir/config.json`` + ``model.safetensors`` (best epoch, see
    :meth:`SceneGraphPredictor.save_pretrained`) and ``out_dir/metrics.json`` (the
    :class:`SceneGraphTrainReport`).

    Args:
        bench_dir: synthetic benchmark folder (``videos/``, ``scene_graphs/``).
        out_dir: output folder (created).
        settings: :class:`SceneGraphTrainSettings`. Measured with the defaults on the
            1,000-video benchmark (700 train videos, 5,600 frames; 400 val frames), one
            torch thread on a 2-core CPU whose other core ran another training job:
            18 s decoding + 4 epochs of ~40 s = 184 s.
        show_progress: show a rich progress bar on stderr.

    Raises:
        DataFormatError: no scene graphs for train/val. VideoError: a video cannot be
        decoded.
    """
    settings = settings or SceneGraphTrainSettings()
    start = time.perf_counter()
    old_threads = torch.get_num_threads()
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    try:
        slots = settings.model.max_objects
        train = load_frame_set(
            Path(bench_dir), ["train"], settings.frames_per_video, seed=settings.seed,
            max_videos=settings.max_train_videos, slots=slots,
        )  # fmt: skip
        val = load_frame_set(
            Path(bench_dir), ["val"], settings.val_frames_per_video, seed=None,
            max_videos=settings.max_val_videos, slots=slots,
        )  # fmt: skip
        decoded = time.perf_counter()
        best, best_epoch, history = _fit(train, val, Path(out_dir), settings, show_progress)
    finally:
        torch.set_num_threads(old_threads)
    end = time.perf_counter()
    report = SceneGraphTrainReport(
        settings=settings,
        train_frames=len(train),
        val_frames=len(val),
        best_epoch=best_epoch,
        best=best,
        history=history,
        decode_seconds=decoded - start,
        train_seconds=end - decoded,
        total_seconds=end - start,
    )
    text = json.dumps(report.model_dump(mode="json"), indent=2)
    (Path(out_dir) / METRICS_FILE).write_text(text, "utf-8")
    return report
