"""Re-fitting the overall quality score on a MOS table (stage 2 with real labels).

:func:`fit_mos` keeps the hidden layer, the classifier and the dimension scores of a
trained :class:`~videoqa.perception.quality.model.QualityModel` and fits only the
overall-score row of its scorer head, ``(w, b)`` with ``H + 1`` values, so that each
video's mean unit score ``mean_u (1 + 4 sigmoid(h_u · w + b))`` matches its MOS mapped
linearly onto 1-5. It is a regularized nonlinear least-squares problem, solved by
SciPy's trust-region reflective solver (``scipy.optimize.least_squares``, Branch,
Coleman & Li, SIAM J. Sci. Comput. 1999) with the analytic Jacobian, starting from the
trained row; a small ridge ``ridge |θ - θ_0|²`` keeps it well posed when there are
fewer videos than ``H + 1``. No training loop, no RNG: the same table gives the same
model.

A model whose overall score is the monotone combination of its dimensions
(:func:`~videoqa.perception.quality.model.combine_dimensions`) keeps that property: its
impairment weights stay, and only the non-increasing map ``g`` is re-fitted, by
isotonic regression (pool-adjacent-violators, ``scipy.optimize.isotonic_regression``) of
each unit's video MOS (mapped to 1-5) on the unit's impairment; the knots are those
impairments (equal ones merged). So a calibrated model still never scores a video higher for a lower
dimension score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import least_squares

from videoqa.errors import UsageError
from videoqa.perception.quality.model import QualityModel, impairment, strictly_decreasing

__all__ = ["fit_mos"]


def fit_mos(
    model: QualityModel,
    unit_features: Sequence[np.ndarray],
    mos: Sequence[float],
    mos_range: tuple[float, float] = (1.0, 5.0),
    *,
    ridge: float = 1e-3,
) -> QualityModel:
    """Re-fit the overall score of ``model`` on a MOS table (see the module docstring).

    Args:
        model: the model to start from.
        unit_features: per video, its ``(U_i, D)`` unit features.
        mos: per video, its mean opinion score.
        mos_range: the ``(worst, best)`` ends of the MOS scale (e.g. ``(0, 100)``).
        ridge: weight of ``|θ - θ_0|²`` (θ = the overall row and its bias), relative to
            the sum of squared score errors (1-5 scale).

    Returns:
        A new :class:`QualityModel`; ``report["mos_fit"]`` holds the number of videos,
        the RMSE of the fitted video scores against the mapped MOS (1-5 scale), the MOS
        range and the solver's status.

    Raises:
        UsageError: fewer than 3 videos, lengths differ, an empty MOS range or a
            negative ridge.
    """
    if len(unit_features) != len(mos) or len(mos) < 3:
        raise UsageError("fit_mos needs at least 3 videos and one MOS per video")
    lo, hi = mos_range
    if hi == lo:
        raise UsageError(f"empty MOS range {mos_range}")
    if ridge < 0:
        raise UsageError(f"ridge must be >= 0, got {ridge}")
    target = 1.0 + 4.0 * (np.asarray(mos, dtype=np.float64) - lo) / (hi - lo)
    if model.has_combiner:
        return _fit_combiner_map(model, unit_features, target, mos_range)
    hidden = [model.hidden(f) for f in unit_features]  # (U_i, H) each
    theta0 = np.concatenate([np.asarray(model.ws[0], np.float64), [float(model.bs[0])]])
    root = np.sqrt(ridge)

    def video_scores(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores, jac = [], []
        for h in hidden:
            s = 1.0 / (1.0 + np.exp(-(h @ theta[:-1] + theta[-1])))
            scores.append((1.0 + 4.0 * s).mean())
            grad = 4.0 * s * (1.0 - s)  # d score_u / d logit_u
            jac.append(np.concatenate([(grad[:, None] * h).mean(axis=0), [grad.mean()]]))
        return np.asarray(scores), np.stack(jac)

    def residuals(theta: np.ndarray) -> np.ndarray:
        return np.concatenate([video_scores(theta)[0] - target, root * (theta - theta0)])

    def jacobian(theta: np.ndarray) -> np.ndarray:
        return np.vstack([video_scores(theta)[1], root * np.eye(len(theta))])

    fit = least_squares(residuals, theta0, jac=jacobian, method="trf")
    scores = video_scores(fit.x)[0]
    ws, bs = model.ws.copy(), model.bs.copy()
    ws[0], bs[0] = fit.x[:-1], float(fit.x[-1])
    report = {
        **model.report,
        "mos_fit": {
            "videos": len(mos),
            "rmse": float(np.sqrt(np.mean((scores - target) ** 2))),
            "mos_range": list(mos_range),
            "ridge": ridge,
            "solver": "scipy.optimize.least_squares (trf)",
            "status": int(fit.status),
        },
    }
    return QualityModel(
        model.feature_names, model.mean, model.std, model.w1, model.b1,
        model.wc, model.bc, ws, bs, report,
    )  # fmt: skip


def _fit_combiner_map(
    model: QualityModel,
    unit_features: Sequence[np.ndarray],
    target: np.ndarray,
    mos_range: tuple[float, float],
) -> QualityModel:
    """Re-fit the isotonic map of a combiner model (see the module docstring).

    Raises:
        UsageError: all videos have the same impairment (no map can be fitted).
    """
    from scipy.optimize import isotonic_regression

    w = np.asarray(model.combine_w, np.float64)
    per_unit = [impairment(model.predict(f).scores[:, 1:], w) for f in unit_features]
    drop = np.concatenate(per_unit)
    goal = np.concatenate([np.full(len(u), t) for u, t in zip(per_unit, target, strict=True)])
    order = np.argsort(drop, kind="stable")
    fitted = isotonic_regression(np.clip(goal[order], 1.0, 5.0), increasing=False).x
    knots, inverse = np.unique(drop[order], return_inverse=True)
    if len(knots) < 2:
        raise UsageError("every video has the same impairment: the MOS map cannot be fitted")
    values = np.array([fitted[inverse == j].mean() for j in range(len(knots))])
    values = strictly_decreasing(np.minimum.accumulate(values), knots)
    fitted_model = model.with_combiner(w, knots, values)
    scores = np.array([fitted_model.predict(f).scores[:, 0].mean() for f in unit_features])
    fitted_model.report = {
        **model.report,
        "mos_fit": {
            "videos": len(target),
            "rmse": float(np.sqrt(np.mean((scores - target) ** 2))),
            "mos_range": list(mos_range),
            "solver": "scipy.optimize.isotonic_regression of the combiner's map",
            "status": 1,
        },
    }
    return fitted_model
