"""Issue 20 diagnostics: is the answer in the frames the backbones see?

``oracle``: for every question type, the scene-graph oracle (``videoqa.synth.oracle``)
answers from (a) the question's causal frames, (b) the 16 frames the feature store
sampled, (c) the sampled frames with a frame-bound question's moment moved to the
nearest sampled frame (what a model that reads "at 1.44 s" can do best with 16 frames),
plus how often the causal frames intersect the sampled ones. Abstentions count as a
uniform guess (1/5), as in ``oracle_accuracy``::

    python experiments/sparc/diagnose.py oracle --benchmark data/synth --features data/synth_sg16
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True)


@app.callback()
def main() -> None:
    """Issue 20 diagnostics."""


@app.command()
def oracle(
    benchmark: Path = typer.Option(...),
    features: Path = typer.Option(...),
    split: str = typer.Option("train"),
    out: Path | None = typer.Option(None, help="Write the table as JSON here."),
) -> None:
    """Oracle accuracy per type from causal / sampled / nearest-sampled frames."""
    from videoqa.data import load_dataset
    from videoqa.features.store import FeatureStore
    from videoqa.synth.oracle import answer_text
    from videoqa.synth.programs import parse_program
    from videoqa.synth.scene_graph import SceneGraph

    samples = load_dataset("synthetic", benchmark, split=split).samples
    store = FeatureStore(features)
    graphs: dict[str, SceneGraph] = {}
    sampled: dict[str, list[int]] = {}
    acc: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    count: dict[str, int] = defaultdict(int)
    for s in samples:
        if s.video_id not in graphs:
            text = (benchmark / "scene_graphs" / f"{s.video_id}.json").read_text()
            graphs[s.video_id] = SceneGraph.model_validate_json(text)
            sampled[s.video_id] = [int(i) for i in store.get(s.video_id).frame_indices]
        graph, frames = graphs[s.video_id], sampled[s.video_id]
        program = parse_program(s.extras["program"])
        causal = set(s.extras["causal_frames"])
        views = {"causal": (program, causal), "sampled16": (program, set(frames))}
        if hasattr(program, "frame"):
            near = min(frames, key=lambda f: abs(f - program.frame))
            views["nearest_sampled"] = (program.model_copy(update={"frame": near}), set(frames))
        else:
            views["nearest_sampled"] = views["sampled16"]
        for name, (prog, keep) in views.items():
            text = answer_text(prog, graph.restrict(keep), s.choices or ())
            ok = text is not None and text in s.choices and s.choices.index(text) == s.answer
            gain = 1.0 if ok else (1.0 / len(s.choices) if text is None else 0.0)
            for key in (s.qtype, "all"):
                acc[key][name] += gain
        for key in (s.qtype, "all"):
            count[key] += 1
            acc[key]["causal_in_sampled"] += float(bool(causal & set(frames)))
            acc[key]["causal_frames"] += len(causal)
    table = {k: {m: v / count[k] for m, v in acc[k].items()} for k in count}
    cols = ["causal", "sampled16", "nearest_sampled", "causal_in_sampled", "causal_frames"]
    print(
        f"{split}: {len(samples)} questions; sampled frames of {samples[0].video_id}: "
        f"{sampled[samples[0].video_id]}"
    )
    print("| type | n | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for k in sorted(count, key=lambda k: (k == "all", k)):
        cells = [f"{100 * table[k][c]:.1f}" for c in cols[:-1]] + [f"{table[k][cols[-1]]:.1f}"]
        print(f"| {k} | {count[k]} | " + " | ".join(cells) + " |")
    if out is not None:
        out.write_text(json.dumps({"count": count, "table": table}, indent=2) + "\n")


if __name__ == "__main__":
    app()
