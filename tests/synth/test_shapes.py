from __future__ import annotations

import math

import numpy as np
import pytest

from videoqa.synth.shapes import bbox, shape_area, shape_extent, signed_distance
from videoqa.synth.vocab import SHAPES


def test_circle_signed_distance_golden():
    dx = np.array([0.0, 2.0, 0.0, 3.0])
    dy = np.array([0.0, 0.0, -1.0, 4.0])
    np.testing.assert_allclose(signed_distance("circle", dx, dy, 1.0), [-1.0, 1.0, 0.0, 4.0])


def test_square_signed_distance_golden():
    # square of half side 0.9 r; r = 10 px: edges at ±9 px
    d = signed_distance(
        "square", np.array([0.0, 12.0, 0.0, 9.0]), np.array([0.0, 0.0, -9.0, 5.0]), 10.0
    )
    np.testing.assert_allclose(d, [-9.0, 3.0, 0.0, 0.0], atol=1e-9)


def test_star_is_union_of_two_triangles():
    # the tips of both triangles are inside the star, the centre too
    r = 1.0
    tips = np.array([[0.0, -1.3], [0.0, 1.3]])
    assert np.all(signed_distance("star", tips[:, 0], tips[:, 1], r) < 0)
    assert signed_distance("star", np.array(0.0), np.array(0.0), r) < 0
    assert signed_distance("star", np.array(0.0), np.array(1.4), r) > 0


@pytest.mark.parametrize("shape", SHAPES)
def test_areas_close_to_the_collision_disc(shape):
    assert shape_area(shape) == pytest.approx(math.pi, rel=0.08)


@pytest.mark.parametrize("shape", SHAPES)
def test_extent_bounds_the_outline(shape):
    x0, y0, x1, y1 = shape_extent(shape)
    grid = np.linspace(-2, 2, 401)
    xx, yy = np.meshgrid(grid, grid)
    inside = signed_distance(shape, xx, yy, 1.0) <= 0
    assert xx[inside].min() >= x0 - 0.011 and xx[inside].max() <= x1 + 0.011
    assert yy[inside].min() >= y0 - 0.011 and yy[inside].max() <= y1 + 0.011
    # and is tight (within a grid step)
    assert xx[inside].max() >= x1 - 0.02 and yy[inside].min() <= y0 + 0.02


def test_bbox_scales_and_translates():
    assert bbox("circle", 50.0, 20.0, 10.0) == (40.0, 10.0, 60.0, 30.0)
    assert bbox("square", 0.0, 0.0, 10.0) == pytest.approx((-9.0, -9.0, 9.0, 9.0))
