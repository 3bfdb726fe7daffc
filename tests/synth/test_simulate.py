from __future__ import annotations

import math

import numpy as np
import pytest

from videoqa.synth.config import SynthConfig
from videoqa.synth.scene_graph import EVENT_TYPES, TOUCH_GAP
from videoqa.synth.simulate import elastic_collision, simulate
from videoqa.synth.vocab import HELD_OUT_PAIRS, WALLS


def test_elastic_collision_equal_masses_swap_head_on():
    v1, v2 = elastic_collision(
        np.array([0.0, 0.0]),
        np.array([1.0, 0.0]),
        1.0,
        np.array([1.0, 0.0]),
        np.array([-2.0, 0.0]),
        1.0,
    )
    np.testing.assert_allclose(v1, [-2.0, 0.0])
    np.testing.assert_allclose(v2, [1.0, 0.0])


def test_elastic_collision_golden_mass_ratio():
    # 1-D: v1' = (m1 - m2)/(m1 + m2) v1 = (4 - 1)/5 * 1 = 0.6 ; v2' = 2 m1/(m1 + m2) v1 = 1.6
    v1, v2 = elastic_collision(
        np.array([0.0, 0.0]),
        np.array([1.0, 0.0]),
        4.0,
        np.array([1.0, 0.0]),
        np.array([0.0, 0.0]),
        1.0,
    )
    np.testing.assert_allclose(v1, [0.6, 0.0])
    np.testing.assert_allclose(v2, [1.6, 0.0])


def test_elastic_collision_conserves_momentum_and_energy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p1, p2, v1, v2 = rng.normal(size=(4, 2))
        m1, m2 = rng.uniform(0.5, 3, size=2)
        w1, w2 = elastic_collision(p1, v1, m1, p2, v2, m2)
        np.testing.assert_allclose(m1 * v1 + m2 * v2, m1 * w1 + m2 * w2, atol=1e-12)
        e0 = m1 * v1 @ v1 + m2 * v2 @ v2
        assert m1 * w1 @ w1 + m2 * w2 @ w2 == pytest.approx(e0)


def test_same_seed_same_graph_and_splits_differ():
    cfg = SynthConfig(seed=7)
    a = simulate(cfg, "train", 3).model_dump_json()
    assert a == simulate(cfg, "train", 3).model_dump_json()
    assert a != simulate(cfg, "train", 4).model_dump_json()
    assert simulate(cfg, "val", 3).video_id == "val_00003"
    assert simulate(SynthConfig(seed=8), "train", 3).model_dump_json() != a


@pytest.fixture(scope="module")
def graphs():
    cfg = SynthConfig(seed=5)
    return [simulate(cfg, "train", i) for i in range(25)] + [
        simulate(cfg, "comp", i) for i in range(5)
    ]


def _state(graph, oid, k):
    return graph.frames[k].object(oid)


def test_scene_sizes_and_held_out_pairs(graphs):
    for g in graphs:
        assert 2 <= len(g.objects) <= 6
        assert len(g.frames) == g.num_frames == 64
        pairs = {(o.color, o.shape) for fg in g.frames for o in fg.objects}
        if g.split == "comp":
            assert pairs & HELD_OUT_PAIRS and any(o.novel for o in g.objects)
        else:
            assert not pairs & HELD_OUT_PAIRS and not any(o.novel for o in g.objects)


def test_events_agree_with_the_frames(graphs):
    width = 112
    seen = set()
    for g in graphs:
        for ev in g.events:
            seen.add(ev.type)
            k, oid = ev.frame, ev.participants[0]
            alone = [e for e in g.events if e.frame == k and e.involves(oid)] == [ev]
            assert ev.start_frame <= k <= ev.end_frame
            assert ev.start_time == pytest.approx(ev.start_frame / g.fps)
            assert ev.end_time == pytest.approx((ev.end_frame + 1) / g.fps)
            if ev.type == "enter":
                assert _state(g, oid, k - 1) is None and _state(g, oid, k) is not None
            elif ev.type == "exit":
                assert _state(g, oid, k) is not None and _state(g, oid, k + 1) is None
            elif ev.type == "color_change":
                assert _state(g, oid, k - 1).color == ev.old != ev.new == _state(g, oid, k).color
            elif ev.type == "size_change":
                assert _state(g, oid, k - 1).size == ev.old != ev.new == _state(g, oid, k).size
            elif ev.type == "stop" and alone:
                assert _state(g, oid, k).velocity == (0.0, 0.0)
                assert _state(g, oid, k - 1).velocity != (0.0, 0.0)
            elif ev.type == "collision":
                a, b = (_state(g, p, k) for p in ev.participants)
                gap = math.dist(a.center, b.center) - a.radius - b.radius
                assert gap <= TOUCH_GAP * width
                assert (ev.participants[0], "touching", ev.participants[1]) in g.frames[k].relations
            elif ev.type == "bounce":
                s = _state(g, oid, k)
                assert ev.wall in WALLS
                axis = 0 if ev.wall in ("left", "right") else 1
                near = s.center[axis] if ev.wall in ("left", "top") else width - s.center[axis]
                assert near <= s.radius + 0.05 * width
                # moving away from the wall after the bounce (unless hit in the same frame)
                sign = 1 if ev.wall in ("left", "top") else -1
                assert s.velocity[axis] * sign > 0 or not alone
    assert seen == set(EVENT_TYPES) and len(seen) == 8


def test_objects_summary_matches_frames(graphs):
    for g in graphs:
        for info in g.objects:
            frames = [fg.index for fg in g.frames if fg.object(info.id) is not None]
            assert (info.first_frame, info.last_frame) == (frames[0], frames[-1])
            colors = {fg.object(info.id).color for fg in g.frames if fg.object(info.id)}
            assert set(info.colors) == colors
