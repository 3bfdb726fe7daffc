"""Train the small CNN frame encoder from scratch on the synthetic benchmark's scene graphs.

Each training frame is a frame of a ``train`` video (a few per video, drawn with the
seed); its targets come from the frame's scene graph (``DIR/scene_graphs/<id>.json``):

* ``presence`` ``(V,)``: which attribute values are visible (multi-label over the
  ``V = 19`` sizes, colours, materials and shapes) — attribute and existence questions;
* ``count`` (class ``0..MAX_COUNT``): number of visible objects — count questions;
* ``centroid`` ``(V, 2)``: mean centre (x, y in [0, 1]) of the objects with each value,
  masked where absent — spatial relations, and motion through its change over frames;
* ``occupancy`` ``(G², V)``: which values have an object centred in each grid cell,
  predicted from each patch token alone — so patch tokens carry position and content.

Frame-level targets are predicted linearly from the frame embedding, so the embedding
itself (what the VideoQA models see) encodes them. This is the auxiliary-supervision
recipe of object-centric probes on CLEVR-like data (Johnson et al. 2017, CLEVR §4;
CLEVRER, Yi et al. 2020 §4, which supervise perception with rendered scene annotations)
reduced to a frame encoder; losses are binary/categorical cross-entropy and L1.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from videoqa.encoders.cnn import CNNConfig, CNNFrameEncoder
from videoqa.errors import DataFormatError, UsageError
from videoqa.synth.vocab import ATTRIBUTE_VALUES
from videoqa.video.reader import VideoReader

__all__ = [
    "ATTRIBUTE_LABELS",
    "CNNTrainConfig",
    "CNNTrainReport",
    "FrameTargets",
    "frame_targets",
    "train_cnn_encoder",
]

#: ``(attribute, value)`` of each of the ``V`` labels, in :data:`ATTRIBUTE_VALUES` order.
ATTRIBUTE_LABELS: tuple[tuple[str, str], ...] = tuple(
    (attr, value) for attr, values in ATTRIBUTE_VALUES.items() for value in values
)
MAX_COUNT = 10
_LABEL_INDEX = {label: i for i, label in enumerate(ATTRIBUTE_LABELS)}
_OCCUPANCY_POS_WEIGHT = 10.0  # positives are ~1 % of the cells x values
_CENTROID_WEIGHT = 5.0


class CNNTrainConfig(BaseModel):
    """Training settings (defaults: 6 epochs over 4 frames of each of 700 videos, 505 s
    measured on 2 CPU cores shared with other jobs, decoding included).

    Attributes:
        model: the encoder's sizes.
        epochs: passes over the training frames.
        frames_per_video: frames drawn per video (train and val).
        batch_size: frames per step.
        lr: peak learning rate of AdamW (one-cycle schedule).
        weight_decay: AdamW weight decay.
        seed: seeds the frame draw, the initialisation and the batch order.
        max_videos: at most this many videos per split (``None``: all).
    """

    model_config = ConfigDict(extra="forbid")

    model: CNNConfig = Field(default_factory=CNNConfig)
    epochs: int = Field(6, ge=1)
    frames_per_video: int = Field(4, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    seed: int = Field(0, ge=0)
    max_videos: int | None = Field(None, ge=1)


class CNNTrainReport(BaseModel):
    """Outcome of :func:`train_cnn_encoder`.

    Attributes:
        out: the folder the encoder was saved to.
        train_frames, val_frames: frames used.
        train_loss: mean training loss of each epoch.
        val_loss: loss on the validation frames after training.
        val: validation metrics: ``presence_<attr>`` (per-label accuracy of the values of
            each attribute), ``presence_exact`` (all ``V`` labels right), ``count``
            (accuracy), ``occupancy_f1`` (micro F1 over cells × values), ``centroid_mae_px``
            (mean absolute error of present centroids, pixels of the source frame).
        chance: the same metrics for a constant predictor (majority label / mean
            centroid of the training frames), for comparison.
        seconds: wall time.
    """

    out: str
    train_frames: int
    val_frames: int
    train_loss: list[float]
    val_loss: float
    val: dict[str, float]
    chance: dict[str, float]
    seconds: float


class FrameTargets(BaseModel):
    """Targets of ``N`` frames (numpy arrays).

    Attributes:
        presence: ``(N, V)`` float32 0/1. count: ``(N,)`` int64 in ``[0, MAX_COUNT]``.
        centroid: ``(N, V, 2)`` float32 in [0, 1] (0 where absent).
        occupancy: ``(N, G², V)`` float32 0/1.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    presence: np.ndarray
    count: np.ndarray
    centroid: np.ndarray
    occupancy: np.ndarray

    @classmethod
    def stack(cls, parts: list[FrameTargets]) -> FrameTargets:
        """Concatenate along the frame axis."""
        fields = ("presence", "count", "centroid", "occupancy")
        return cls(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields})

    def take(self, idx: np.ndarray) -> dict[str, torch.Tensor]:
        """Rows ``idx`` as tensors."""
        return {
            "presence": torch.from_numpy(self.presence[idx]),
            "count": torch.from_numpy(self.count[idx]),
            "centroid": torch.from_numpy(self.centroid[idx]),
            "occupancy": torch.from_numpy(self.occupancy[idx]),
        }


def frame_targets(objects: list[dict], width: float, height: float, grid: int) -> FrameTargets:
    """Targets of one frame from its scene-graph objects.

    Args:
        objects: the frame's objects (``color, shape, material, size, center`` [x, y] px).
        width, height: frame size in pixels.
        grid: ``G``, side of the patch grid.

    Returns:
        :class:`FrameTargets` with ``N = 1``.

    Raises:
        DataFormatError: an object without one of the attributes or a centre.
    """
    v = len(ATTRIBUTE_LABELS)
    presence = np.zeros((1, v), np.float32)
    sums = np.zeros((v, 2), np.float64)
    occupancy = np.zeros((1, grid * grid, v), np.float32)
    counts = np.zeros(v)
    for obj in objects:
        try:
            labels = [_LABEL_INDEX[(attr, obj[attr])] for attr in ATTRIBUTE_VALUES]
            x, y = float(obj["center"][0]) / width, float(obj["center"][1]) / height
        except (KeyError, TypeError, IndexError, ValueError) as err:
            raise DataFormatError(f"scene graph object without attributes/centre: {err}") from err
        cell = min(max(int(y * grid), 0), grid - 1) * grid + min(max(int(x * grid), 0), grid - 1)
        for label in labels:
            presence[0, label] = 1.0
            sums[label] += (x, y)
            counts[label] += 1
            occupancy[0, cell, label] = 1.0
    centroid = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], 0.0)
    return FrameTargets(
        presence=presence,
        count=np.array([min(len(objects), MAX_COUNT)], np.int64),
        centroid=centroid[None].astype(np.float32),
        occupancy=occupancy,
    )


def _split_videos(root: Path, split: str, limit: int | None) -> list[str]:
    """Video ids of a split: ``scene_graphs/<split>_*.json`` stems, sorted."""
    ids = sorted(p.stem for p in (root / "scene_graphs").glob(f"{split}_*.json"))
    if not ids:
        raise UsageError(f"no scene graphs of split {split!r} under {root / 'scene_graphs'}")
    return ids[:limit] if limit else ids


def _load_split(
    root: Path, split: str, cfg: CNNTrainConfig, rng: np.random.Generator
) -> tuple[np.ndarray, FrameTargets]:
    """Decoded frames ``(N, S, S, 3)`` uint8 and their targets, ``frames_per_video`` a video."""
    side, grid = cfg.model.image_size, cfg.model.grid
    frames, targets = [], []
    for video_id in _split_videos(root, split, cfg.max_videos):
        graph = json.loads((root / "scene_graphs" / f"{video_id}.json").read_text("utf-8"))
        per_frame = graph["frames"]
        count = min(cfg.frames_per_video, len(per_frame))
        chosen = np.sort(rng.choice(len(per_frame), size=count, replace=False))
        with VideoReader(root / "videos" / f"{video_id}.mp4") as reader:
            batch = reader.read_indices(chosen, size=(side, side))
        frames.append(batch.frames)
        for k in chosen:
            objs = per_frame[int(k)]["objects"]
            targets.append(frame_targets(objs, graph["width"], graph["height"], grid))
    return np.concatenate(frames), FrameTargets.stack(targets)


class _Heads(nn.Module):
    """Linear read-outs of the targets (training only; not saved)."""

    def __init__(self, config: CNNConfig) -> None:
        super().__init__()
        v = len(ATTRIBUTE_LABELS)
        self.presence = nn.Linear(config.embed_dim, v)
        self.count = nn.Linear(config.embed_dim, MAX_COUNT + 1)
        self.centroid = nn.Linear(config.embed_dim, v * 2)
        self.occupancy = nn.Linear(config.patch_dim, v)

    def forward(self, frame: torch.Tensor, patches: torch.Tensor) -> dict[str, torch.Tensor]:
        return {
            "presence": self.presence(frame),
            "count": self.count(frame),
            "centroid": self.centroid(frame).view(len(frame), -1, 2),
            "occupancy": self.occupancy(patches),
        }


def _loss(out: dict[str, torch.Tensor], tgt: dict[str, torch.Tensor]) -> torch.Tensor:
    mask = tgt["presence"].unsqueeze(-1)
    centroid = (F.l1_loss(out["centroid"], tgt["centroid"], reduction="none") * mask).sum()
    centroid = centroid / mask.sum().clamp(min=1.0) / 2.0
    pos_weight = torch.tensor(_OCCUPANCY_POS_WEIGHT)
    return (
        F.binary_cross_entropy_with_logits(out["presence"], tgt["presence"])
        + F.cross_entropy(out["count"], tgt["count"])
        + F.binary_cross_entropy_with_logits(
            out["occupancy"], tgt["occupancy"], pos_weight=pos_weight
        )
        + _CENTROID_WEIGHT * centroid
    )


def _metrics(out: dict[str, np.ndarray], tgt: FrameTargets, width: float) -> dict[str, float]:
    """Validation metrics of predictions ``out`` (probabilities / classes / centroids)."""
    result: dict[str, float] = {}
    right = (out["presence"] > 0.5) == (tgt.presence > 0.5)
    for attr in ATTRIBUTE_VALUES:
        cols = [i for i, (a, _) in enumerate(ATTRIBUTE_LABELS) if a == attr]
        result[f"presence_{attr}"] = float(right[:, cols].mean())
    result["presence_exact"] = float(right.all(axis=1).mean())
    result["count"] = float((out["count"] == tgt.count).mean())
    pred, true = out["occupancy"] > 0.5, tgt.occupancy > 0.5
    tp = float((pred & true).sum())
    denom = float(pred.sum() + true.sum())
    result["occupancy_f1"] = 2 * tp / denom if denom else 1.0
    mask = tgt.presence[..., None] > 0.5
    err = np.abs(out["centroid"] - tgt.centroid) * width
    result["centroid_mae_px"] = float((err * mask).sum() / max(mask.sum() * 2, 1))
    return result


def _chance(train: FrameTargets, val: FrameTargets) -> dict[str, np.ndarray]:
    """Constant predictions from the training frames' statistics."""
    n = len(val.count)
    present = train.presence[..., None] > 0
    mean_centroid = (train.centroid * present).sum(0) / np.maximum(present.sum(0), 1)
    return {
        "presence": np.broadcast_to(train.presence.mean(0), val.presence.shape),
        "count": np.full(n, np.bincount(train.count).argmax()),
        "occupancy": np.broadcast_to(train.occupancy.mean(0), val.occupancy.shape),
        "centroid": np.broadcast_to(mean_centroid, val.centroid.shape),
    }


@torch.inference_mode()
def _evaluate(
    model: CNNFrameEncoder, heads: _Heads, frames: np.ndarray, tgt: FrameTargets, batch: int
) -> tuple[float, dict[str, np.ndarray]]:
    model.eval()
    heads.eval()
    outs: dict[str, list[np.ndarray]] = {
        k: [] for k in ("presence", "count", "occupancy", "centroid")
    }
    total = 0.0
    for start in range(0, len(frames), batch):
        idx = np.arange(start, min(start + batch, len(frames)))
        out = heads(*model(model.preprocess(frames[idx])))
        total += float(_loss(out, tgt.take(idx))) * len(idx)
        outs["presence"].append(torch.sigmoid(out["presence"]).numpy())
        outs["count"].append(out["count"].argmax(-1).numpy())
        outs["occupancy"].append(torch.sigmoid(out["occupancy"]).numpy())
        outs["centroid"].append(out["centroid"].numpy())
    return total / max(len(frames), 1), {k: np.concatenate(v) for k, v in outs.items()}


def _train_epochs(
    model: CNNFrameEncoder,
    heads: _Heads,
    frames: np.ndarray,
    tgt: FrameTargets,
    cfg: CNNTrainConfig,
    progress: Callable[[int, float], None] | None,
) -> list[float]:
    params = list(model.parameters()) + list(heads.parameters())
    optim = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(frames) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=cfg.lr, total_steps=steps)
    order_rng = np.random.default_rng(cfg.seed + 1)
    losses = []
    for epoch in range(cfg.epochs):
        model.train()
        heads.train()
        order = order_rng.permutation(len(frames))
        total = 0.0
        for start in range(0, len(order), cfg.batch_size):
            idx = np.sort(order[start : start + cfg.batch_size])
            loss = _loss(heads(*model(model.preprocess(frames[idx]))), tgt.take(idx))
            optim.zero_grad()
            loss.backward()
            optim.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(frames))
        if progress is not None:
            progress(epoch + 1, losses[-1])
    return losses


def train_cnn_encoder(
    benchmark_dir: str | Path,
    out_dir: str | Path,
    config: CNNTrainConfig | None = None,
    *,
    progress: Callable[[int, float], None] | None = None,
) -> CNNTrainReport:
    """Train a :class:`CNNFrameEncoder` on ``train`` frames, validate on ``val`` frames,
    save it to ``out_dir`` (plus ``train_report.json``).

    Args:
        benchmark_dir: a ``videoqa synth`` folder with videos and scene graphs.
        out_dir: where to save the encoder (created).
        config: training settings (default :class:`CNNTrainConfig`).
        progress: called ``progress(epoch, mean_loss)`` after each epoch.

    Returns:
        :class:`CNNTrainReport` (losses, validation metrics vs a constant predictor).
        Same seed, same data, same machine: same weights.

    Raises:
        UsageError: no scene graphs of the train or val split.
        VideoError: a video cannot be decoded. DataFormatError: a malformed scene graph.
    """
    cfg = config or CNNTrainConfig()
    root, start = Path(benchmark_dir), time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    train_frames, train_tgt = _load_split(root, "train", cfg, rng)
    val_frames, val_tgt = _load_split(root, "val", cfg, rng)
    torch.manual_seed(cfg.seed)
    model, heads = CNNFrameEncoder(cfg.model), _Heads(cfg.model)
    losses = _train_epochs(model, heads, train_frames, train_tgt, cfg, progress)
    val_loss, out = _evaluate(model, heads, val_frames, val_tgt, cfg.batch_size)
    width = float(json.loads(next((root / "scene_graphs").glob("val_*.json")).read_text())["width"])
    model.eval().save_pretrained(out_dir)
    report = CNNTrainReport(
        out=str(out_dir),
        train_frames=len(train_frames),
        val_frames=len(val_frames),
        train_loss=losses,
        val_loss=val_loss,
        val=_metrics(out, val_tgt, width),
        chance=_metrics(_chance(train_tgt, val_tgt), val_tgt, width),
        seconds=time.perf_counter() - start,
    )
    payload = {"config": cfg.model_dump(mode="json"), "report": report.model_dump(mode="json")}
    (Path(out_dir) / "train_report.json").write_text(json.dumps(payload, indent=2), "utf-8")
    return report
