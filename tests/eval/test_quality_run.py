"""The model-run mode of ``videoqa eval`` on a MOS table: VQA² scores each video."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from videoqa.cli.main import app

runner = CliRunner()


@pytest.fixture()
def mos_table(tmp_path, sample_videos):
    rows = [
        "video,mos",
        "carphone_pristine,4.5",
        "carphone_distorted,2.0",
        "bikes,4.0",
        "bigbuckbunny,3.8",
        "not_there,3.0",
    ]
    path = tmp_path / "mos.csv"
    path.write_text("\n".join(rows) + "\n")
    return path, sample_videos["bikes"].parent


def _eval_args(table, root, out) -> list[str]:
    return [
        "eval",
        "--dataset",
        "mos-csv",
        "--annotations",
        str(table),
        "--video-root",
        str(root),
        "--out",
        str(out),
        "--json",
    ]


def test_scores_every_video_resumably_and_reports_the_missing_one(mos_table, tmp_path):
    table, root = mos_table
    out = tmp_path / "scores.jsonl"
    args = [*_eval_args(table, root, out), "--model", "default"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["errors"] == 1 and report["missing"] == 1
    assert {"srcc", "plcc", "krcc", "rmse"} <= {k.lower() for k in report}
    scores = {r["video_id"]: r["score"] for r in map(json.loads, out.read_text().splitlines())}
    assert set(scores) == {"carphone_pristine", "carphone_distorted", "bikes", "bigbuckbunny"}
    assert scores["carphone_pristine"] > scores["carphone_distorted"]
    assert all(1.0 <= s <= 5.0 for s in scores.values())

    second = runner.invoke(app, args)
    assert second.exit_code == 0
    assert "0 scored, 4 already in" in second.stderr
    assert json.loads(second.stdout) == report
    assert len(out.read_text().splitlines()) == 4


def test_a_mos_table_without_predictions_is_scored_with_the_shipped_model(mos_table, tmp_path):
    table, root = mos_table
    args = _eval_args(table, root, tmp_path / "s.jsonl")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["count"] == 5


def test_a_qa_set_without_predictions_or_model_is_a_usage_error(tmp_path):
    csv = tmp_path / "val.csv"
    csv.write_text(
        "video,frame_count,width,height,question,answer,qid,type,a0,a1,a2,a3,a4\n"
        "1,10,4,4,what?,0,1,CW,a,b,c,d,e\n"
    )
    result = runner.invoke(app, ["eval", "--dataset", "nextqa-mc", "--annotations", str(csv)])
    assert result.exit_code == 2
    assert "--predictions" in result.stderr


def test_an_interrupted_last_line_is_repaired_on_resume(mos_table, tmp_path):
    table, root = mos_table
    out = tmp_path / "scores.jsonl"
    args = [*_eval_args(table, root, out), "--model", "default"]
    assert runner.invoke(app, args).exit_code == 0
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:20])  # cut mid-write
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "1 scored, 3 already in" in again.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["video_id"] for r in rows) == sorted(json.loads(x)["video_id"] for x in lines)
