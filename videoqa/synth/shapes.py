"""Geometry of the 2-D shapes: outlines in units of the object's physical radius, their
bounding boxes, and signed distances used for anti-aliased rendering.

Every shape is a union of convex pieces (the circle, or convex polygons; the star is a
hexagram, the union of two triangles). Coordinates are image coordinates: ``x`` to the
right, ``y`` down, origin at the object's centre, unit = the physical radius ``r`` (the
radius of the circle used for collisions). Polygon sizes are chosen so that every shape
covers about the same area as its circle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np


def _regular(n: int, radius: float, start_deg: float) -> np.ndarray:
    angles = np.deg2rad(start_deg + 360.0 * np.arange(n) / n)
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


#: shape → convex polygons ``(V, 2)`` in units of r (``None`` for the circle).
_POLYGONS: dict[str, tuple[np.ndarray, ...] | None] = {
    "circle": None,
    "square": (np.array([[-0.9, -0.9], [0.9, -0.9], [0.9, 0.9], [-0.9, 0.9]]),),
    "diamond": (np.array([[0.0, -1.4], [1.05, 0.0], [0.0, 1.4], [-1.05, 0.0]]),),
    "triangle": (_regular(3, 1.5, -90.0),),
    "hexagon": (_regular(6, 1.1, 0.0),),
    "star": (_regular(3, 1.35, -90.0), _regular(3, 1.35, 90.0)),
}


@dataclass(frozen=True)
class ConvexPiece:
    """A convex polygon as half-planes: ``n_i · p <= d_i`` for every edge ``i``.

    Attributes:
        normals: ``(E, 2)`` outward unit normals.
        offsets: ``(E,)`` distances of the edges from the centre (units of r).
    """

    normals: np.ndarray
    offsets: np.ndarray


@cache
def shape_pieces(shape: str) -> tuple[ConvexPiece, ...]:
    """The convex pieces of a polygonal shape (empty for the circle).

    Raises:
        KeyError: unknown shape.
    """
    polys = _POLYGONS[shape]
    if polys is None:
        return ()
    pieces = []
    for poly in polys:
        nxt = np.roll(poly, -1, axis=0)
        edge = nxt - poly
        normals = np.stack([edge[:, 1], -edge[:, 0]], axis=1)
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        offsets = np.einsum("ij,ij->i", normals, poly)
        if np.all(offsets < 0):  # vertices listed the other way round
            normals, offsets = -normals, -offsets
        pieces.append(ConvexPiece(normals, offsets))
    return tuple(pieces)


@cache
def shape_extent(shape: str) -> tuple[float, float, float, float]:
    """``(x_min, y_min, x_max, y_max)`` of the outline, in units of r."""
    polys = _POLYGONS[shape]
    if polys is None:
        return (-1.0, -1.0, 1.0, 1.0)
    pts = np.concatenate(polys)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def bbox(shape: str, cx: float, cy: float, r: float) -> tuple[float, float, float, float]:
    """Unclipped bounding box ``(x1, y1, x2, y2)`` of an object centred at ``(cx, cy)``
    with radius ``r`` (all in the same unit, e.g. pixels)."""
    x0, y0, x1, y1 = shape_extent(shape)
    return (cx + x0 * r, cy + y0 * r, cx + x1 * r, cy + y1 * r)


def signed_distance(shape: str, dx: np.ndarray, dy: np.ndarray, r: float) -> np.ndarray:
    """Signed distance (same unit as the inputs, negative inside) from points to the outline.

    Exact for the circle and along polygon edges; near polygon corners outside the shape it
    underestimates the distance, which only softens corners by less than a pixel.

    Args:
        dx, dy: point offsets from the centre, broadcastable arrays (e.g. pixels).
        r: the object's radius, same unit.
    """
    pieces = shape_pieces(shape)
    if not pieces:
        return np.hypot(dx, dy) - r
    out = None
    for piece in pieces:
        d = None
        for (nx, ny), off in zip(piece.normals, piece.offsets, strict=True):
            e = nx * dx + ny * dy - off * r
            d = e if d is None else np.maximum(d, e)
        out = d if out is None else np.minimum(out, d)
    return out


def shape_area(shape: str) -> float:
    """Area of the outline in units of r² (used to check shapes stay comparable)."""
    polys = _POLYGONS[shape]
    if polys is None:
        return math.pi
    grid = np.linspace(-2, 2, 801)
    xx, yy = np.meshgrid(grid, grid)
    inside = signed_distance(shape, xx, yy, 1.0) <= 0
    return float(inside.mean() * 16.0)
