"""Spatial quality features of one keyframe.

Every measure here works on the luma (or RGB) of a single frame:

* NIQE and the 36 BRISQUE features (:mod:`.natural_scene`);
* sharpness: variance of the Laplacian (Pech-Pacheco et al., "Diatom autofocusing in
  brightfield microscopy: a comparative study", ICPR 2000) and the re-blur blur index of
  Crété-Roffet et al., "The Blur Effect: Perception and Estimation with a New
  No-Reference Perceptual Blur Metric", SPIE EI 2007, §2;
* noise: the Laplacian-difference estimator of Immerkær, "Fast Noise Variance
  Estimation", CVIU 64(2), 1996, eq. 2, restricted to the flattest pixels as proposed by
  Tai & Yang, "Fast Estimation of Noise Variance", ICASSP 2008;
* blockiness: the ratio of luma steps on the 8-pixel coding grid to steps elsewhere, the
  idea of the generalized block-edge impairment metric (Wu & Yuen, IEEE TCSVT 7(2), 1997);
* exposure and contrast: mean luma, the shares of crushed blacks and clipped whites, RMS
  contrast (Peli, JOSA A 7(10), 1990) and the 5-95 % luma range;
* colourfulness: Hasler & Süsstrunk, "Measuring colourfulness in natural images", SPIE
  HVEI 2003, eq. 3.

All features except blockiness are computed at an analysis height (default 360 pixels,
frames are only ever scaled down) so that they mean the same on small and large videos;
blockiness is measured on the coded frame, whose block grid scaling would destroy.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

import numpy as np
from PIL import Image
from scipy import ndimage

from videoqa.perception.quality.natural_scene import (
    BRISQUE_FEATURE_NAMES,
    brisque_features,
    niqe,
    to_luma,
)

ANALYSIS_HEIGHT = 360
"""Frames taller than this are scaled down to it (keeping the aspect ratio) before the
spatial measures, in pixels."""

BLOCK_SIZE = 8
"""Coding block period for blockiness, pixels (the DCT block of MPEG-2/4 and JPEG, and a
multiple of H.264's 4x4 transform)."""

DARK_LEVEL = 10.0
BRIGHT_LEVEL = 245.0
"""Luma levels (0-255) at or below / above which a pixel counts as crushed / clipped."""

_IMMERKAER_KERNEL = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])
_FLAT_SHARE = 0.5  # share of the flattest pixels kept by the noise estimator
_STEP_EPS = 1e-3  # luma levels added to both mean steps of the blockiness ratio


@dataclass(frozen=True)
class SpatialFeatures:
    """Quality measures of one frame.

    Attributes:
        niqe: NIQE distance to the pristine model (lower is better).
        laplacian_var: ``log10(1 + var(Laplacian of luma))`` at the analysis height.
        blur_index: Crété-Roffet re-blur index in ``[0, 1]`` (1 = fully blurred).
        noise_sigma: estimated standard deviation of additive noise, luma levels (0-255).
        blockiness: mean luma step across 8-pixel block edges over the mean step inside
            blocks (about 1 without blocking), on the coded frame.
        brightness: mean luma in ``[0, 1]``.
        dark_share: share of pixels with luma <= 10, ``[0, 1]``.
        bright_share: share of pixels with luma >= 245, ``[0, 1]``.
        contrast: RMS contrast, standard deviation of luma / 255.
        luma_range: 95th minus 5th luma percentile / 255.
        colourfulness: Hasler–Süsstrunk colourfulness / 100 (about 0-1.5).
        brisque: ``(36,)`` BRISQUE features (names in ``BRISQUE_FEATURE_NAMES``).
    """

    niqe: float
    laplacian_var: float
    blur_index: float
    noise_sigma: float
    blockiness: float
    brightness: float
    dark_share: float
    bright_share: float
    contrast: float
    luma_range: float
    colourfulness: float
    brisque: tuple[float, ...]

    @staticmethod
    def names() -> list[str]:
        """Names of the entries of :meth:`vector`, in order (11 scalars + 36 BRISQUE)."""
        scalars = [f.name for f in fields(SpatialFeatures) if f.name != "brisque"]
        return scalars + [f"brisque_{n}" for n in BRISQUE_FEATURE_NAMES]

    def vector(self) -> np.ndarray:
        """``(47,)`` float64 feature vector in the order of :meth:`names`."""
        values = astuple(self)
        return np.asarray([*values[:-1], *values[-1]], dtype=np.float64)


def analysis_frame(frame: np.ndarray, height: int = ANALYSIS_HEIGHT) -> np.ndarray:
    """Scale a frame down to ``height`` rows (bicubic, antialiased), never up.

    Args:
        frame: ``(H, W, 3)`` uint8 RGB.
        height: target height in pixels.

    Returns:
        ``(h, w, 3)`` uint8 with ``h = min(H, height)`` and the aspect ratio kept.
    """
    h, w = frame.shape[:2]
    if h <= height:
        return frame
    width = max(round(w * height / h), 1)
    return np.asarray(Image.fromarray(frame).resize((width, height), Image.Resampling.BICUBIC))


def laplacian_variance(luma: np.ndarray) -> float:
    """``log10(1 + var(L))`` with ``L`` the 4-neighbour Laplacian of ``luma`` ``(H, W)``
    (Pech-Pacheco et al. 2000); larger is sharper, and it grows with texture."""
    lap = ndimage.laplace(luma.astype(np.float64), mode="nearest")
    return float(np.log10(1.0 + lap.var()))


def blur_index(luma: np.ndarray, taps: int = 9) -> float:
    """Re-blur blur index (Crété-Roffet et al. 2007, §2) of ``luma`` ``(H, W)``.

    The frame is blurred with a ``taps``-long box filter along each axis; the index is the
    share of neighbour differences that the re-blur does not remove, inverted: a sharp
    frame loses much to the re-blur (index near 0), a blurred one little (near 1). The
    larger of the horizontal and the vertical index is returned.

    Returns:
        Blur index in ``[0, 1]``.
    """
    img = luma.astype(np.float64)
    out = 0.0
    for axis in (0, 1):
        blurred = ndimage.uniform_filter1d(img, taps, axis=axis, mode="nearest")
        d_f = np.abs(np.diff(img, axis=axis))
        d_b = np.abs(np.diff(blurred, axis=axis))
        s_f = d_f.sum()
        s_v = np.maximum(d_f - d_b, 0.0).sum()
        out = max(out, float((s_f - s_v) / s_f) if s_f > 0 else 1.0)
    return out


def noise_sigma(luma: np.ndarray) -> float:
    """Standard deviation of additive white noise in ``luma`` ``(H, W)``, luma levels.

    Immerkær (1996, eq. 2): ``sigma = sqrt(pi / 2) / 6 * mean |I * N|`` with ``N`` the
    difference of two Laplacians, which cancels smooth image structure. The mean is taken
    over the flattest half of the pixels (Sobel magnitude below its median; Tai & Yang
    2008), so that edges and texture are not mistaken for noise.
    """
    img = luma.astype(np.float64)
    resp = np.abs(ndimage.convolve(img, _IMMERKAER_KERNEL, mode="nearest"))[1:-1, 1:-1]
    grad = np.hypot(ndimage.sobel(img, axis=0), ndimage.sobel(img, axis=1))[1:-1, 1:-1]
    flat = grad <= np.quantile(grad, _FLAT_SHARE)
    if not flat.any():
        return 0.0
    return float(np.sqrt(np.pi / 2.0) / 6.0 * resp[flat].mean())


def blockiness(luma: np.ndarray, block: int = BLOCK_SIZE) -> float:
    """Luma steps on the block grid relative to steps elsewhere, both axes averaged.

    Columns (rows) are compared across the boundaries ``x = k * block`` versus all
    other positions: ``(mean |I[:, kB] - I[:, kB - 1]| + e) / (mean |I[:, x] - I[:, x - 1]| + e)``
    with ``e = 0.001`` levels (so a flat frame gives 1). Block coding leaves a step at the
    grid, so the ratio rises above 1.

    Args:
        luma: ``(H, W)`` luma of the coded (unscaled) frame.
        block: grid period in pixels.

    Returns:
        The ratio (>= 0; 1 when the grid is invisible). Frames under two blocks in a
        dimension return 1.
    """
    img = luma.astype(np.float64)
    ratios = []
    for axis in (0, 1):
        d = np.abs(np.diff(img, axis=axis)).mean(axis=1 - axis)  # (n - 1,) step profile
        if d.size < 2 * block:
            continue
        pos = np.arange(1, d.size + 1)  # step between pixel pos-1 and pos
        on_grid = pos % block == 0
        ratios.append((d[on_grid].mean() + _STEP_EPS) / (d[~on_grid].mean() + _STEP_EPS))
    return float(np.mean(ratios)) if ratios else 1.0


def colourfulness(frame: np.ndarray) -> float:
    """Hasler & Süsstrunk colourfulness (2003, eq. 3) of ``(H, W, 3)`` uint8 RGB, / 100.

    ``M = sqrt(s_rg^2 + s_yb^2) + 0.3 sqrt(m_rg^2 + m_yb^2)`` with ``rg = R - G`` and
    ``yb = (R + G) / 2 - B``.
    """
    rgb = frame.astype(np.float64)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    spread = np.hypot(rg.std(), yb.std())
    centre = np.hypot(rg.mean(), yb.mean())
    return float((spread + 0.3 * centre) / 100.0)


def spatial_features(frame: np.ndarray, analysis_height: int = ANALYSIS_HEIGHT) -> SpatialFeatures:
    """All spatial quality features of one keyframe.

    Args:
        frame: ``(H, W, 3)`` uint8 RGB, the decoded frame at its coded size, H, W >= 16.
        analysis_height: height the other measures run at (frames are only scaled down).

    Returns:
        The :class:`SpatialFeatures` of the frame.

    Raises:
        ValueError: the frame is not ``(H, W, 3)`` or smaller than 16x16 pixels.
    """
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame must be (H, W, 3), got {frame.shape}")
    if min(frame.shape[:2]) < 16:
        raise ValueError(f"frame too small for quality analysis: {frame.shape}")
    block = blockiness(to_luma(frame))
    small = analysis_frame(frame, analysis_height)
    luma = to_luma(small)
    lo, hi = np.percentile(luma, [5.0, 95.0])
    return SpatialFeatures(
        niqe=niqe(luma),
        laplacian_var=laplacian_variance(luma),
        blur_index=blur_index(luma),
        noise_sigma=noise_sigma(luma),
        blockiness=block,
        brightness=float(luma.mean() / 255.0),
        dark_share=float(np.mean(luma <= DARK_LEVEL)),
        bright_share=float(np.mean(luma >= BRIGHT_LEVEL)),
        contrast=float(luma.std() / 255.0),
        luma_range=float((hi - lo) / 255.0),
        colourfulness=colourfulness(small),
        brisque=tuple(float(v) for v in brisque_features(luma)),
    )
