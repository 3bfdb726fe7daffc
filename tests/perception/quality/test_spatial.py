"""Spatial measures: golden values on hand-made frames, responses on a real frame."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from videoqa.perception.quality.spatial import (
    SpatialFeatures,
    analysis_frame,
    blockiness,
    blur_index,
    colourfulness,
    laplacian_variance,
    noise_sigma,
    spatial_features,
)


def test_noise_sigma_recovers_white_noise_on_a_smooth_frame():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:240, 0:320]
    smooth = 60 + 0.3 * xx + 0.2 * yy  # a ramp: no texture for the estimator to mistake
    for sigma in (2.0, 8.0, 20.0):
        est = noise_sigma(smooth + rng.normal(0, sigma, smooth.shape))
        assert est == pytest.approx(sigma, rel=0.12)
    assert noise_sigma(smooth) == pytest.approx(0.0, abs=1e-9)


def test_blockiness_golden_step_on_the_grid():
    img = np.zeros((32, 32))
    img[:, 8:] = 80.0  # one vertical edge exactly on the 8-pixel grid
    # columns: steps at 8, 16, 24 on the grid average 80 / 3, inside 0;
    # rows: flat -> 1.
    columns = (80.0 / 3 + 1e-3) / 1e-3
    assert blockiness(img) == pytest.approx((columns + 1.0) / 2.0)
    img[:, 8:] = 0.0
    img[:, 5:] = 80.0  # the same edge off the grid: no grid step at all
    assert blockiness(img) == pytest.approx((1e-3 / (80.0 / 28 + 1e-3) + 1.0) / 2.0)


def test_blockiness_is_one_without_a_grid_and_high_with_blocks():
    rng = np.random.default_rng(1)
    texture = ndimage.gaussian_filter(rng.normal(128, 30, (128, 128)), 1.5)
    assert blockiness(texture) == pytest.approx(1.0, abs=0.1)
    blocks = np.kron(rng.uniform(0, 255, (16, 16)), np.ones((8, 8))) + rng.normal(0, 1, (128, 128))
    assert blockiness(blocks) > 5.0
    assert blockiness(np.full((8, 8), 3.0)) == 1.0  # too small to have a grid


def test_laplacian_variance_golden_checkerboard():
    yy, xx = np.mgrid[0:200, 0:200]
    board = 255.0 * ((xx + yy) % 2)
    # Inside, the 4-neighbour Laplacian is -+1020 everywhere: var = 1020^2.
    assert laplacian_variance(board) == pytest.approx(np.log10(1 + 1020.0**2), abs=0.01)
    assert laplacian_variance(np.full((50, 50), 9.0)) == 0.0


def test_blur_index_grows_with_blur():
    rng = np.random.default_rng(2)
    img = ndimage.gaussian_filter(rng.uniform(0, 255, (160, 200)), 0.7)
    values = [blur_index(ndimage.gaussian_filter(img, s)) for s in (0.0, 1.0, 2.0, 4.0)]
    assert values == sorted(values)
    assert 0.0 <= values[0] < 0.5 < values[-1] <= 1.0


def test_colourfulness_golden():
    grey = np.full((10, 10, 3), 90, np.uint8)
    assert colourfulness(grey) == 0.0
    half = np.zeros((10, 10, 3), np.uint8)
    half[:, :5] = (255, 0, 0)
    half[:, 5:] = (0, 255, 0)
    # rg = +-255 (mean 0, std 255); yb = 127.5 everywhere: M = 255 + 0.3 * 127.5.
    assert colourfulness(half) == pytest.approx((255 + 0.3 * 127.5) / 100)


def test_analysis_frame_only_scales_down():
    big = np.zeros((720, 1280, 3), np.uint8)
    assert analysis_frame(big).shape == (360, 640, 3)
    small = np.zeros((144, 176, 3), np.uint8)
    assert analysis_frame(small) is small


def test_spatial_features_of_a_real_frame(bikes_frame):
    feats = spatial_features(bikes_frame)
    vec = feats.vector()
    assert vec.shape == (len(SpatialFeatures.names()),) == (47,)
    assert np.all(np.isfinite(vec))
    assert 0 < feats.brightness < 1 and 0 <= feats.dark_share <= 1
    darker = spatial_features((bikes_frame * 0.4).astype(np.uint8))
    assert darker.brightness == pytest.approx(0.4 * feats.brightness, rel=0.03)
    blurred = spatial_features(
        np.stack([ndimage.gaussian_filter(bikes_frame[..., c], 3) for c in range(3)], -1)
    )
    assert blurred.blur_index > feats.blur_index
    assert blurred.laplacian_var < feats.laplacian_var


def test_spatial_features_rejects_bad_frames():
    with pytest.raises(ValueError):
        spatial_features(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError):
        spatial_features(np.zeros((40, 40), np.uint8))
