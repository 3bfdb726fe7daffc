"""The trained quality model: distortion classifier (stage 1) and scorer (stage 2).

One small multi-task MLP over the per-second unit features (:mod:`.features`):

``z = (slog(x) - mean) / std``, ``h = relu(W1 z + b1)``, then a classifier head
``softmax(Wc h + bc)`` over ``none`` + the nine distortion kinds and a scorer head
``1 + 4 * sigmoid(Ws h + bs)`` giving the overall score and the five dimension scores on
the 1-5 scale (``slog(x) = sign(x) log(1 + |x|)`` tames the heavy-tailed features).

Inference is NumPy only; the parameters live in one safetensors file whose metadata
holds the feature names, class names and the training report, so a model file carries
everything needed to check it matches the feature extractor. Training is in
:mod:`.train` (PyTorch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from videoqa.errors import ModelUnavailableError
from videoqa.perception.quality.distort import DistortionKind

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
"""File name of the shipped model in ``videoqa/resources/quality``."""

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


@dataclass
class QualityModel:
    """Parameters of the quality MLP (see the module docstring for the equations).

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

    def save(self, path: str | Path) -> Path:
        """Write the model as one safetensors file (float32 tensors, JSON metadata)."""
        path = Path(path)
        tensors = {
            name: np.ascontiguousarray(getattr(self, name), dtype=np.float32) for name in _TENSORS
        }
        meta = {
            "feature_names": json.dumps(list(self.feature_names)),
            "class_names": json.dumps(list(CLASS_NAMES)),
            "score_names": json.dumps(list(SCORE_NAMES)),
            "report": json.dumps(self.report, sort_keys=True),
        }
        save_file(tensors, str(path), metadata=meta)
        return path

    @classmethod
    def load(cls, path: str | Path) -> QualityModel:
        """Read a model written by :meth:`save`.

        Raises:
            ModelUnavailableError: the file is missing, unreadable, or was trained for
                other class or score names.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelUnavailableError(f"quality model not found: {path}", str(path))
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="numpy") as handle:
                meta = handle.metadata() or {}
            tensors = load_file(str(path))
            names = tuple(json.loads(meta["feature_names"]))
            classes = tuple(json.loads(meta["class_names"]))
            scores = tuple(json.loads(meta["score_names"]))
            report = json.loads(meta.get("report", "{}"))
        except (OSError, KeyError, ValueError, SafetensorError) as exc:
            raise ModelUnavailableError(
                f"not a quality model file: {path} ({exc})", str(path)
            ) from exc
        if classes != CLASS_NAMES or scores != SCORE_NAMES:
            raise ModelUnavailableError(
                f"{path} was trained for classes {classes} / scores {scores}", str(path)
            )
        arrays = {name: tensors[name].astype(np.float64) for name in _TENSORS}
        return cls(feature_names=names, report=report, **arrays)


def default_model_path() -> Path:
    """Path of the model shipped in ``videoqa/resources/quality``."""
    return Path(str(resources.files("videoqa.resources").joinpath("quality", MODEL_RESOURCE)))


_DEFAULT: dict[str, QualityModel] = {}


def load_default_model() -> QualityModel:
    """The shipped model (loaded once per process).

    Raises:
        ModelUnavailableError: the resource is missing (run ``videoqa quality-train``).
    """
    if "model" not in _DEFAULT:
        path = default_model_path()
        if not path.is_file():
            raise ModelUnavailableError(
                f"the shipped quality model is missing ({path}); train one with `videoqa quality-train`",
                str(path),
            )
        _DEFAULT["model"] = QualityModel.load(path)
    return _DEFAULT["model"]
