"""``videoqa eval`` through typer's CliRunner: scoring files and running the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from videoqa.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _json(result) -> dict:
    assert result.exit_code == 0, result.output + str(result.stderr)
    return json.loads(result.stdout)


def _eval(*args: str | Path):
    return runner.invoke(app, ["eval", *map(str, args)])


def test_nextqa_json(fixtures):
    ann = fixtures / "nextqa_mc" / "val.csv"
    out = _json(
        _eval(
            "--dataset",
            "nextqa-mc",
            "-a",
            ann,
            "-p",
            fixtures / "nextqa_mc" / "official.json",
            "--json",
        )
    )
    assert out["accuracy"] == 66.67 and out["by_group"] == {"C": 50.0, "T": 100.0, "D": 50.0}
    assert out["by_type"]["TN"] == 100.0
    assert (out["count"], out["missing"], out["unknown"], out["malformed"], out["invalid"]) == (
        6,
        0,
        0,
        0,
        0,
    )
    assert list(out)[:5] == ["kind", "dataset", "split", "predictions", "accuracy"]


def test_nextqa_table_and_counts(fixtures):
    ann = fixtures / "nextqa_mc" / "val.csv"
    result = _eval("-d", "nextqa-mc", "-a", ann, "-p", fixtures / "nextqa_mc" / "partial.jsonl")
    assert result.exit_code == 0, result.output
    assert "33.33" in result.stdout and "group C" in result.stdout
    assert "2 missing, 1 unknown, 3 malformed, 2 invalid" in result.stderr


def test_qvhighlights_json(fixtures):
    ann = fixtures / "qvhighlights" / "val.jsonl"
    out = _json(
        _eval(
            "-d",
            "qvhighlights",
            "-a",
            ann,
            "-p",
            fixtures / "qvhighlights" / "windows.jsonl",
            "--json",
        )
    )
    assert out["brief"]["MR-full-R1@0.7"] == 66.67
    assert out["details"]["full"]["MR-mAP"]["average"] == 76.67
    assert out["unknown"] == 1 and out["unlabeled"] == 1


def test_open_ended_and_mos(fixtures, requires_wordnet):
    out = _json(
        _eval(
            "-d",
            "msrvtt-qa",
            "-a",
            fixtures / "msrvtt_qa" / "test_qa.json",
            "-p",
            fixtures / "msrvtt_qa" / "pred.jsonl",
            "--json",
        )
    )
    assert (out["accuracy"], out["wups0"], out["wups9"]) == (33.33, 84.13, 38.41)
    assert out["by_type"]["who"] == {"accuracy": 0.0, "wups0": 66.67, "wups9": 6.67, "count": 1}
    mos = _json(
        _eval(
            "-d",
            "mos-csv",
            "-a",
            fixtures / "mos" / "mos.csv",
            "-p",
            fixtures / "mos" / "monotone.json",
            "--json",
        )
    )
    assert mos["srcc"] == pytest.approx(1.0) and mos["kind"] == "quality"
    table = _eval(
        "-d",
        "mos-csv",
        "-a",
        fixtures / "mos" / "mos.csv",
        "-p",
        fixtures / "mos" / "monotone.json",
    )
    assert "SRCC" in table.stdout and "1.0000" in table.stdout


def test_usage_errors_exit_2(fixtures, tmp_path):
    ann = fixtures / "nextqa_mc" / "val.csv"
    assert _eval("-d", "nextqa-mc", "-a", ann).exit_code == 2  # neither mode
    both = _eval("-d", "nextqa-mc", "-a", ann, "-p", ann, "--model", "tiny")
    assert both.exit_code == 2 and "not both" in both.stderr
    assert _eval("-d", "nope", "-a", ann, "-p", ann).exit_code == 2
    bad = tmp_path / "bad.txt"
    bad.write_text("a,b\n")
    assert _eval("-d", "nextqa-mc", "-a", ann, "-p", bad).exit_code == 2
    assert _eval("-d", "nextqa-mc", "-a", ann, "-p", tmp_path / "none.json").exit_code == 2
    assert _eval("-d", "nextqa-mc", "-a", ann, "-p", ann, "--option", "x").exit_code == 2
    assert (
        _eval("-d", "nextqa-mc", "-a", ann, "-p", ann, "--option", "frame_qa=true").exit_code == 2
    )


def test_loader_option_open_ended_synthetic(tmp_path, requires_wordnet):
    pytest.importorskip("videoqa.data.synthetic")  # another component, registered when present
    rows = [
        {
            "qid": f"s{i}",
            "video_id": "v",
            "question": "what colour?",
            "choices": ["red", "blue", "green", "pink", "gray"],
            "answer": i,
            "answer_text": ["red", "blue", "green", "pink", "gray"][i],
            "qtype": "DA",
            "interval": [0, 1],
            "causal_frames": [0],
        }
        for i in range(2)
    ]
    ann = tmp_path / "test.jsonl"
    ann.write_text("".join(json.dumps(r) + "\n" for r in rows))
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"s0": "red", "s1": "red"}))
    out = _json(
        _eval("-d", "synthetic", "-a", ann, "-p", preds, "--option", "open_ended=true", "--json")
    )
    assert out["kind"] == "open-ended" and out["accuracy"] == 50.0
    assert list(out["by_group"]) == ["D"] and out["by_type"]["DA"]["count"] == 2


def test_model_errors(tmp_path, fixtures):
    ann = fixtures / "model_run" / "val.csv"
    out = tmp_path / "p.jsonl"
    missing_model = _eval("-d", "nextqa-mc", "-a", ann, "--model", tmp_path / "no-model", "-o", out)
    assert missing_model.exit_code == 4 and not out.exists()
    no_root = _eval("-d", "nextqa-mc", "-a", ann, "--model", "tiny", "--video-root", tmp_path / "x")
    assert no_root.exit_code == 2 and "not a directory" in no_root.stderr
    moments = fixtures / "qvhighlights" / "val.jsonl"
    not_qa = _eval("-d", "qvhighlights", "-a", moments, "--model", "tiny", "-o", out)
    assert not_qa.exit_code == 2 and "answers questions" in not_qa.stderr
    sampler = _eval("-d", "nextqa-mc", "-a", ann, "--model", "tiny", "--sampler", "nope")
    assert sampler.exit_code == 2 and "unknown sampler 'nope'" in sampler.stderr


def test_limit(fixtures):
    ann = fixtures / "nextqa_mc" / "val.csv"
    preds = fixtures / "nextqa_mc" / "official.json"
    out = _json(_eval("-d", "nextqa-mc", "-a", ann, "-p", preds, "--limit", "2", "--json"))
    assert (out["count"], out["unknown"], out["accuracy"]) == (2, 4, 50.0)
    assert out["group_counts"] == {"C": 2}


@pytest.mark.slow  # loads the tiny model and decodes the sample videos (~15 s alone)
def test_model_run_resume_and_corrupt_video(tmp_path, fixtures, sample_videos):
    root = tmp_path / "videos"
    root.mkdir()
    for name in ("bikes", "carphone_pristine"):
        (root / f"{name}.mp4").symlink_to(sample_videos[name])
    (root / "broken.mp4").write_bytes(sample_videos["bikes"].read_bytes()[:3000])
    out = tmp_path / "preds.jsonl"
    args = [
        "-d",
        "nextqa-mc",
        "-a",
        fixtures / "model_run" / "val.csv",
        "--video-root",
        root,
        "--model",
        "tiny",
        "--frames",
        "4",
        "--top-k",
        "2",
        "--out",
        out,
        "--json",
    ]
    first = _json(_eval(*args))
    assert (first["count"], first["answered"], first["errors"], first["missing"]) == (4, 3, 1, 1)
    assert first["examples"]["errors"][0].startswith("broken_1 (broken)")
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["qid"] for r in lines] == ["bikes_1", "bikes_2", "carphone_pristine_1"]
    for row in lines:
        assert len(row["evidence"]) == 2 and all(0 <= e["time"] < 10.5 for e in row["evidence"])
        assert row["model"] == "tiny" and row["pretrained"] is False
    assert lines[2]["prediction"] in (0, 1, 2, 4)  # 3 duplicates 2 and is never chosen
    second_result = _eval(*args)
    second = _json(second_result)
    assert out.read_text().count("\n") == 3  # nothing added
    assert "0 answered, 3 already in preds.jsonl, 1 error(s)" in second_result.stderr
    assert {k: v for k, v in second.items()} == first


@pytest.mark.slow  # loads the tiny model
def test_model_run_open_ended_vocabulary(tmp_path, fixtures, sample_videos, requires_wordnet):
    root = tmp_path / "videos"
    root.mkdir()
    for name in ("bikes", "carphone_pristine"):
        (root / f"{name}.mp4").symlink_to(sample_videos[name])
    out = tmp_path / "oe.jsonl"
    result = _eval(
        "-d",
        "nextqa-oe",
        "-a",
        fixtures / "model_run" / "oe_val.csv",
        "--video-root",
        root,
        "--model",
        "tiny",
        "--frames",
        "2",
        "--top-k",
        "1",
        "--out",
        out,
        "--train-annotations",
        fixtures / "model_run" / "oe_train.csv",
        "--json",
    )
    report = _json(result)
    assert "answer vocabulary: 2 training answers" in result.stderr
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    # the vocabulary is the training answers given at least twice: dog, phone
    assert {r["prediction"] for r in lines} <= {"dog", "phone"}
    assert all(set(r["candidates"]) == {"dog", "phone"} for r in lines)
    assert report["kind"] == "open-ended" and report["answered"] == 2
    assert report["accuracy"] in (0.0, 50.0, 100.0)
