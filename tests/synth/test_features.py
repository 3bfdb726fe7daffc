"""Oracle scene-graph features (:mod:`videoqa.synth.features`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from videoqa.errors import DataFormatError
from videoqa.features.store import FeatureStore
from videoqa.synth.features import SLOTS, TOKEN_DIM, frame_tokens, write_scene_graph_store
from videoqa.synth.vocab import ATTRIBUTE_VALUES


def _obj(**kw):
    base = {
        "id": 2,
        "shape": ATTRIBUTE_VALUES["shape"][1],
        "color": ATTRIBUTE_VALUES["color"][3],
        "size": ATTRIBUTE_VALUES["size"][0],
        "material": ATTRIBUTE_VALUES["material"][2],
        "center": [50.0, 25.0],
        "radius": 10.0,
        "velocity": [100.0, -50.0],
    }
    return base | kw


def test_frame_tokens_golden():
    tokens = frame_tokens({"objects": [_obj()]}, width=100.0)
    assert tokens.shape == (SLOTS, TOKEN_DIM) == (10, 25)
    assert not tokens[[0, 1, 3]].any()  # empty slots stay zero
    row = tokens[2]
    sizes, colors, materials = 2, 8, 3
    hot = np.flatnonzero(row[:19])
    # size 0, colour 3, material 2, shape 1 in ATTRIBUTE_VALUES order
    assert hot.tolist() == [0, sizes + 3, sizes + colors + 2, sizes + colors + materials + 1]
    np.testing.assert_allclose(row[19:], [0.5, 0.25, 0.1, 1.0, -0.5, 1.0])


def test_frame_tokens_rejects_bad_objects():
    with pytest.raises(DataFormatError, match="slots"):
        frame_tokens({"objects": [_obj(id=SLOTS)]}, width=100.0)
    with pytest.raises(DataFormatError, match="unknown color"):
        frame_tokens({"objects": [_obj(color="mauve")]}, width=100.0)


def test_store_from_scene_graphs_round_trip_and_resume(small_dir, tmp_path):
    splits = [s for s in ("train", "val", "test") if (small_dir / "qa" / f"{s}.jsonl").is_file()]
    out = tmp_path / "store"
    written = write_scene_graph_store(small_dir, out, frames=8, splits=splits)
    assert written > 0
    assert write_scene_graph_store(small_dir, out, frames=8, splits=splits) == 0  # resumed
    store = FeatureStore(out)
    assert store.meta.encoder == "scene-graph-oracle" and len(store) == written
    video_id = store.ids()[0]
    feats = store.get(video_id)
    graph = json.loads((small_dir / "scene_graphs" / f"{video_id}.json").read_text())
    # 8 uniform frames over 32: the frame showing at the centre of each eighth
    assert feats.frame_indices.tolist() == [2, 6, 10, 14, 18, 22, 26, 30]
    np.testing.assert_allclose(feats.times, feats.frame_indices / graph["fps"])
    assert feats.patches.shape == (8, SLOTS, TOKEN_DIM)
    np.testing.assert_array_equal(feats.frames, feats.patches.reshape(8, -1))
    frame = next(f for f in graph["frames"] if f["index"] == 10)
    np.testing.assert_array_equal(feats.patches[2], frame_tokens(frame, graph["width"]))
    present = feats.patches[..., -1].sum(axis=1)
    assert (
        present == [len(f["objects"]) for f in graph["frames"] if f["index"] in feats.frame_indices]
    ).all()


def test_store_refuses_missing_split(small_dir, tmp_path):
    with pytest.raises(DataFormatError, match="no such split"):
        write_scene_graph_store(small_dir, tmp_path / "s", splits=("nope",))


def test_cli_writes_the_store(small_dir, tmp_path):
    from typer.testing import CliRunner

    from videoqa.cli.main import app

    out = tmp_path / "cli_store"
    args = ["extract", "oracle", "--annotations", str(small_dir), "--out", str(out), "--frames", "4"]
    result = CliRunner().invoke(app, [*args, "--split", "train"])
    assert result.exit_code == 0, result.output
    assert FeatureStore(out).meta.frames == 4
    bad = CliRunner().invoke(app, [*args, "--split", "nope"])
    assert bad.exit_code == 2
