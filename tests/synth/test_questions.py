from __future__ import annotations

import numpy as np

from videoqa.synth.config import SynthConfig
from videoqa.synth.frame_questions import frame_candidates
from videoqa.synth.programs import ObjectRef
from videoqa.synth.questions import (
    QTYPES,
    frame_counts,
    pick_present,
    segments,
    shortest_ref,
    unclipped,
    video_candidates,
)
from videoqa.synth.scene_graph import FrameGraph, ObjectState
from videoqa.synth.simulate import simulate
from videoqa.synth.vocab import COLOR_NAMES, IID_RULE, OPEN_RULE, SHAPES


def test_shortest_ref_golden():
    rng = np.random.default_rng(0)
    target = {"shape": "circle", "color": "red", "size": "small"}
    others = [
        {"shape": ("circle",), "color": ("blue",), "size": ("small",)},
        {"shape": ("square",), "color": ("red",), "size": ("large",)},
        {"shape": ("square",), "color": ("red",), "size": ("small",)},
    ]
    usable = ["shape", "color", "size"]
    # no single attribute is unique; shape+color is the only unique pair
    assert shortest_ref(target, others, usable, rng) == ObjectRef(shape="circle", color="red")
    assert shortest_ref(target, [{"shape": ("circle",), "color": ("red",), "size": ("small",)}],
                        usable, rng) is None  # fmt: skip
    assert ObjectRef(size="small", color="red", shape="circle").phrase() == "the small red circle"
    assert ObjectRef(material="metal").phrase() == "the metal object"
    assert ObjectRef(size="large").filter_phrase() == "large objects"


def test_segments_golden():
    ranges, labels = segments(64, 16.0)
    assert ranges == [(0, 13), (13, 26), (26, 38), (38, 51), (51, 64)]
    assert labels[0] == "between 0.0 s and 0.8 s" and labels[-1] == "between 3.2 s and 4.0 s"


def test_candidates_are_consistent():
    cfg = SynthConfig(seed=4)
    seen = set()
    for i in range(12):
        graph = simulate(cfg, "train", i)
        rng = np.random.default_rng(i)
        cands = video_candidates(graph, IID_RULE, rng) + frame_candidates(graph, IID_RULE, rng)
        ids = {o.id for o in graph.objects}
        for c in cands:
            seen.add(c.qtype)
            assert c.qtype in QTYPES and c.group.split(":")[0] == c.qtype
            assert c.answer not in c.wrong and len(set(c.wrong)) >= 4
            frames = c.causal_frames
            assert list(frames) == list(range(frames[0], frames[-1] + 1))
            assert c.interval == (
                round(frames[0] / cfg.fps, 4),
                round((frames[-1] + 1) / cfg.fps, 4),
            )
            assert set(c.participants) <= ids
            assert c.question.endswith("?")
            if c.frame is not None:
                assert frames == (c.frame,)
    assert seen == set(QTYPES)


def test_comp_split_questions_involve_a_novel_object(validity_data):
    comp = validity_data.qa["comp"]
    assert comp and all(s.extras["novel_combo"] for s in comp)
    assert not any(s.extras["novel_combo"] for s in validity_data.qa["train"])


def _obj(oid: int, shape: str, color: str, size: str, material: str, x: float) -> ObjectState:
    return ObjectState(
        id=oid,
        shape=shape,
        color=color,
        size=size,
        material=material,
        center=(x, 32.0),
        radius=4.0,
        bbox=(x - 4.0, 28.0, x + 4.0, 36.0),
        velocity=(0.0, 0.0),
    )


FRAME = FrameGraph(
    index=5,
    time=0.5,
    objects=[
        _obj(0, "circle", "red", "small", "metal", 10.0),
        _obj(1, "square", "red", "large", "matte", 30.0),
        _obj(2, "circle", "blue", "small", "metal", 62.0),
    ],
    relations=[],
)


def test_frame_counts_golden():
    counts = [(c.group, c.filter.filter_phrase(), c.ids, c.choices[0]) for c in frame_counts(FRAME)]
    assert counts == [
        ("all", "objects", [0, 1, 2], "1"),
        ("size", "small objects", [0, 2], "0"),
        ("size", "large objects", [1], "0"),
        ("material", "matte objects", [1], "0"),
        ("material", "metal objects", [0, 2], "0"),
        ("material", "striped objects", [], "0"),
    ]
    empty = FRAME.model_copy(update={"objects": []})
    # no object: "0" is not offered for all objects (1-5), it is for the filtered counts
    assert [c.group for c in frame_counts(empty)] == ["size"] * 2 + ["material"] * 3


def test_pick_present_golden():
    rng = np.random.default_rng(0)
    k = int(np.random.default_rng(0).integers(3))
    answer, oid, wrong = pick_present(FRAME, OPEN_RULE, rng)
    assert (answer, oid) == [("blue circle", 2), ("red circle", 0), ("red square", 1)][k]
    assert len(wrong) == len(COLOR_NAMES) * len(SHAPES) - 3
    assert not {"blue circle", "red circle", "red square"} & set(wrong)
    before = rng.bit_generator.state
    assert pick_present(FRAME.model_copy(update={"objects": []}), OPEN_RULE, rng) is None
    assert rng.bit_generator.state == before  # an empty frame draws nothing


def test_unclipped_is_strictly_inside():
    assert unclipped(FRAME.objects[0], 64) and not unclipped(FRAME.objects[2], 64)  # x2 = 66
    assert not unclipped(FRAME.objects[0].model_copy(update={"bbox": (0.0, 1, 8, 9)}), 64)
