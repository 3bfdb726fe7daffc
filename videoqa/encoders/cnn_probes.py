"""Linear probe heads, losses and metrics that train the CNN frame encoder from scratch.

The encoder (:class:`~videoqa.encoders.cnn.CNNFrameEncoder`) learns from per-frame
targets over a label space of ``V`` attribute values (given by the dataset; the
synthetic benchmark's 19 sizes, colours, materials and shapes are built in
:mod:`videoqa.synth.frame_targets`):

* ``presence`` ``(V,)``: which values are visible (multi-label) — attribute and
  existence questions;
* ``count`` (class ``0..max_count``): number of visible objects — count questions;
* ``centroid`` ``(V, 2)``: mean centre (x, y in [0, 1]) of the objects with each value,
  masked where absent — spatial relations, and motion through its change over frames;
* ``occupancy`` ``(G², V)``: which values have an object centred in each grid cell,
  predicted from each patch token alone — so patch tokens carry position and content.

Frame-level targets are read linearly from the frame embedding, so the embedding itself
(what the VideoQA models see) encodes them. This is the auxiliary supervision of
object-centric probes on CLEVR-like data (Johnson et al. 2017, CLEVR §4; CLEVRER, Yi
et al. 2020 §4, which supervise perception with rendered scene annotations) reduced to
a frame encoder. Loss: ``BCE(presence) + CE(count) + BCE(occupancy, pos_weight) +
w_centroid · L1(centroid)``.

The heads are a persisted model of their own (``model_type`` ``"videoqa-cnn-probes"``)
so that a training run's best checkpoint keeps encoder and heads together; inference
(``videoqa extract features --encoder cnn:DIR``) reads only the encoder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn
from torch.utils.data import Dataset

from videoqa.encoders.cnn import CNNConfig, CNNFrameEncoder
from videoqa.errors import UsageError
from videoqa.persistence import PretrainedMixin

__all__ = [
    "CNNWithProbes",
    "FrameProbeDataset",
    "FrameTargets",
    "ProbeHeads",
    "ProbeHeadsConfig",
    "ProbeLossWeights",
    "chance_predictions",
    "evaluate_probes",
    "probe_loss",
    "probe_metrics",
]

PROBES_MODEL_TYPE = "videoqa-cnn-probes"
TARGET_FIELDS = ("presence", "count", "centroid", "occupancy")


@dataclass
class FrameTargets:
    """Targets of ``N`` frames (numpy arrays).

    Attributes:
        presence: ``(N, V)`` float32 0/1. count: ``(N,)`` int64 in ``[0, max_count]``.
        centroid: ``(N, V, 2)`` float32 in [0, 1] (0 where absent).
        occupancy: ``(N, G², V)`` float32 0/1.
    """

    presence: np.ndarray
    count: np.ndarray
    centroid: np.ndarray
    occupancy: np.ndarray

    def __len__(self) -> int:
        return len(self.count)

    @classmethod
    def stack(cls, parts: Sequence[FrameTargets]) -> FrameTargets:
        """Concatenate along the frame axis."""
        return cls(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in TARGET_FIELDS})

    def take(self, idx: np.ndarray) -> dict[str, Tensor]:
        """Rows ``idx`` as CPU tensors, keyed by field name."""
        return {
            f: torch.from_numpy(np.ascontiguousarray(getattr(self, f)[idx])) for f in TARGET_FIELDS
        }


class ProbeHeadsConfig(BaseModel):
    """Sizes of :class:`ProbeHeads`.

    Attributes:
        embed_dim, patch_dim: ``D`` and ``Dp`` of the encoder.
        num_labels: ``V``; max_count: the count classes are ``0..max_count``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    embed_dim: int = Field(gt=0)
    patch_dim: int = Field(gt=0)
    num_labels: int = Field(gt=0)
    max_count: int = Field(10, ge=1)


class ProbeHeads(PretrainedMixin, nn.Module):
    """Linear read-outs of the targets from a frame embedding ``(B, D)`` and patch
    tokens ``(B, P, Dp)``."""

    model_type = PROBES_MODEL_TYPE
    config_class = ProbeHeadsConfig

    def __init__(self, config: ProbeHeadsConfig) -> None:
        super().__init__()
        self.config = config
        v = config.num_labels
        self.presence = nn.Linear(config.embed_dim, v)
        self.count = nn.Linear(config.embed_dim, config.max_count + 1)
        self.centroid = nn.Linear(config.embed_dim, v * 2)
        self.occupancy = nn.Linear(config.patch_dim, v)

    def forward(self, frame: Tensor, patches: Tensor) -> dict[str, Tensor]:
        """Logits ``presence (B, V)``, ``count (B, max_count + 1)``, ``occupancy
        (B, P, V)`` and centroids ``(B, V, 2)``."""
        return {
            "presence": self.presence(frame),
            "count": self.count(frame),
            "centroid": self.centroid(frame).view(len(frame), -1, 2),
            "occupancy": self.occupancy(patches),
        }


class CNNWithProbes(nn.Module):
    """The encoder and its probe heads, trained together (parameters: encoder's, then
    the heads').

    Args:
        encoder: the frame encoder being trained.
        heads: the probe heads.
    """

    def __init__(self, encoder: CNNFrameEncoder, heads: ProbeHeads) -> None:
        super().__init__()
        self.encoder = encoder
        self.heads = heads

    @classmethod
    def build(cls, config: CNNConfig, num_labels: int, max_count: int) -> CNNWithProbes:
        """A new encoder of ``config`` then new heads (in that order: the same torch
        seed gives the same weights)."""
        encoder = CNNFrameEncoder(config)
        heads = ProbeHeads(
            ProbeHeadsConfig(
                embed_dim=config.embed_dim,
                patch_dim=config.patch_dim,
                num_labels=num_labels,
                max_count=max_count,
            )
        )
        return cls(encoder, heads)

    def forward(self, pixels: Tensor) -> dict[str, Tensor]:
        """``(B, 3, S, S)`` preprocessed frames → the heads' outputs."""
        return self.heads(*self.encoder(pixels))


@dataclass(frozen=True)
class ProbeLossWeights:
    """Weights of :func:`probe_loss`.

    Attributes:
        occupancy_pos_weight: BCE weight of a positive cell (positives are ~1 % of the
            cells × values on the synthetic benchmark).
        centroid: weight of the masked centroid L1.
    """

    occupancy_pos_weight: float = 10.0
    centroid: float = 5.0


def probe_loss(
    out: Mapping[str, Tensor], tgt: Mapping[str, Tensor], weights: ProbeLossWeights
) -> Tensor:
    """Scalar loss of the heads' outputs against the targets (see the module docstring);
    the centroid L1 is the mean over present (value, axis) entries."""
    mask = tgt["presence"].unsqueeze(-1)
    centroid = (F.l1_loss(out["centroid"], tgt["centroid"], reduction="none") * mask).sum()
    centroid = centroid / mask.sum().clamp(min=1.0) / 2.0
    pos_weight = torch.tensor(weights.occupancy_pos_weight, device=out["occupancy"].device)
    return (
        F.binary_cross_entropy_with_logits(out["presence"], tgt["presence"])
        + F.cross_entropy(out["count"], tgt["count"])
        + F.binary_cross_entropy_with_logits(
            out["occupancy"], tgt["occupancy"], pos_weight=pos_weight
        )
        + weights.centroid * centroid
    )


def probe_metrics(
    pred: Mapping[str, np.ndarray],
    tgt: FrameTargets,
    width: float,
    groups: Mapping[str, Sequence[int]],
) -> dict[str, float]:
    """Metrics of predictions (``presence``/``occupancy`` probabilities, ``count``
    classes, ``centroid`` positions in [0, 1]) against ``tgt``.

    Args:
        pred: as :func:`evaluate_probes` returns them.
        tgt: the true targets.
        width: frame width in pixels (centroid errors are reported in pixels).
        groups: attribute name → its label columns.

    Returns:
        ``presence_<attr>`` (per-label accuracy over the values of each attribute),
        ``presence_exact`` (all ``V`` labels right), ``count`` (accuracy),
        ``occupancy_f1`` (micro F1 over cells × values), ``centroid_mae_px`` (mean
        absolute error of present centroids, pixels).
    """
    result: dict[str, float] = {}
    right = (pred["presence"] > 0.5) == (tgt.presence > 0.5)
    for attr, cols in groups.items():
        result[f"presence_{attr}"] = float(right[:, list(cols)].mean())
    result["presence_exact"] = float(right.all(axis=1).mean())
    result["count"] = float((pred["count"] == tgt.count).mean())
    positive, true = pred["occupancy"] > 0.5, tgt.occupancy > 0.5
    tp = float((positive & true).sum())
    denom = float(positive.sum() + true.sum())
    result["occupancy_f1"] = 2 * tp / denom if denom else 1.0
    mask = tgt.presence[..., None] > 0.5
    err = np.abs(pred["centroid"] - tgt.centroid) * width
    result["centroid_mae_px"] = float((err * mask).sum() / max(mask.sum() * 2, 1))
    return result


def chance_predictions(train: FrameTargets, val: FrameTargets) -> dict[str, np.ndarray]:
    """Constant predictions from the training frames' statistics (mean presence and
    occupancy, majority count, mean present centroid), shaped like ``val``."""
    n = len(val)
    present = train.presence[..., None] > 0
    mean_centroid = (train.centroid * present).sum(0) / np.maximum(present.sum(0), 1)
    return {
        "presence": np.broadcast_to(train.presence.mean(0), val.presence.shape),
        "count": np.full(n, np.bincount(train.count).argmax()),
        "occupancy": np.broadcast_to(train.occupancy.mean(0), val.occupancy.shape),
        "centroid": np.broadcast_to(mean_centroid, val.centroid.shape),
    }


class FrameProbeDataset(Dataset):
    """Decoded frames and their targets held in memory; item ``i`` is the index ``i``
    and :meth:`collate` builds ``{"pixels": (B, 3, S, S), <target>: ...}``.

    Args:
        frames: ``(N, S, S, 3)`` uint8 RGB.
        targets: their :class:`FrameTargets`.
        encoder: supplies :meth:`CNNFrameEncoder.preprocess`.

    Raises:
        UsageError: frames and targets differ in number, or no frames.
    """

    def __init__(self, frames: np.ndarray, targets: FrameTargets, encoder: CNNFrameEncoder):
        if len(frames) != len(targets) or not len(frames):
            raise UsageError(f"{len(frames)} frames for {len(targets)} targets (need > 0, equal)")
        self.frames = frames
        self.targets = targets
        self.preprocess = encoder.preprocess

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> int:
        return int(index)

    def collate(self, indices: list[int]) -> dict[str, Tensor]:
        """``collate_fn`` of a DataLoader over this dataset (CPU tensors)."""
        idx = np.asarray(indices, np.int64)
        return {"pixels": self.preprocess(self.frames[idx]), **self.targets.take(idx)}


@torch.inference_mode()
def evaluate_probes(
    model: CNNWithProbes, data: FrameProbeDataset, batch_size: int, weights: ProbeLossWeights
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean loss per frame and the predictions on ``data`` (eval mode, on the model's
    device; its mode is restored).

    Returns:
        ``(loss, {"presence": (N, V) probabilities, "count": (N,) classes,
        "occupancy": (N, G², V) probabilities, "centroid": (N, V, 2)})``.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    outs: dict[str, list[np.ndarray]] = {k: [] for k in TARGET_FIELDS}
    total = 0.0
    for start in range(0, len(data), batch_size):
        batch = data.collate(list(range(start, min(start + batch_size, len(data)))))
        batch = {k: v.to(device) for k, v in batch.items()}
        out = model(batch["pixels"])
        total += float(probe_loss(out, batch, weights)) * len(batch["pixels"])
        outs["presence"].append(torch.sigmoid(out["presence"]).cpu().numpy())
        outs["count"].append(out["count"].argmax(-1).cpu().numpy())
        outs["occupancy"].append(torch.sigmoid(out["occupancy"]).cpu().numpy())
        outs["centroid"].append(out["centroid"].cpu().numpy())
    model.train(was_training)
    return total / len(data), {k: np.concatenate(v) for k, v in outs.items()}
