from __future__ import annotations

import numpy as np

from videoqa.synth.config import SynthConfig
from videoqa.synth.frame_questions import frame_candidates
from videoqa.synth.programs import ObjectRef
from videoqa.synth.questions import QTYPES, segments, shortest_ref, video_candidates
from videoqa.synth.simulate import simulate
from videoqa.synth.vocab import IID_RULE


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
