"""Rendering of a scene graph into RGB frames with numpy: anti-aliased shapes (coverage
from the signed distance, ``clip(0.5 - d, 0, 1)`` per pixel), three materials (matte with
soft shading, metal with a specular highlight, striped), a dark rim, on a textured
background.

Only the scene graph is read, so the pixels always agree with the annotations.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np

from videoqa.synth.scene_graph import Background, ObjectState, SceneGraph
from videoqa.synth.shapes import bbox as shape_bbox
from videoqa.synth.shapes import signed_distance
from videoqa.synth.vocab import COLORS

_RGB = {name: np.asarray(rgb, dtype=np.float32) for name, rgb in COLORS.items()}


def render_background(bg: Background, width: int, height: int) -> np.ndarray:
    """The background image, ``(H, W, 3)`` float32 in 0–255.

    ``solid``: colour a. ``hgrad``/``vgrad``: linear ramp a → b across / down. ``checker``:
    squares of ``tile`` pixels alternating a and b. ``noise``: smooth value noise (random
    values on a ``tile``-pixel grid, bilinearly interpolated) blending a and b.
    """
    a = np.asarray(bg.color_a, dtype=np.float32)
    b = np.asarray(bg.color_b, dtype=np.float32)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if bg.kind == "solid":
        w = np.zeros((height, width), np.float32)
    elif bg.kind == "hgrad":
        w = xs / max(1, width - 1)
    elif bg.kind == "vgrad":
        w = ys / max(1, height - 1)
    elif bg.kind == "checker":
        w = ((xs // bg.tile + ys // bg.tile) % 2).astype(np.float32)
    elif bg.kind == "noise":
        rng = np.random.default_rng(bg.seed)
        gy, gx = height // bg.tile + 2, width // bg.tile + 2
        grid = rng.random((gy, gx), dtype=np.float32)
        fy, fx = ys / bg.tile, xs / bg.tile
        y0, x0 = fy.astype(int), fx.astype(int)
        ty, tx = fy - y0, fx - x0
        top = grid[y0, x0] * (1 - tx) + grid[y0, x0 + 1] * tx
        bot = grid[y0 + 1, x0] * (1 - tx) + grid[y0 + 1, x0 + 1] * tx
        w = top * (1 - ty) + bot * ty
    else:
        raise ValueError(f"unknown background kind {bg.kind!r}")
    return a + (b - a) * w[..., None]


def _shade(color: str, material: str, u: np.ndarray, v: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Colour of the object's pixels, ``(h, w, 3)``; ``u, v`` are offsets in units of r,
    ``sd`` the signed distance to the outline in pixels."""
    base = _RGB[color]
    if material == "metal":
        rho = np.clip(np.hypot(u, v), 0, 1.4) / 1.4
        spec = np.exp(-((u + 0.35) ** 2 + (v + 0.4) ** 2) / 0.12)
        col = base * (0.72 + 0.28 * (1 - rho))[..., None]
        col = col + (255.0 - col) * (0.7 * spec)[..., None]
    elif material == "striped":
        stripe = (np.floor((u + v) * 2.2) % 2 == 0)[..., None]
        col = np.where(stripe, base, base * 0.45 + 255.0 * 0.5)
    else:  # matte
        col = base * (1.0 - 0.12 * np.clip(v, -1.3, 1.3))[..., None]
    rim = np.clip(sd + 1.6, 0.0, 1.0)  # sd in pixels; darker band along the outline
    return col * (1.0 - 0.35 * rim)[..., None]


#: object positions are rounded to 1/SUBPIXEL pixel, so that each object needs only a few
#: distinct sprites per video (at most 0.125 px of displacement).
SUBPIXEL = 4


@lru_cache(maxsize=2048)
def _sprite(
    shape: str, r: float, color: str, material: str, fx: int, fy: int
) -> tuple[int, int, np.ndarray, np.ndarray]:
    """An object drawn around pixel (0, 0) with its centre at ``(fx, fy) / SUBPIXEL`` px.

    Returns:
        ``(x0, y0, alpha, premultiplied)``: the patch's top-left pixel offset, ``(h, w, 1)``
        coverage and ``(h, w, 3)`` colour × coverage, float32.
    """
    cx, cy = fx / SUBPIXEL, fy / SUBPIXEL
    x1, y1, x2, y2 = shape_bbox(shape, cx, cy, r)
    x0, y0 = int(np.floor(x1)) - 1, int(np.floor(y1)) - 1
    xe, ye = int(np.ceil(x2)) + 2, int(np.ceil(y2)) + 2
    dx = (np.arange(x0, xe, dtype=np.float32) + 0.5 - cx)[None, :]
    dy = (np.arange(y0, ye, dtype=np.float32) + 0.5 - cy)[:, None]
    sd = signed_distance(shape, dx, dy, r)
    alpha = np.clip(0.5 - sd, 0.0, 1.0)[..., None].astype(np.float32)
    dx, dy = np.broadcast_arrays(dx, dy)
    col = _shade(color, material, dx / r, dy / r, sd)
    return x0, y0, alpha, (col * alpha).astype(np.float32)


def draw_object(image: np.ndarray, obj: ObjectState) -> None:
    """Draw one object into ``image`` (``(H, W, 3)`` float32 0–255, modified in place),
    its centre rounded to 1/``SUBPIXEL`` pixel."""
    height, width = image.shape[:2]
    qx, qy = round(obj.center[0] * SUBPIXEL), round(obj.center[1] * SUBPIXEL)
    ix, fx = divmod(qx, SUBPIXEL)
    iy, fy = divmod(qy, SUBPIXEL)
    x0, y0, alpha, premul = _sprite(obj.shape, obj.radius, obj.color, obj.material, fx, fy)
    h, w = alpha.shape[:2]
    px0, py0 = ix + x0, iy + y0
    cx0, cy0 = max(0, -px0), max(0, -py0)
    cx1, cy1 = min(w, width - px0), min(h, height - py0)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    patch = image[py0 + cy0 : py0 + cy1, px0 + cx0 : px0 + cx1]
    a = alpha[cy0:cy1, cx0:cx1]
    patch *= 1.0 - a
    patch += premul[cy0:cy1, cx0:cx1]


def render_frame(graph: SceneGraph, index: int, background: np.ndarray) -> np.ndarray:
    """Frame ``index`` as ``(H, W, 3)`` uint8 RGB.

    Args:
        graph: the scene graph (must hold frame ``index``).
        index: frame index.
        background: ``render_background`` of the graph, ``(H, W, 3)`` float32.
    """
    fg = graph.frame(index)
    if fg is None:
        raise KeyError(f"frame {index} is not in the scene graph")
    image = background.copy()
    for obj in fg.objects:
        draw_object(image, obj)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def render_video(graph: SceneGraph) -> Iterator[np.ndarray]:
    """All frames of the scene graph in order, each ``(H, W, 3)`` uint8 RGB.

    Objects are drawn in id order (later ids on top where they overlap, which only
    happens for a frame during collisions).
    """
    background = render_background(graph.background, graph.width, graph.height)
    for fg in graph.frames:
        image = background.copy()
        for obj in fg.objects:
            draw_object(image, obj)
        yield np.clip(image + 0.5, 0, 255).astype(np.uint8)
