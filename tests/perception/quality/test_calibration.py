"""Re-fitting the overall score on a MOS table: scipy least squares on the overall row."""

from __future__ import annotations

import numpy as np
import pytest

from videoqa.errors import UsageError
from videoqa.perception.quality.calibration import fit_mos
from videoqa.perception.quality.features import unit_feature_names
from videoqa.perception.quality.model import CLASS_NAMES, SCORE_NAMES, QualityModel

D, H = len(unit_feature_names()), 6


def _model_and_videos() -> tuple[QualityModel, list[np.ndarray], np.ndarray]:
    """A model whose hidden units are the first 6 standardized features (relu of +-z)
    and nine 3-unit videos of three classes that shift feature 0, 1 or 3 by 4."""
    rng = np.random.default_rng(0)
    w1 = np.zeros((H, D))
    for i, f in enumerate((0, 1, 3)):
        w1[2 * i, f], w1[2 * i + 1, f] = 1.0, -1.0
    c, s = len(CLASS_NAMES), len(SCORE_NAMES)
    model = QualityModel(
        tuple(unit_feature_names()), np.zeros(D), np.ones(D), w1, np.zeros(H),
        rng.normal(0, 1, (c, H)), np.zeros(c), rng.normal(0, 0.1, (s, H)), np.zeros(s),
        report={"note": "toy"},
    )  # fmt: skip
    videos, classes = [], []
    for f in (0, 1, 3):
        for _ in range(3):
            x = np.zeros((3, D))
            x[:, :6] = rng.normal(0, 0.3, (3, 6))
            x[:, f] += 4.0
            videos.append(np.expm1(np.abs(x)) * np.sign(x))  # slog undoes it: z = x
            classes.append(f)
    return model, videos, np.array(classes)


def test_fit_mos_tracks_the_table():
    model, videos, _ = _model_and_videos()
    mos = [90, 85, 88, 40, 45, 42, 10, 15, 12]  # 0-100 scale: class 1 fair, class 3 bad
    fitted = fit_mos(model, videos, mos, mos_range=(0, 100))
    got = np.array([fitted.predict(v).scores[:, 0].mean() for v in videos])
    want = 1 + 4 * np.array(mos) / 100
    assert np.corrcoef(got, want)[0, 1] > 0.95
    assert fitted.report["mos_fit"]["videos"] == 9 and fitted.report["note"] == "toy"
    assert fitted.report["mos_fit"]["rmse"] == pytest.approx(np.sqrt(np.mean((got - want) ** 2)))
    assert fitted.report["mos_fit"]["rmse"] < 0.3
    np.testing.assert_array_equal(fitted.wc, model.wc)  # the classifier is untouched
    np.testing.assert_array_equal(fitted.ws[1:], model.ws[1:])  # so are the dimensions
    again = fit_mos(model, videos, mos, mos_range=(0, 100))
    np.testing.assert_array_equal(again.ws, fitted.ws)  # deterministic
    with pytest.raises(UsageError):
        fit_mos(model, videos[:2], mos[:2])
    with pytest.raises(UsageError, match="empty MOS range"):
        fit_mos(model, videos, mos, mos_range=(3, 3))


def test_a_larger_ridge_stays_closer_to_the_trained_row():
    model, videos, _ = _model_and_videos()
    mos = [90, 85, 88, 40, 45, 42, 10, 15, 12]
    loose = fit_mos(model, videos, mos, (0, 100), ridge=1e-4)
    tight = fit_mos(model, videos, mos, (0, 100), ridge=10.0)
    dist = lambda m: np.linalg.norm(m.ws[0] - model.ws[0])  # noqa: E731
    assert dist(tight) < dist(loose)
    assert tight.report["mos_fit"]["rmse"] > loose.report["mos_fit"]["rmse"]
