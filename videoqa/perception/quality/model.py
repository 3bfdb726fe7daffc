"""The trained quality model: distortion classifier (stage 1) and scorer (stage 2).

One small multi-task MLP over the per-second unit features (:mod:`.features`):

``z = (slog(x) - mean) / std``, ``h = relu(W1 z + b1)``, then a classifier head
``softmax(Wc h + bc)`` over ``none`` + the nine distortion kinds and a scorer head
``1 + 4 * sigmoid(Ws h + bs)`` giving the overall score and the five dimension scores on
the 1-5 scale (``slog(x) = sign(x) log(1 + |x|)`` tames the heavy-tailed features).

**Overall score that cannot contradict its dimensions** (models with a combiner, the
shipped one among them): the overall score is not a free head output but a monotone
function of the five dimension scores ``d`` (:func:`combine_dimensions`)::

    I = sum_k w_k (5 - d_k),  w_k >= 0          (impairments add)
    overall = g(I),           g non-increasing  (isotonic map, knots iso_x -> iso_y)

so raising any dimension score can never lower the overall score, and more blur or
more compression can raise it only if it raises a dimension. The additive impairment
scale follows the ITU-T G.107 E-model (R = R0 - Is - Id - Ie,eff + A: impairments of
different causes add on one scale); ``w`` is fitted by non-negative least squares
(Lawson & Hanson, "Solving Least Squares Problems", 1974, ch. 23; ``scipy.optimize.nnls``)
and ``g`` by isotonic regression (pool-adjacent-violators, Ayer et al., Ann. Math.
Statist. 26, 1955; Barlow et al., "Statistical Inference under Order Restrictions",
1972; ``scipy.optimize.isotonic_regression``) on the training units
(:func:`fit_combiner`), then sampled at up to :data:`COMBINER_KNOTS` knots and applied
by linear interpolation (constant outside the knots), which keeps it monotone.

Inference is NumPy only. A saved model is a checkpoint folder (``config.json`` with the
feature, class and score names and the training report, ``model.safetensors`` with the
parameters), so it carries everything needed to check it matches the feature
extractor; the single-file format used before (one safetensors file, names and report
in its metadata, as the shipped model still is) is read by :meth:`QualityModel.load`.
Training: the ``quality`` recipe (:mod:`videoqa.recipes.quality`, PyTorch).
"""

from __future__ import annotations

import dataclasses
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

MODEL_RESOURCE = "model"
"""Name of the shipped model in ``videoqa/resources/quality``: a checkpoint folder (a
``quality`` recipe run's ``checkpoints/best``)."""

LEGACY_MODEL_RESOURCE = "model.safetensors"
"""The single-file model shipped before, used when there is no :data:`MODEL_RESOURCE`
folder."""

_TENSORS = ("mean", "std", "w1", "b1", "wc", "bc", "ws", "bs")
_COMBINER = ("combine_w", "iso_x", "iso_y")

COMBINER_KNOTS = 48
"""Most knots the isotonic map of the overall score keeps."""


def impairment(dimensions: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The impairment ``I = sum_k w_k (5 - d_k)`` of ``(U, K)`` dimension scores (1-5)
    under ``(K,)`` weights: ``(U,)`` (see the module docstring)."""
    return (5.0 - np.asarray(dimensions, np.float64)) @ np.asarray(weights, np.float64)


def combine_dimensions(
    dimensions: np.ndarray, weights: np.ndarray, iso_x: np.ndarray, iso_y: np.ndarray
) -> np.ndarray:
    """The monotone overall score of dimension scores (see the module docstring).

    Args:
        dimensions: ``(U, K)`` dimension scores on the 1-5 scale.
        weights: ``(K,)`` non-negative impairment weights ``w``.
        iso_x: ``(M,)`` increasing impairment knots. iso_y: ``(M,)`` non-increasing
            overall scores at the knots.

    Returns:
        ``(U,)`` overall scores, ``g(sum_k w_k (5 - d_k))``, in ``[min iso_y, max iso_y]``.
    """
    return np.interp(impairment(dimensions, weights), iso_x, iso_y)


def fit_combiner(
    dimensions: np.ndarray, overall: np.ndarray, knots: int = COMBINER_KNOTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit the monotone overall score: ``w >= 0`` by NNLS of the overall drop ``5 - o``
    on the dimension drops ``5 - d``, then the non-increasing map ``g`` by isotonic
    regression of ``o`` on the impairment ``I = (5 - d) w``, sampled at up to ``knots``
    quantiles of ``I`` (see the module docstring for the sources).

    Args:
        dimensions: ``(N, K)`` predicted dimension scores (1-5).
        overall: ``(N,)`` target overall scores (1-5).
        knots: most knots kept.

    Returns:
        ``(w (K,), iso_x (M,), iso_y (M,))``: ``iso_x`` strictly increasing, ``iso_y``
        non-increasing, within ``[1, 5]``.

    Raises:
        ValueError: shapes that disagree or fewer than 2 rows.
    """
    from scipy.optimize import isotonic_regression, nnls

    d = np.asarray(dimensions, np.float64)
    o = np.asarray(overall, np.float64)
    if d.ndim != 2 or o.shape != (len(d),) or len(d) < 2:
        raise ValueError(
            f"need (N, K) dimensions and (N,) overall, N >= 2; got {d.shape}, {o.shape}"
        )
    weights, _ = nnls(5.0 - d, 5.0 - o)
    if not np.any(weights > 0):
        weights = np.ones(d.shape[1])
    drop = impairment(d, weights)
    order = np.argsort(drop, kind="stable")
    x = drop[order]
    y = isotonic_regression(o[order], increasing=False).x
    grid = np.unique(np.quantile(x, np.linspace(0.0, 1.0, knots)))
    # value of the fitted step function at each grid point: the last fitted value at or
    # before it (the fit is non-increasing, so the sampled values are too)
    idx = np.clip(np.searchsorted(x, grid, side="right") - 1, 0, len(x) - 1)
    values = np.minimum.accumulate(y[idx])
    if len(grid) == 1:
        grid, values = np.array([grid[0], grid[0] + 1.0]), np.array([values[0], values[0]])
    return weights, grid, strictly_decreasing(values, grid)


COMBINER_SLOPE = 0.05
"""Score units per impairment unit subtracted from the isotonic fit, so that its flat
steps (pool-adjacent-violators pools into plateaus) become strictly decreasing: two
videos with different impairments never tie."""

_FLOOR = 1.5


def strictly_decreasing(values: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Make non-increasing knot values strictly decreasing and keep them in ``(1, 5]``:
    ``v - COMBINER_SLOPE (x - x_0)``, then a soft floor (values under 1.5 are mapped by
    ``1 + 0.5 exp((v - 1.5) / 0.5)``, increasing and above 1), then clipped at 5."""
    v = np.asarray(values, np.float64) - COMBINER_SLOPE * (knots - knots[0])
    v = np.where(v < _FLOOR, 1.0 + 0.5 * np.exp((v - _FLOOR) / 0.5), v)
    return np.minimum(v, 5.0)


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
        combiner_knots: knots of the monotone overall map (0: no combiner, the overall
            score is the scorer head's first output).
        report: free-form training facts.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    feature_names: tuple[str, ...]
    hidden_size: int = Field(gt=0)
    combiner_knots: int = Field(0, ge=0)
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
        combine_w, iso_x, iso_y: the monotone overall score (:func:`combine_dimensions`;
            ``(K,)``, ``(M,)``, ``(M,)``), or None: the overall score is the scorer
            head's first output.
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
    combine_w: np.ndarray | None = None
    iso_x: np.ndarray | None = None
    iso_y: np.ndarray | None = None

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
        if self.has_combiner:
            scores[:, 0] = combine_dimensions(scores[:, 1:], self.combine_w, self.iso_x, self.iso_y)
        return QualityPrediction(probabilities=probs, scores=scores)

    @property
    def has_combiner(self) -> bool:
        """Whether the overall score is the monotone function of the dimensions."""
        return self.combine_w is not None and self.iso_x is not None and self.iso_y is not None

    def with_combiner(
        self, weights: np.ndarray, iso_x: np.ndarray, iso_y: np.ndarray
    ) -> QualityModel:
        """A copy whose overall score is :func:`combine_dimensions` with these parameters.

        Raises:
            ValueError: negative weights, knots not increasing or values increasing.
        """
        w, x, y = (np.asarray(a, np.float64) for a in (weights, iso_x, iso_y))
        if w.shape != (len(DIMENSIONS),) or np.any(w < 0):
            raise ValueError(f"combiner weights must be ({len(DIMENSIONS)},) and >= 0, got {w}")
        if x.shape != y.shape or len(x) < 2 or np.any(np.diff(x) <= 0) or np.any(np.diff(y) > 0):
            raise ValueError("combiner knots must increase and their values must not")
        return dataclasses.replace(self, combine_w=w, iso_x=x, iso_y=y)

    # ---- checkpoints: PretrainedMixin ------------------------------------------------
    @property
    def config(self) -> QualityConfig:
        """The :class:`QualityConfig` saved in ``config.json``."""
        return QualityConfig(
            feature_names=self.feature_names,
            hidden_size=self.w1.shape[0],
            combiner_knots=len(self.iso_x) if self.has_combiner else 0,
            report=self.report,
        )

    def _names(self) -> tuple[str, ...]:
        return _TENSORS + (_COMBINER if self.has_combiner else ())

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The parameter arrays as float64 tensors (``model.safetensors``): the eight of
        the MLP, and the three of the combiner when there is one."""
        return {
            name: torch.from_numpy(np.array(getattr(self, name), np.float64))
            for name in self._names()
        }

    def load_state_dict(self, state: dict[str, torch.Tensor], strict: bool = True) -> None:
        """Set the parameter arrays from ``state`` (float64 NumPy copies)."""
        for name in self._names():
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
        if config.combiner_knots:
            m = config.combiner_knots
            zeros.update({"combine_w": (len(DIMENSIONS),), "iso_x": (m,), "iso_y": (m,)})
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
    """Path of the model shipped in ``videoqa/resources/quality`` (the checkpoint folder,
    or the older single file when there is no folder)."""
    base = Path(str(resources.files("videoqa.resources").joinpath("quality")))
    folder = base / MODEL_RESOURCE
    return folder if folder.is_dir() else base / LEGACY_MODEL_RESOURCE


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
