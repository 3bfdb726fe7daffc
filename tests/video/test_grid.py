"""Grid composer: golden layouts, colours landing in the right cells, aspect ratio,
pixel → cell → time round trips and padding."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from videoqa.errors import UsageError
from videoqa.video.grid import GridImage, compose_grid, grid_sample_count


def solid_frames(count: int, height: int, width: int) -> np.ndarray:
    """``count`` frames, frame ``i`` of the solid colour ``colour(i)``."""
    colours = np.array([colour(i) for i in range(count)], dtype=np.uint8)
    return np.broadcast_to(colours[:, None, None, :], (count, height, width, 3)).copy()


def colour(i: int) -> tuple[int, int, int]:
    return ((10 + 25 * i) % 256, (250 - 20 * i) % 256, (3 + 7 * i) % 256)


def times_for(count: int) -> np.ndarray:
    return np.arange(count, dtype=np.float64) * 0.5 + 0.25


def compose(grid: int, size: int, height: int, width: int, fill: int = 0) -> GridImage:
    count = grid * grid
    return compose_grid(solid_frames(count, height, width), times_for(count), grid, size, fill)


def test_grid_sample_count() -> None:
    assert [grid_sample_count(g) for g in (1, 2, 3, 4)] == [1, 4, 9, 16]
    with pytest.raises(UsageError):
        grid_sample_count(0)


def test_golden_layout_3x3_of_336_with_4_3_frames() -> None:
    out = compose(3, 336, height=120, width=160)
    assert out.image.shape == (336, 336, 3) and out.image.dtype == np.uint8
    assert out.grid == 3 and out.size == 336 and len(out.cells) == 9
    # tiles of 112 px; a 160×120 frame scales by 0.7 to 112×84, 14 px bars above/below
    tiles = [(112 * c, 112 * r, 112 * c + 112, 112 * r + 112) for r in range(3) for c in range(3)]
    assert [cell.tile for cell in out.cells] == tiles
    boxes = [
        (112 * c, 112 * r + 14, 112 * c + 112, 112 * r + 98) for r in range(3) for c in range(3)
    ]
    assert [cell.box for cell in out.cells] == boxes
    assert [(cell.index, cell.row, cell.col) for cell in out.cells] == [
        (r * 3 + c, r, c) for r in range(3) for c in range(3)
    ]
    assert [cell.time for cell in out.cells] == times_for(9).tolist()


def test_golden_layout_size_not_divisible() -> None:
    # 100 px over 3 cells: edges floor(i * 100 / 3) = 0, 33, 66, 100 → 33, 33, 34 px
    out = compose(3, 100, height=10, width=10)
    assert [cell.tile for cell in out.cells[:3]] == [
        (0, 0, 33, 33),
        (33, 0, 66, 33),
        (66, 0, 100, 33),
    ]
    assert out.cells[8].tile == (66, 66, 100, 100)
    # a square frame fills a square cell; the 34×33 cell centres a 33×33 frame at x=66
    assert out.cells[0].box == (0, 0, 33, 33)
    assert out.cells[2].box == (66, 0, 99, 33)
    assert out.cells[6].box == (0, 66, 33, 99)
    assert out.cells[8].box == (66, 66, 100, 100)
    # 10 px over 4 cells: 0, 2, 5, 7, 10 — the remainder is spread, not piled at the end
    small = compose(4, 10, height=4, width=4)
    assert [cell.tile[0] for cell in small.cells[:4]] == [0, 2, 5, 7]
    assert small.cells[3].tile[2] == 10


@pytest.mark.parametrize(("grid", "size"), [(1, 64), (2, 336), (3, 100), (4, 10), (5, 337)])
def test_tiles_cover_the_image_exactly(grid: int, size: int) -> None:
    out = compose(grid, size, height=9, width=16)
    hits = np.zeros((size, size), dtype=np.int64)
    for cell in out.cells:
        x0, y0, x1, y1 = cell.tile
        hits[y0:y1, x0:x1] += 1
        widths = {x1 - x0, y1 - y0}
        assert widths <= {size // grid, size // grid + 1}
    assert np.all(hits == 1)


@pytest.mark.parametrize(("height", "width"), [(120, 160), (160, 120), (64, 64), (50, 200)])
def test_solid_colour_lands_in_its_cell_and_padding_is_fill(height: int, width: int) -> None:
    out = compose(3, 336, height=height, width=width, fill=77)
    content = np.zeros((336, 336), dtype=bool)
    for cell in out.cells:
        x0, y0, x1, y1 = cell.box
        region = out.image[y0:y1, x0:x1]
        assert np.all(region == np.array(colour(cell.index), dtype=np.uint8)), cell
        content[y0:y1, x0:x1] = True
    assert np.all(out.image[~content] == 77)
    if height != width:
        assert np.any(~content)  # there is padding to check


def test_one_colour_frame_among_black_frames() -> None:
    frames = np.zeros((9, 90, 160, 3), dtype=np.uint8)
    frames[5] = (255, 0, 0)
    out = compose_grid(frames, times_for(9), grid=3, size=336, fill=0)
    red = np.all(out.image == (255, 0, 0), axis=-1)
    ys, xs = np.nonzero(red)
    cell = out.cells[5]  # row 1, col 2
    assert (cell.row, cell.col) == (1, 2)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == cell.box


@pytest.mark.parametrize(
    ("height", "width"), [(120, 160), (160, 120), (100, 400), (37, 91), (1, 50), (480, 270), (7, 7)]
)
@pytest.mark.parametrize(("grid", "size"), [(3, 336), (2, 101), (4, 448)])
def test_aspect_ratio_kept_within_one_pixel(height: int, width: int, grid: int, size: int) -> None:
    out = compose(grid, size, height=height, width=width)
    for cell in out.cells:
        x0, y0, x1, y1 = cell.box
        w, h = x1 - x0, y1 - y0
        tx0, ty0, tx1, ty1 = cell.tile
        assert tx0 <= x0 and ty0 <= y0 and x1 <= tx1 and y1 <= ty1
        assert w == tx1 - tx0 or h == ty1 - ty0, "the frame fills the cell along one side"
        # the other side is the exact scaled length, rounded
        if w == tx1 - tx0:
            assert abs(h - height * w / width) <= 1
        else:
            assert abs(w - width * h / height) <= 1
        # centred: the bars on both sides differ by at most one pixel
        assert abs((x0 - tx0) - (tx1 - x1)) <= 1 and abs((y0 - ty0) - (ty1 - y1)) <= 1


def test_frame_of_cell_size_is_copied_unchanged() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(4, 50, 50, 3), dtype=np.uint8)
    out = compose_grid(frames, times_for(4), grid=2, size=100)
    for cell in out.cells:
        x0, y0, x1, y1 = cell.box
        np.testing.assert_array_equal(out.image[y0:y1, x0:x1], frames[cell.index])


@pytest.mark.parametrize(("grid", "size"), [(1, 32), (3, 336), (3, 100), (4, 10)])
def test_cell_at_and_time_at_round_trip(grid: int, size: int) -> None:
    out = compose(grid, size, height=30, width=40)
    for cell in out.cells:
        x0, y0, x1, y1 = cell.tile
        for x, y in [((x0 + x1) // 2, (y0 + y1) // 2), (x0, y0), (x1 - 1, y1 - 1)]:
            assert out.cell_at(x, y) is cell
            assert out.time_at(x, y) == cell.time
            assert cell.contains(x, y)
        bx0, by0, bx1, by1 = cell.box
        assert out.cell_at((bx0 + bx1) // 2, (by0 + by1) // 2) is cell
    for x, y in [(-1, 0), (0, -1), (size, 0), (0, size), (size, size)]:
        assert out.cell_at(x, y) is None and out.time_at(x, y) is None


def test_repeated_times_are_allowed() -> None:
    # a short video gives repeated frames: times may repeat but not go back
    times = np.array([0.5, 0.5, 1.5, 1.5])
    out = compose_grid(solid_frames(4, 8, 8), times, grid=2, size=16)
    assert [c.time for c in out.cells] == [0.5, 0.5, 1.5, 1.5]


def test_save_png_round_trip(tmp_path: Path) -> None:
    out = compose(2, 64, height=12, width=20, fill=200)
    path = tmp_path / "grid.png"
    out.save(path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")), out.image)


def test_real_video_frames(bikes_video: Path) -> None:
    """The first 4 frames of a real clip, tiled 2×2: each cell is the frame scaled down
    (mean colour within 2 levels of the original's)."""
    with av.open(str(bikes_video)) as container:
        stream = container.streams.video[0]
        decoded = []
        for frame in container.decode(stream):
            decoded.append((frame.to_ndarray(format="rgb24"), float(frame.time)))
            if len(decoded) == 4:
                break
    frames = np.stack([f for f, _ in decoded])
    times = np.array([t for _, t in decoded])
    out = compose_grid(frames, times, grid=2, size=224)
    height, width = frames.shape[1:3]
    for cell in out.cells:
        x0, y0, x1, y1 = cell.box
        assert abs((x1 - x0) / (y1 - y0) - width / height) < 0.02
        cell_mean = out.image[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
        frame_mean = frames[cell.index].reshape(-1, 3).mean(axis=0)
        np.testing.assert_allclose(cell_mean, frame_mean, atol=2.0)


@pytest.mark.parametrize(
    ("count", "grid", "match"),
    [(8, 3, "needs exactly 9 frames"), (10, 3, "grid_sample_count"), (9, 2, "needs exactly 4")],
)
def test_wrong_frame_count(count: int, grid: int, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        compose_grid(solid_frames(count, 8, 8), times_for(count), grid=grid, size=64)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"grid": 0},
        {"size": 1},  # fewer pixels than cells
        {"fill": 256},
        {"fill": -1},
        {"times": np.array([0.0, 1.0, 0.5, 2.0])},
        {"times": np.array([0.0, 1.0, np.nan, 2.0])},
        {"times": np.array([0.0, 1.0, 2.0])},
        {"frames": np.zeros((4, 8, 8, 3), dtype=np.float32)},
        {"frames": np.zeros((4, 8, 8), dtype=np.uint8)},
        {"frames": np.zeros((4, 8, 8, 4), dtype=np.uint8)},
    ],
)
def test_bad_inputs(kwargs: dict) -> None:
    args = {
        "frames": solid_frames(4, 8, 8),
        "times": times_for(4),
        "grid": 2,
        "size": 16,
        "fill": 0,
    }
    args.update(kwargs)
    with pytest.raises(UsageError):
        compose_grid(**args)
