"""``videoqa extract scene-graphs`` through the CLI (training: ``tests/recipes/test_scene_graph.py``)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from videoqa.cli.main import app
from videoqa.perception.scene_graph.store import SceneGraphStore


def test_sg_extract_writes_a_store_and_resumes(
    sg_bench: Path, tiny_predictor_dir: Path, like_store: Path, tmp_path: Path
) -> None:
    args = [
        "extract",
        "scene-graphs",
        "--annotations",
        str(sg_bench),
        "--predictor",
        str(tiny_predictor_dir),
    ]
    args += ["--like", str(like_store), "--out", str(tmp_path / "sg"), "--json"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["written"] == 8
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2  # an existing store needs --resume or --overwrite
    again = json.loads(CliRunner().invoke(app, [*args, "--resume"]).stdout)
    assert (again["written"], again["skipped"]) == (0, 8)
    fresh = json.loads(CliRunner().invoke(app, [*args, "--overwrite"]).stdout)
    assert (fresh["written"], fresh["skipped"]) == (8, 0)
    assert len(SceneGraphStore(tmp_path / "sg").ids()) == 8


def test_sg_extract_reports_a_bad_predictor_dir(
    sg_bench: Path, like_store: Path, tmp_path: Path
) -> None:
    args = [
        "extract",
        "scene-graphs",
        "--annotations",
        str(sg_bench),
        "--predictor",
        str(tmp_path / "none"),
    ]
    result = CliRunner().invoke(
        app, [*args, "--like", str(like_store), "--out", str(tmp_path / "sg")]
    )
    assert result.exit_code == 4  # ModelUnavailableError
