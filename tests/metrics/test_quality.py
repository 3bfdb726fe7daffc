"""SRCC / KRCC / PLCC / RMSE: hand-computed values and invariances."""

from __future__ import annotations

import numpy as np
import pytest

from videoqa.errors import UsageError
from videoqa.metrics import quality_correlations
from videoqa.metrics.quality import logistic_4

MOS = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
PRED = np.array([1.0, 3.0, 2.0, 4.0, 5.0])  # one swapped pair


def test_rank_correlations_by_hand() -> None:
    q = quality_correlations(PRED, MOS)
    # SRCC = 1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 6 * 2 / 120 = 0.9
    assert q.srcc == pytest.approx(0.9)
    # KRCC: 9 concordant, 1 discordant of 10 pairs -> 0.8
    assert q.krcc == pytest.approx(0.8)
    assert q.count == 5 and -1 <= q.plcc <= 1 and q.rmse >= 0


def test_rank_metrics_invariant_to_monotone_transforms() -> None:
    rng = np.random.default_rng(1)
    mos = rng.uniform(1, 5, 40)
    pred = mos + rng.normal(0, 0.5, 40)
    base = quality_correlations(pred, mos)
    for f in (np.exp, lambda x: 3 * x**3 + 7, lambda x: 1000 * x - 5):
        other = quality_correlations(f(pred), mos)
        assert other.srcc == pytest.approx(base.srcc, abs=1e-12)
        assert other.krcc == pytest.approx(base.krcc, abs=1e-12)


def test_logistic_fit_recovers_a_logistic_relation() -> None:
    x = np.linspace(-50, 50, 30)
    mos = logistic_4(x, 5.0, 1.0, 3.0, 12.0)
    q = quality_correlations(x, mos)
    assert q.fit_converged
    assert q.plcc == pytest.approx(1.0, abs=1e-6) and q.rmse == pytest.approx(0.0, abs=1e-4)
    # raw PLCC of a saturating relation is below 1, the fitted one is not
    assert np.corrcoef(x, mos)[0, 1] < 0.99


def test_errors() -> None:
    with pytest.raises(UsageError):
        quality_correlations([1, 2, 3], [1, 2, 3])
    with pytest.raises(UsageError):
        quality_correlations([1, 2, 3, 4], [1, 1, 1, 1])
    with pytest.raises(UsageError):
        quality_correlations([1, 2, 3, 4], [1, 2, 3])
    with pytest.raises(UsageError):
        quality_correlations([1, 2, np.nan, 4], [1, 2, 3, 4])
