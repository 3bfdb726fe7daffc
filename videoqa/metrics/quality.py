"""Video-quality agreement metrics: SRCC, KRCC, PLCC and RMSE after a logistic mapping.

Source: VQEG, "Final report from the Video Quality Experts Group on the validation of
objective models of video quality assessment, Phase II" (2003), Sec. 5.3 (the 4-parameter
logistic fitted before PLCC/RMSE); ITU-T P.1401 (2020), Sec. 7 (same procedure).

The mapping is ``f(x) = (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2``, fitted by
least squares (``scipy.optimize.curve_fit``, trust-region reflective: Levenberg–Marquardt
stalls when ``mean(x)`` is exactly 0) from ``b1 = max(y)``, ``b2 = min(y)``,
``b3 = mean(x)``, ``b4 = std(x) / 4`` — this start puts the curve's range on the MOS range
and its slope on the spread of the predictions, so it converges whatever the scale of
the predictions; the common fixed ``b4 = 0.5`` fails for predictions in the hundreds or
thousandths. If the fit does not converge, the identity mapping is used and
``QualityScores.fit_converged`` is ``False``.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict

from videoqa.errors import UsageError
from videoqa.metrics.registry import METRICS


class QualityScores(BaseModel):
    """Agreement of predicted quality with subjective scores.

    Attributes:
        srcc: Spearman rank correlation (no fit), in [-1, 1].
        krcc: Kendall tau-b (no fit), in [-1, 1].
        plcc: Pearson correlation between the logistic-mapped predictions and the MOS.
        rmse: root mean squared error of the mapped predictions, in MOS units.
        logistic_params: fitted ``(b1, b2, b3, b4)``.
        fit_converged: whether the logistic fit converged.
        count: number of videos.
    """

    model_config = ConfigDict(frozen=True)

    srcc: float
    krcc: float
    plcc: float
    rmse: float
    logistic_params: tuple[float, float, float, float]
    fit_converged: bool
    count: int


def logistic_4(x: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """VQEG 4-parameter logistic ``(b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2``; shape of ``x``."""
    z = np.clip(-(x - b3) / max(abs(b4), 1e-12), -700.0, 700.0)
    return (b1 - b2) / (1.0 + np.exp(z)) + b2


def fit_logistic(predicted: ArrayLike, mos: ArrayLike) -> tuple[np.ndarray, bool]:
    """Fit :func:`logistic_4` mapping predictions to MOS.

    Args:
        predicted: ``(N,)`` objective scores.
        mos: ``(N,)`` mean opinion scores.

    Returns:
        ``(params (4,), converged)``; on failure the start point and ``False``.
    """
    from scipy.optimize import OptimizeWarning, curve_fit

    x = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(mos, dtype=np.float64)
    spread = float(np.std(x))
    start = np.array([y.max(), y.min(), x.mean(), spread / 4 if spread > 0 else 1.0])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            params, _ = curve_fit(logistic_4, x, y, p0=start, method="trf", max_nfev=20_000)
    except RuntimeError:  # no convergence within maxfev
        return start, False
    return params, bool(np.all(np.isfinite(params)))


def quality_correlations(predicted: ArrayLike, mos: ArrayLike) -> QualityScores:
    """SRCC, KRCC, PLCC and RMSE of predicted quality against MOS.

    Args:
        predicted: ``(N,)`` objective quality scores (any scale, higher = better).
        mos: ``(N,)`` mean opinion scores.

    Returns:
        :class:`QualityScores` (``plcc``/``rmse`` after the logistic fit).

    Raises:
        UsageError: on different lengths, fewer than 4 videos (4 parameters), non-finite
            values, or constant MOS or predictions (correlations undefined).
    """
    from scipy import stats

    x = np.asarray(predicted, dtype=np.float64).reshape(-1)
    y = np.asarray(mos, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise UsageError(f"{x.size} predictions but {y.size} MOS values")
    if x.size < 4:
        raise UsageError("at least 4 videos are needed to fit the 4-parameter logistic")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise UsageError("predictions and MOS must be finite")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise UsageError("correlation is undefined for constant predictions or MOS")
    params, converged = fit_logistic(x, y)
    mapped = logistic_4(x, *params) if converged else x
    if np.ptp(mapped) == 0:  # a degenerate fit (a step outside the data); keep the raw scores
        mapped, converged = x, False
    return QualityScores(
        srcc=float(stats.spearmanr(x, y)[0]),
        krcc=float(stats.kendalltau(x, y)[0]),
        plcc=float(stats.pearsonr(mapped, y)[0]),
        rmse=float(np.sqrt(np.mean((mapped - y) ** 2))),
        logistic_params=tuple(float(p) for p in params),
        fit_converged=converged,
        count=int(x.size),
    )


METRICS.register("quality_correlations", quality_correlations)
