"""The description writer (video-text pairs for MCG pre-training) and the long-video
split of the generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from videoqa.data.webvid import load_webvid_csv, parse_duration
from videoqa.synth.config import long_video_config
from videoqa.synth.describe import describe
from videoqa.synth.generate import generate_annotations


def test_descriptions_are_written_as_webvid_csv(small_dir: Path) -> None:
    pairs = load_webvid_csv(small_dir / "descriptions" / "train.csv", small_dir)
    assert pairs and all(p.path.is_file() for p in pairs)  # videos/<id>.mp4
    assert all(p.duration == 4.0 for p in pairs)  # 32 frames at 8 fps
    first = pairs[0].caption
    assert first.startswith("a ") and first.endswith(".") and first == first.lower()
    assert len({p.caption for p in pairs}) == len(pairs)  # the captions tell videos apart


def test_describe_names_objects_and_events_in_order(validity_data) -> None:
    graph = next(g for g in validity_data.graphs.values() if len(g.events) >= 2)
    text = describe(graph, max_events=2)
    for obj in graph.objects:
        assert f"{obj.colors[0]} {obj.material} {obj.shape}" in text
    assert text.count(". then ") == 1
    assert parse_duration("PT00H01M05S") == 65.0 and parse_duration("x") is None


def test_long_video_split_spreads_events_and_questions_over_both_halves() -> None:
    data = generate_annotations(long_video_config(videos=12, seed=4), workers=1)
    graphs = list(data.graphs.values())
    assert all(g.num_frames / g.fps >= 40.0 for g in graphs)
    times = np.array([e.start_time for g in graphs for e in g.events])
    assert (times < 20).sum() > 0.25 * len(times) and (times >= 20).sum() > 0.25 * len(times)
    spans = [s.interval for split in data.qa.values() for s in split if s.interval]
    assert any(a < 20 for a, _ in spans) and any(a >= 20 for a, _ in spans)
