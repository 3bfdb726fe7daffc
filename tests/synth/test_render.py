from __future__ import annotations

import numpy as np
import pytest

from videoqa.errors import UsageError
from videoqa.synth.config import SynthConfig
from videoqa.synth.encode import write_mp4
from videoqa.synth.render import draw_object, render_background, render_video
from videoqa.synth.scene_graph import Background, ObjectState
from videoqa.synth.shapes import bbox
from videoqa.synth.simulate import simulate
from videoqa.synth.vocab import COLORS


def _square(cx=32.0, cy=32.0, r=10.0, material="matte") -> ObjectState:
    return ObjectState(
        id=0, shape="square", color="blue", size="large", material=material,
        center=(cx, cy), radius=r, bbox=bbox("square", cx, cy, r), velocity=(0.0, 0.0),
    )  # fmt: skip


def test_background_kinds_golden():
    solid = render_background(
        Background(kind="solid", color_a=(10, 20, 30), color_b=(0, 0, 0)), 8, 4
    )
    assert solid.shape == (4, 8, 3) and np.all(solid == [10, 20, 30])
    h = render_background(Background(kind="hgrad", color_a=(0, 0, 0), color_b=(70, 70, 70)), 8, 2)
    np.testing.assert_allclose(h[0, :, 0], np.arange(8) * 10.0)
    c = render_background(
        Background(kind="checker", color_a=(0, 0, 0), color_b=(9, 9, 9), tile=2), 4, 4
    )
    np.testing.assert_allclose(c[:, :, 0], [[0, 0, 9, 9], [0, 0, 9, 9], [9, 9, 0, 0], [9, 9, 0, 0]])
    with pytest.raises(ValueError):
        render_background(Background(kind="plaid", color_a=(0, 0, 0), color_b=(0, 0, 0)), 4, 4)


def test_draw_object_coverage_and_antialiasing():
    img = np.zeros((64, 64, 3), np.float32)
    draw_object(img, _square(cx=32.0, cy=32.0, r=10.0))  # edges at 23 and 41 px
    covered = img.sum(axis=2) > 0
    ys, xs = np.nonzero(covered)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (23, 40, 23, 40)
    # centre pixel is the (shaded) object colour: blue dominates
    r, g, b = img[32, 32]
    assert b > 150 and b > 2 * r and b > 2 * g
    # an edge at a half pixel gives intermediate coverage
    img2 = np.zeros((64, 64, 3), np.float32)
    draw_object(img2, _square(cx=32.5, cy=32.0, r=10.0))  # left edge at x = 23.5
    inner = img2[32, 30].sum()
    assert 0.3 * inner < img2[32, 23].sum() < 0.7 * inner


def test_rendered_objects_stay_inside_annotated_boxes():
    graph = simulate(SynthConfig(seed=2), "train", 0)
    frames = list(render_video(graph))
    assert len(frames) == graph.num_frames and frames[0].dtype == np.uint8
    for k in (0, 20, 40, 63):
        frame = frames[k].astype(int)
        for obj in graph.frames[k].objects:
            x1, y1, x2, y2 = (int(round(v)) for v in obj.bbox)
            cx, cy = (int(v) for v in obj.center)
            if not (x1 < cx < x2 and y1 < cy < y2):
                continue
            # the object colour is near the centre of its box (up to shading)
            assert np.abs(frame[cy, cx] - np.array(COLORS[obj.color])).max() < 140


def test_write_mp4_round_trip(tmp_path):
    from videoqa.video.reader import VideoReader

    graph = simulate(SynthConfig(seed=2, frames=24, size=64, fps=8.0), "train", 1)
    frames = np.stack(list(render_video(graph)))
    path = tmp_path / "v.mp4"
    assert write_mp4(path, frames, fps=8.0) == 24
    with VideoReader(path) as reader:
        info = reader.info
        batch = reader.read_all()
    assert (info.num_frames, info.width, info.height, info.codec) == (24, 64, 64, "h264")
    assert info.fps == pytest.approx(8.0)
    np.testing.assert_allclose(batch.times, np.arange(24) / 8.0)
    assert np.abs(batch.frames.astype(int) - frames).mean() < 4.0


def test_write_mp4_rejects_bad_frames(tmp_path):
    with pytest.raises(UsageError):
        write_mp4(tmp_path / "a.mp4", [np.zeros((63, 64, 3), np.uint8)], fps=8)
    with pytest.raises(UsageError):
        write_mp4(tmp_path / "b.mp4", [np.zeros((64, 64), np.uint8)], fps=8)
    with pytest.raises(UsageError):
        write_mp4(tmp_path / "c.mp4", [], fps=8)
