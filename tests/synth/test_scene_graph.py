from __future__ import annotations

from videoqa.synth.scene_graph import ObjectState, spatial_relations
from videoqa.synth.shapes import bbox


def _obj(oid: int, x: float, y: float, r: float = 5.0) -> ObjectState:
    return ObjectState(
        id=oid,
        shape="circle",
        color="red",
        size="small",
        material="matte",
        center=(x, y),
        radius=r,
        bbox=bbox("circle", x, y, r),
        velocity=(0.0, 0.0),
    )


def test_relations_golden_left_right():
    rel = set(spatial_relations([_obj(0, 20, 50), _obj(1, 80, 50)], width=100))
    assert rel == {(0, "left_of", 1), (1, "right_of", 0)}


def test_relations_diagonal_and_near():
    # boxes disjoint on both axes, gap between circles 14.1 - 10 = 4.1 <= mean radius 5
    rel = set(spatial_relations([_obj(0, 40, 40), _obj(1, 50, 50)], width=100))
    assert rel == {
        (0, "left_of", 1), (0, "above", 1), (0, "near", 1),
        (1, "right_of", 0), (1, "below", 0), (1, "near", 0),
    }  # fmt: skip


def test_relations_touching_overlapping_boxes():
    # centres 10 px apart on a diagonal offset: circles touch, boxes overlap on both axes
    rel = set(spatial_relations([_obj(0, 50, 50), _obj(1, 58, 56)], width=100))
    assert rel == {(0, "near", 1), (0, "touching", 1), (1, "near", 0), (1, "touching", 0)}


def test_restrict_keeps_events_inside_the_view(validity_data):
    graph = next(iter(validity_data.graphs.values()))
    ev = graph.events[0]
    frames = range(ev.start_frame, ev.end_frame + 1)
    view = graph.restrict(frames)
    assert [fg.index for fg in view.frames] == list(frames)
    assert ev in view.events
    assert all(set(range(e.start_frame, e.end_frame + 1)) <= set(frames) for e in view.events)
    smaller = graph.restrict(range(ev.start_frame + 1, ev.end_frame + 1))
    assert ev not in smaller.events or ev.start_frame == ev.end_frame
