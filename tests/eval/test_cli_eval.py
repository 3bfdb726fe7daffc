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
    settings, *lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert settings["videoqa_settings"]["frames"] == 4
    assert settings["videoqa_settings"]["model"] == "tiny"
    assert [r["qid"] for r in lines] == ["bikes_1", "bikes_2", "carphone_pristine_1"]
    for row in lines:
        assert len(row["evidence"]) == 2 and all(0 <= e["time"] < 10.5 for e in row["evidence"])
        assert row["model"] == "tiny" and row["pretrained"] is False
    assert lines[2]["prediction"] in (0, 1, 2, 4)  # 3 duplicates 2 and is never chosen
    second_result = _eval(*args)
    second = _json(second_result)
    assert out.read_text().count("\n") == 4  # nothing added
    assert "0 answered, 3 already in preds.jsonl, 1 error(s)" in second_result.stderr
    assert f"predictions: {out}" in second_result.stderr
    assert {k: v for k, v in second.items()} == first
    other = _eval(*[("2" if a == "4" else a) for a in args])  # --frames 2 into the same file
    assert other.exit_code == 2 and out.read_text().count("\n") == 4
    assert "made with frames=4, not frames=2; choose another --out" in other.stderr


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
    settings, *lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert settings["videoqa_settings"]["vocabulary"].startswith("2 answers, sha256 ")
    # the vocabulary is the training answers given at least twice: dog, phone
    assert {r["prediction"] for r in lines} <= {"dog", "phone"}
    assert all(set(r["candidates"]) == {"dog", "phone"} for r in lines)
    assert report["kind"] == "open-ended" and report["answered"] == 2
    assert report["accuracy"] in (0.0, 50.0, 100.0)


PRED = Path(__file__).resolve().parents[1] / "fixtures" / "predictions"


def test_official_layouts_and_forced_format(fixtures):
    star = PRED / "star"
    args = ("-d", "star", "-a", star / "STAR_val.json", "-p", star / "submission.json", "--json")
    assert _json(_eval(*args))["accuracy"] == 75.0
    assert _json(_eval(*args, "--format", "star"))["accuracy"] == 75.0
    wrong = _eval(*args, "--format", "mapping")
    assert wrong.exit_code == 2
    assert "are not usable mapping predictions (formats tried: mapping)" in wrong.stderr
    unknown = _eval(*args, "--format", "csv")
    assert unknown.exit_code == 2 and "unknown prediction format 'csv'" in unknown.stderr


def test_unusable_prediction_files_fail(fixtures, tmp_path):
    ann = fixtures / "nextqa_mc" / "val.csv"
    moments = _eval("-d", "nextqa-mc", "-a", ann, "-p", fixtures / "qvhighlights" / "windows.jsonl")
    assert moments.exit_code == 2 and moments.stdout == ""
    assert (
        "windows.jsonl: matches none of the prediction formats (tried: lmms-eval" in moments.stderr
    )
    assert 'first record: line 1: {"qid": 1, "pred_relevant_windows"' in moments.stderr
    missing = _eval("-d", "nextqa-mc", "-a", ann, "-p", tmp_path / "none.json")
    assert missing.exit_code == 2
    assert "predictions file not found: none.json" in missing.stderr
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"9_1": 0, "9_2": 1}))
    unknown = _eval("-d", "nextqa-mc", "-a", ann, "-p", other)
    assert unknown.exit_code == 2
    assert (
        "other.json: no prediction is for a question of nextqa-mc val: 2 unknown id(s) (first: '9_1')"
        in unknown.stderr
    )
    cut = tmp_path / "cut.json"
    cut.write_text((fixtures / "nextqa_mc" / "official.json").read_text()[:60])
    truncated = _eval("-d", "nextqa-mc", "-a", ann, "-p", cut)
    assert truncated.exit_code == 2
    assert (
        "cut.json:3:3: broken JSON: Unterminated string starting at (character 54 of 60) "
        "(the file ends there: is it truncated?)"
    ) in truncated.stderr


def test_nested_nextoe_file_and_the_tagger_note(fixtures, monkeypatch, requires_wordnet):
    import importlib

    wups = importlib.import_module("videoqa.metrics.wups")
    args = ("-d", "nextqa-oe", "-a", fixtures / "nextqa_oe" / "val.csv", "--json")
    flat = _json(_eval(*args, "-p", fixtures / "nextqa_oe" / "pred.json"))
    nested = _eval(*args, "-p", PRED / "nextoe" / "results.json")
    out = _json(nested)
    assert {k: v for k, v in out.items() if k != "predictions"} == {
        k: v for k, v in flat.items() if k != "predictions"
    }
    monkeypatch.setattr(wups, "load_pos_tagger", lambda: None)
    untagged = _eval(*args, "-p", PRED / "nextoe" / "results.json")
    assert _json(untagged)["normalizer"] == wups.NO_TAGGER_NOTE
    assert untagged.stderr.count("note: no POS tagger") == 1


def _shared_parity_inputs() -> tuple[Path, Path, Path]:
    data = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    tagger = data / "nltk_data" / "taggers" / "averaged_perceptron_tagger_eng"
    preds = data / "nextqa_oe" / "hga_val_predictions.json"
    if not tagger.is_dir() or not preds.is_file():
        pytest.skip("../shared/data holds no NLTK tagger or no NExT-OE HGA predictions")
    return data / "nltk_data", data / "nextqa_oe" / "val.csv", preds


@pytest.mark.slow  # a fresh process scores 5,343 answers (~5 s)
def test_nextoe_hga_val_reproduces_the_published_row(requires_wordnet, tmp_path):
    """NExT-OE README, HGA on val: WUPS_C 14.76, WUPS_T 14.90, WUPS_D 46.60, WUPS 21.48."""
    import os
    import subprocess
    import sys

    nltk_data, ann, preds = _shared_parity_inputs()
    env = {**os.environ, "NLTK_DATA": str(nltk_data), "XDG_CACHE_HOME": str(tmp_path)}
    code = "from videoqa.cli.main import main; main()"
    args = [
        "eval",
        "--dataset",
        "nextqa-oe",
        "--annotations",
        ann,
        "--predictions",
        preds,
        "--json",
    ]
    run = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    groups = {k: v["wups0"] for k, v in report["by_group"].items()}
    assert (groups["C"], groups["T"], groups["D"], report["wups0"]) == (14.76, 14.90, 46.60, 21.48)
    assert report["answered"] == 5343 and report["malformed"] == 0
    assert not report["normalizer"].startswith("no POS tagger")


@pytest.mark.slow  # loads the tiny model
def test_model_run_default_location_follows_the_settings(
    tmp_path, fixtures, sample_videos, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "videos"
    root.mkdir()
    (root / "bikes.mp4").symlink_to(sample_videos["bikes"])
    ann = tmp_path / "val.csv"
    rows = (fixtures / "model_run" / "val.csv").read_text().splitlines()
    ann.write_text("\n".join([rows[0]] + [r for r in rows[1:] if r.startswith("bikes,")]) + "\n")
    base = ["-d", "nextqa-mc", "-a", ann, "--video-root", root, "--model", "tiny", "--top-k", "1"]
    first = _eval(*base, "--frames", "2", "--json")
    second = _eval(*base, "--frames", "3", "--json")
    assert first.exit_code == 0 and second.exit_code == 0, first.stderr + second.stderr
    paths = sorted((tmp_path / "out" / "eval").glob("nextqa-mc-val-tiny-*.jsonl"))
    assert len(paths) == 2
    for result, frames in ((first, 2), (second, 3)):
        shown = next(x for x in result.stderr.splitlines() if x.startswith("predictions: "))
        path = tmp_path / shown.removeprefix("predictions: ")
        assert json.loads(path.read_text().splitlines()[0])["videoqa_settings"]["frames"] == frames
