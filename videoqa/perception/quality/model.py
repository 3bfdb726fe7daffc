"""The trained quality model: distortion classifier (stage 1) and scorer (stage 2).

One small multi-task MLP over the per-second unit features (:mod:`.features`):

``z = (slog(x) - mean) / std``, ``h = relu(W1 z + b1)``, then a classifier head
``softmax(Wc h + bc)`` over ``none`` + the nine distortion kinds and a scorer head
``1 + 4 * sigmoid(Ws h + bs)`` giving the overall score and the five dimension scores on
the 1-5 scale (``slog(x) = sign(x) log(1 + |x|)`` tames the heavy-tailed features).

Inference is NumPy only. A saved model is a checkpoint folder (``config.json`` with the
feature, class and score names and the training report, ``model.safetensors`` with the
parameters), so it carries everything needed to check it matches the feature
extractor; the single-file format used before (one safetensors file, names and report
in its metadata, as the shipped model still is) is read by :meth:`QualityModel.load`.
Training: the ``quality`` recipe (:mod:`videoqa.recipes.quality`, PyTorch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from safetensors.numpy import load_file

from videoqa.errors import CheckpointError, ModelUnavailableError
from videoqa.perception.quality.distort import DistortionKind
from videoqa.persistence import PretrainedMixin

CLASS_NAMES: tuple[str, ...] = tuple(k.value for k in DistortionKind)
"""Classifier outputs: ``none`` then the nine distortion kinds."""

DIMENSIONS: dict[str, tuple[DistortionKind, ...]] = {
    "sharpness": (DistortionKind.BLUR, DistortionKind.LOW_RESOLUTION),
    "noise": (DistortionKind.NOISE,),
    "compression": (DistortionKind.COMPRESSION,),
    "exposure": (DistortionKind.UNDEREXPOSURE, DistortionKind.OVEREXPOSURE),
    "temporal_stability": (DistortionKind.STUTTER, DistortionKind.FLICKER, DistortionKind.SHAKE),
}
"""Quality dimensions of the report and the distortion kinds that lower each."""

SCORE_NAMES: tuple[str, ...] = ("overall", *DIMENSIONS)
"""Scorer outputs, in order."""

MODEL_RESOURCE = "model.safetensors"
"""Name of the shipped model in ``videoqa/resources/quality`` (a single file in the old
format, or a checkpoint folder: a ``quality`` recipe run's ``checkpoints/best``)."""

_TENSORS = ("mean", "std", "w1", "b1", "wc", "bc", "ws", "bs")


def slog(x: np.ndarray) -> np.ndarray:
    """``sign(x) * log(1 + |x|)``, elementwise."""
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass(frozen=True)
class QualityPrediction:
    """Model outputs for ``U`` units.

    Attributes:
        probabilities: ``(U, C)`` class probabilities, columns in ``class_names`` order.
        scores: ``(U, S)`` scores on the 1-5 scale, columns in ``score_names`` order.
        class_names: the ``C`` class names (``none`` first).
        score_names: the ``S`` score names (``overall`` first).
    """

    probabilities: np.ndarray
    scores: np.ndarray
    class_names: tuple[str, ...] = CLASS_NAMES
    score_names: tuple[str, ...] = SCORE_NAMES


class QualityConfig(BaseModel):
    """What ``config.json`` of a :class:`QualityModel` holds.

    Attributes:
        feature_names: the ``D`` input feature names, in order.
        hidden_size: ``H``.
        class_names, score_names: the output names it was trained for (must equal
            :data:`CLASS_NAMES` / :data:`SCORE_NAMES` to load).
        report: free-form training facts.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    feature_names: tuple[str, ...]
    hidden_size: int = Field(gt=0)
    class_names: tuple[str, ...] = CLASS_NAMES
    score_names: tuple[str, ...] = SCORE_NAMES
    report: dict[str, Any] = Field(default_factory=dict)


@dataclass
class QualityModel(PretrainedMixin):
    """Parameters of the quality MLP (see the module docstring for the equations).

    Checkpoints (:class:`~videoqa.persistence.PretrainedMixin`): ``config.json``
    (``model_type`` ``"quality-mlp"`` + :class:`QualityConfig`) and ``model.safetensors``
    (the eight arrays, float64); :meth:`load` also reads the older single-file format.

    Attributes:
        feature_names: the ``D`` input feature names, in order.
        mean, std: ``(D,)`` standardization of ``slog(features)``.
        w1, b1: ``(H, D)``, ``(H,)`` hidden layer.
        wc, bc: ``(C, H)``, ``(C,)`` classifier head.
        ws, bs: ``(S, H)``, ``(S,)`` scorer head.
        report: free-form training facts (data, metrics) stored with the model.
    """

    feature_names: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    wc: np.ndarray
    bc: np.ndarray
    ws: np.ndarray
    bs: np.ndarray
    report: dict = field(default_factory=dict)

    model_type: ClassVar[str] = "quality-mlp"
    config_class: ClassVar[type[BaseModel]] = QualityConfig

    def hidden(self, features: np.ndarray) -> np.ndarray:
        """Hidden activations ``relu(W1 z + b1)``, ``(U, H)``, of ``(U, D)`` unit features.

        Raises:
            ValueError: ``features`` is not ``(U, D)``.
        """
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.feature_names):
            raise ValueError(f"features must be (U, {len(self.feature_names)}), got {x.shape}")
        z = (slog(x) - self.mean) / self.std
        return np.maximum(z @ self.w1.T + self.b1, 0.0)

    def predict(self, features: np.ndarray) -> QualityPrediction:
        """Class probabilities and scores of unit feature vectors.

        Args:
            features: ``(U, D)`` unit features in the order of :attr:`feature_names`.

        Returns:
            The :class:`QualityPrediction` of the ``U`` units.

        Raises:
            ValueError: ``features`` is not ``(U, D)``.
        """
        h = self.hidden(features)
        logits = h @ self.wc.T + self.bc
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        scores = 1.0 + 4.0 / (1.0 + np.exp(-(h @ self.ws.T + self.bs)))
        return QualityPrediction(probabilities=probs, scores=scores)

    # ---- checkpoints: PretrainedMixin ------------------------------------------------
    @property
    def config(self) -> QualityConfig:
        """The :class:`QualityConfig` saved in ``config.json``."""
        return QualityConfig(
            feature_names=self.feature_names, hidden_size=self.w1.shape[0], report=self.report
        )

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The eight parameter arrays as float64 tensors (``model.safetensors``)."""
        return {
            name: torch.from_numpy(np.array(getattr(self, name), np.float64)) for name in _TENSORS
        }

    def load_state_dict(self, state: dict[str, torch.Tensor], strict: bool = True) -> None:
        """Set the parameter arrays from ``state`` (float64 NumPy copies)."""
        for name in _TENSORS:
            if name in state:
                setattr(self, name, state[name].numpy().astype(np.float64))
            elif strict:
                raise KeyError(name)

    @classmethod
    def build_for_loading(cls, config: QualityConfig, directory: Path) -> QualityModel:
        """A zero model of the saved sizes.

        Raises:
            CheckpointError: it was trained for other class or score names.
        """
        _check_names(config.class_names, config.score_names, str(directory))
        d, h = len(config.feature_names), config.hidden_size
        c, k = len(CLASS_NAMES), len(SCORE_NAMES)
        zeros = {
            "mean": (d,), "std": (d,), "w1": (h, d), "b1": (h,),
            "wc": (c, h), "bc": (c,), "ws": (k, h), "bs": (k,),
        }  # fmt: skip
        return cls(
            feature_names=config.feature_names,
            report=dict(config.report),
            **{name: np.zeros(shape) for name, shape in zeros.items()},
        )

    def save(self, path: str | Path) -> Path:
        """Kept for old callers: the same as :meth:`save_pretrained` (a checkpoint
        *folder* at ``path``, whatever its name). Returns ``path``."""
        return self.save_pretrained(path)

    @classmethod
    def load(cls, path: str | Path) -> QualityModel:
        """Read a model: a checkpoint folder (:meth:`from_pretrained`, also hub ids) or a
        single ``.safetensors`` file in the format written before it (float32 tensors,
        names and report in the metadata; the shipped model is one).

        Raises:
            CheckpointError: the path is missing or unreadable, or the model was trained
                for other class or score names.
        """
        path = Path(path)
        if path.is_file():
            return _load_single_file(path)
        return cls.from_pretrained(path)


def _check_names(classes: tuple[str, ...], scores: tuple[str, ...], where: str) -> None:
    if tuple(classes) != CLASS_NAMES or tuple(scores) != SCORE_NAMES:
        raise CheckpointError(
            f"{where} was trained for classes {tuple(classes)} / scores {tuple(scores)}", where
        )


def _load_single_file(path: Path) -> QualityModel:
    """Read the single-file format (format 0): tensors in float32, the feature, class
    and score names and the report as JSON strings in the safetensors metadata.

    Raises:
        CheckpointError: unreadable file or metadata, other class or score names.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as handle:
            meta = handle.metadata() or {}
        tensors = load_file(str(path))
        names = tuple(json.loads(meta["feature_names"]))
        classes = tuple(json.loads(meta["class_names"]))
        scores = tuple(json.loads(meta["score_names"]))
        report = json.loads(meta.get("report", "{}"))
        arrays = {name: tensors[name].astype(np.float64) for name in _TENSORS}
    except (OSError, KeyError, ValueError, SafetensorError) as exc:
        raise CheckpointError(f"not a quality model file: {path} ({exc})", str(path)) from exc
    _check_names(classes, scores, str(path))
    return QualityModel(feature_names=names, report=report, **arrays)


def default_model_path() -> Path:
    """Path of the model shipped in ``videoqa/resources/quality``."""
    return Path(str(resources.files("videoqa.resources").joinpath("quality", MODEL_RESOURCE)))


_DEFAULT: dict[str, QualityModel] = {}


def load_default_model() -> QualityModel:
    """The shipped model (loaded once per process).

    Raises:
        ModelUnavailableError: the resource is missing (train one with ``videoqa train --recipe quality``).
    """
    if "model" not in _DEFAULT:
        path = default_model_path()
        if not path.exists():
            raise ModelUnavailableError(
                f"the shipped quality model is missing ({path}); train one with `videoqa train --recipe quality --config quality`",
                str(path),
            )
        _DEFAULT["model"] = QualityModel.load(path)
    return _DEFAULT["model"]
