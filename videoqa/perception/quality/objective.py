"""The training form of the quality MLP and its objective (stage 1 + 2 of VQA²).

:class:`QualityNet` is the PyTorch form of :class:`~videoqa.perception.quality.model.QualityModel`
(same equations, float32 parameters; the standardization is fixed before training):
``z = (slog(x) - mean) / std``, ``h = relu(W1 dropout(z) + b1)``, class logits
``Wc h + bc`` over ``none`` + the nine distortion kinds and scores ``sigmoid(Ws h + bs)``
in [0, 1] (``1 + 4 s`` on the 1-5 scale).

The loss of a batch (:func:`quality_loss`) is the class-weighted cross-entropy on the
distortion kind (weights inversely proportional to the class counts, ``none`` weighted
up by ``none_weight``, :func:`class_weights`) + ``score_weight`` x the mean squared
error of the scores against the level-calibrated targets scaled to [0, 1]
(:func:`~videoqa.perception.quality.dataset.score_targets`) + ``l2 (|W1|² + |Wc|² +
|Ws|²)``. The ``quality`` recipe (:mod:`videoqa.recipes.quality`) trains it full-batch
on the shared loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from videoqa.errors import UsageError
from videoqa.perception.quality.distort import DistortionKind
from videoqa.perception.quality.model import CLASS_NAMES, SCORE_NAMES, QualityModel, slog

__all__ = [
    "QualityLossWeights",
    "QualityNet",
    "QualityNetConfig",
    "class_weights",
    "quality_loss",
    "standardization",
]


class QualityNetConfig(BaseModel):
    """Sizes of :class:`QualityNet`.

    Attributes:
        hidden_size: hidden units ``H``.
        dropout: dropout rate on the standardized inputs in training mode.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    hidden_size: int = Field(64, ge=1)
    dropout: float = Field(0.5, ge=0, lt=1)


class QualityLossWeights(BaseModel):
    """Weights of :func:`quality_loss`.

    Attributes:
        score_weight: weight of the score MSE (scores scaled to [0, 1]) against the
            cross-entropy.
        none_weight: extra factor on the cross-entropy weight of class ``none``.
        l2: penalty ``l2 (|W1|² + |Wc|² + |Ws|²)`` added to the loss.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    score_weight: float = Field(4.0, ge=0)
    none_weight: float = Field(2.0, ge=0)
    l2: float = Field(1e-3, ge=0)


def standardization(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std ``(D,)`` of ``slog(features)`` over the ``(N, D)`` units (a std below
    1e-6 becomes 1, so constant features stay 0)."""
    x = slog(np.asarray(features, np.float64))
    mean, std = x.mean(axis=0), x.std(axis=0)
    return mean, np.where(std < 1e-6, 1.0, std)


def class_weights(classes: np.ndarray, none_weight: float) -> np.ndarray:
    """Cross-entropy weight ``(C,)`` of each class: ``N / (C count_c)`` (0 for an absent
    class), the ``none`` weight multiplied by ``none_weight``."""
    n = len(classes)
    counts = np.bincount(classes, minlength=len(CLASS_NAMES)).astype(np.float64)
    weight = np.where(counts > 0, n / (len(CLASS_NAMES) * np.maximum(counts, 1)), 0.0)
    weight[CLASS_NAMES.index(DistortionKind.NONE.value)] *= none_weight
    return weight


class QualityNet(nn.Module):
    """The quality MLP in PyTorch, for training (see the module docstring).

    Args:
        feature_names: the ``D`` unit feature names.
        mean, std: ``(D,)`` standardization of ``slog(features)`` (:func:`standardization`).
        config: :class:`QualityNetConfig`.

    Parameters are created in the order hidden, classifier, scorer (the seeded init and
    the optimiser's parameter order depend on it).
    """

    def __init__(
        self,
        feature_names: Sequence[str],
        mean: np.ndarray,
        std: np.ndarray,
        config: QualityNetConfig | None = None,
    ) -> None:
        super().__init__()
        self.config = config = config or QualityNetConfig()
        self.feature_names = tuple(feature_names)
        d = len(self.feature_names)
        if np.shape(mean) != (d,) or np.shape(std) != (d,):
            raise UsageError(f"mean/std must be ({d},), got {np.shape(mean)}, {np.shape(std)}")
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float64))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float64))
        self.hidden = nn.Linear(d, config.hidden_size)
        self.head_c = nn.Linear(config.hidden_size, len(CLASS_NAMES))
        self.head_s = nn.Linear(config.hidden_size, len(SCORE_NAMES))

    def standardize(self, features: np.ndarray) -> Tensor:
        """``(N, D)`` raw unit features → standardized float32 ``z``."""
        z = (slog(np.asarray(features, np.float64)) - self.mean.numpy()) / self.std.numpy()
        return torch.tensor(z, dtype=torch.float32)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Class logits ``(N, C)`` and scores in [0, 1] ``(N, S)`` of standardized ``z``
        ``(N, D)`` (input dropout in training mode)."""
        h = torch.relu(self.hidden(F.dropout(z, self.config.dropout, training=self.training)))
        return self.head_c(h), torch.sigmoid(self.head_s(h))

    def to_quality_model(self, report: dict[str, Any] | None = None) -> QualityModel:
        """The NumPy :class:`QualityModel` with these parameters (float64 copies)."""
        w = {
            name: t.detach().cpu().numpy().astype(np.float64)
            for name, t in (
                ("w1", self.hidden.weight), ("b1", self.hidden.bias),
                ("wc", self.head_c.weight), ("bc", self.head_c.bias),
                ("ws", self.head_s.weight), ("bs", self.head_s.bias),
            )
        }  # fmt: skip
        return QualityModel(
            self.feature_names,
            self.mean.cpu().numpy().copy(),
            self.std.cpu().numpy().copy(),
            report=dict(report or {}),
            **w,
        )

    @torch.no_grad()
    def load_quality_model(self, model: QualityModel) -> None:
        """Copy the parameters of ``model`` (same names and sizes) into this net.

        Raises:
            UsageError: other feature names or sizes.
        """
        if tuple(model.feature_names) != self.feature_names or model.w1.shape != tuple(
            self.hidden.weight.shape
        ):
            raise UsageError("the quality model does not match this net (features or sizes)")
        self.mean.copy_(torch.from_numpy(np.asarray(model.mean, np.float64)))
        self.std.copy_(torch.from_numpy(np.asarray(model.std, np.float64)))
        for layer, (w, b) in (
            (self.hidden, (model.w1, model.b1)),
            (self.head_c, (model.wc, model.bc)),
            (self.head_s, (model.ws, model.bs)),
        ):
            layer.weight.copy_(torch.from_numpy(np.asarray(w)).to(layer.weight.dtype))
            layer.bias.copy_(torch.from_numpy(np.asarray(b)).to(layer.bias.dtype))


def quality_loss(
    net: QualityNet,
    z: Tensor,
    classes: Tensor,
    scores01: Tensor,
    weight: Tensor,
    weights: QualityLossWeights,
) -> dict[str, Tensor]:
    """The loss of a batch (see the module docstring).

    Args:
        net: the model, or its DDP wrapper (input dropout when in training mode;
            randomness from torch's global RNG).
        z: ``(B, D)`` standardized float32 inputs. classes: ``(B,)`` int64 class
            indices into ``CLASS_NAMES``, or ``(B, C)`` float32 class probabilities
            (two-way combinations: half on each kind; cross-entropy with soft targets). scores01: ``(B, S)`` float32 targets in [0, 1].
        weight: ``(C,)`` float32 class weights (:func:`class_weights`).
        weights: :class:`QualityLossWeights`.

    Returns:
        ``{"loss", "ce", "mse", "l2"}`` scalars (``loss`` = ``ce + score_weight mse +
        l2``, the one back-propagated).
    """
    logits, scores = net(z)
    ce = F.cross_entropy(logits, classes, weight=weight)
    mse = torch.mean((scores - scores01) ** 2)
    loss = ce + weights.score_weight * mse
    l2 = torch.zeros((), device=z.device)
    if weights.l2 > 0:
        inner = getattr(net, "module", net)  # a DDP-wrapped net keeps its layers in .module
        layers = (inner.hidden, inner.head_c, inner.head_s)
        l2 = weights.l2 * sum((m.weight**2).sum() for m in layers)
        loss = loss + l2
    return {"loss": loss, "ce": ce, "mse": mse, "l2": l2}
