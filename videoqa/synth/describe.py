"""Descriptions of synthetic videos, for video–text pre-training (MCG, arXiv:2410.09379
§3.5, pre-trains on WebVid captions; here the captions come from the scene graph).

A description names the objects (size, colour, material, shape as first seen), then
the first events in time order (collisions, bounces, entries, exits, stops, starts,
colour and size changes), e.g. *"a small red metal cube and a large blue rubber
sphere. the red cube collides with the blue sphere. then the blue sphere bounces off
the left wall."* The files are WebVid-format CSVs (``descriptions/<split>.csv``,
:mod:`videoqa.data.webvid`), so the pre-training recipe reads them as it reads WebVid.
"""

from __future__ import annotations

import json
from pathlib import Path

from videoqa.data.webvid import write_webvid_csv
from videoqa.synth.scene_graph import SceneGraph

DESCRIPTIONS_DIR = "descriptions"


def _name(graph: SceneGraph, oid: int) -> str:
    obj = next(o for o in graph.objects if o.id == oid)
    return f"the {obj.colors[0]} {obj.shape}"


def _event(graph: SceneGraph, event) -> str:
    subject = _name(graph, event.participants[0])
    kind = event.type
    if kind == "collision" and len(event.participants) > 1:
        return f"{subject} collides with {_name(graph, event.participants[1])}"
    if kind == "bounce":
        return f"{subject} bounces off the {event.wall or ''} wall".replace("  ", " ")
    if kind == "enter":
        return f"{subject} enters the scene"
    if kind == "exit":
        return f"{subject} leaves the scene"
    if kind == "stop":
        return f"{subject} stops"
    if kind == "start":
        return f"{subject} starts moving"
    if kind == "color_change":
        return f"{subject} turns {event.new}"
    if kind == "size_change":
        return f"{subject} becomes {event.new}"
    return f"{subject} {kind.replace('_', ' ')}"


def describe(graph: SceneGraph, max_events: int = 4) -> str:
    """One caption of a scene graph: its objects, then at most ``max_events`` events in
    time order (lower case, sentences joined by ``then``)."""
    objs = [f"a {o.sizes[0]} {o.colors[0]} {o.material} {o.shape}" for o in graph.objects]
    head = objs[0] if len(objs) == 1 else ", ".join(objs[:-1]) + " and " + objs[-1]
    sentences = [head]
    for i, event in enumerate(graph.events[:max_events]):
        sentences.append(("then " if i else "") + _event(graph, event))
    return ". ".join(sentences) + "."


def write_descriptions(benchmark_dir: str | Path, max_events: int = 4) -> list[Path]:
    """Write ``descriptions/<split>.csv`` (WebVid format, ``page_dir`` = ``videos``) for
    every scene graph under ``benchmark_dir/scene_graphs``.

    Returns:
        the files written, one per split present.
    """
    root = Path(benchmark_dir)
    rows: dict[str, list[tuple[str, str, str, float]]] = {}
    for path in sorted((root / "scene_graphs").glob("*.json")):
        graph = SceneGraph.model_validate(json.loads(path.read_text(encoding="utf-8")))
        seconds = graph.num_frames / graph.fps
        rows.setdefault(graph.split, []).append(
            (graph.video_id, describe(graph, max_events), "videos", seconds)
        )
    return [
        write_webvid_csv(root / DESCRIPTIONS_DIR / f"{split}.csv", items)
        for split, items in sorted(rows.items())
    ]


if __name__ == "__main__":  # python -m videoqa.synth.describe DIR (an existing benchmark)
    import sys

    for written in write_descriptions(sys.argv[1]):
        print(written)
