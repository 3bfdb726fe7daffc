from __future__ import annotations

import json

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


def test_probe_json(bikes_video):
    info = _json(runner.invoke(app, ["data", "probe", str(bikes_video), "--json"]))
    assert info["width"] == 640 and info["height"] == 272
    assert info["num_frames"] == 250 and info["fps"] == pytest.approx(25.0)
    assert info["duration"] == pytest.approx(10.0, abs=0.05)
    assert info["codec"] == "h264" and info["has_audio"] is False
    assert info["rotation"] == 0


def test_ask_multiple_choice_json(bikes_video):
    args = [
        "ask",
        str(bikes_video),
        "what is the man doing after he sits down?",
        "--choices",
        "reading",
        "eating",
        "sleeping",
        "--model",
        "tiny",
        "--frames",
        "8",
        "--top-k",
        "3",
        "--json",
    ]
    out = _json(runner.invoke(app, args))
    assert out["choices"] == ["reading", "eating", "sleeping"]
    assert out["answer"] in out["choices"]
    assert sum(out["probabilities"]) == pytest.approx(1.0, abs=1e-6)
    times = [e["time"] for e in out["evidence"]]
    assert len(times) == 3 and all(0 <= t < out["video"]["duration"] for t in times)
    scores = [e["score"] for e in out["evidence"]]
    assert scores == sorted(scores, reverse=True)
    assert out["pretrained"] is False


def test_ask_auto_falls_back_loudly(bikes_video):
    result = runner.invoke(
        app, ["ask", str(bikes_video), "what is happening?", "--frames", "4", "--json"]
    )
    out = _json(result)
    assert out["pretrained"] is False
    assert out["warnings"] and "tiny" in out["warnings"][0]
    assert "warning" in result.stderr
    assert out["open_ended"] is True and out["answer"] in out["choices"]


@pytest.mark.parametrize("sampler", ["uniform", "head-tail", "fps"])
def test_ask_samplers_and_grid(bikes_video, sampler, tmp_path):
    out_dir = tmp_path / "evidence"
    args = [
        "ask",
        str(bikes_video),
        "what?",
        "-c",
        "a bike",
        "a car",
        "--model",
        "tiny",
        "--frames",
        "9",
        "--sampler",
        sampler,
        "--grid",
        "3",
        "--top-k",
        "4",
        "--save-evidence",
        str(out_dir),
        "--json",
    ]
    out = _json(runner.invoke(app, args))
    assert out["sampler"] == sampler
    assert len(out["grid"]["cells"]) == 9
    saved = json.loads((out_dir / "result.json").read_text())
    assert saved["grid"]["image"] == "grid.png" and (out_dir / "grid.png").is_file()
    for item in saved["evidence"]:
        assert (out_dir / item["image"]).is_file()


def test_missing_video_exits_3(tmp_path):
    result = runner.invoke(app, ["ask", str(tmp_path / "none.mp4"), "what?", "--model", "tiny"])
    assert result.exit_code == 3
    assert "Traceback" not in result.output


def test_not_a_video_exits_3(tmp_path):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is not a video")
    result = runner.invoke(app, ["data", "probe", str(bogus)])
    assert result.exit_code == 3


def test_unavailable_model_exits_4(bikes_video, tmp_path):
    result = runner.invoke(
        app, ["ask", str(bikes_video), "what?", "--model", str(tmp_path / "no-such-model")]
    )
    assert result.exit_code == 4
    assert "tiny" in result.stderr


def test_uncached_hub_id_exits_4_with_a_paragraph(bikes_video):
    result = runner.invoke(
        app, ["ask", str(bikes_video), "what?", "--model", "openai/clip-vit-base-patch32"]
    )
    assert result.exit_code == 4
    assert "openai/clip-vit-base-patch32" in result.stderr
    assert "Traceback" not in result.output


def test_stray_arguments_are_a_usage_error(bikes_video):
    result = runner.invoke(app, ["ask", str(bikes_video), "what?", "stray", "--model", "tiny"])
    assert result.exit_code == 2


def test_samples_lists_the_real_videos():
    result = runner.invoke(app, ["data", "samples"])
    assert result.exit_code == 0
    assert "bikes" in result.stdout and "carphone_distorted" in result.stdout


def test_quality_question_takes_the_quality_route(sample_videos, tmp_path):
    args = ["ask", str(sample_videos["carphone_distorted"]), "what distortion is most visible?"]
    out = _json(runner.invoke(app, [*args, "--save-evidence", str(tmp_path), "--json"]))
    assert out["route"] == "quality" and out["answer"] == "compression"
    assert out["pretrained"] is True and out["warnings"] == []
    for item in out["evidence"]:
        assert item["facts"] and (tmp_path / item["image"]).is_file()


def test_a_bad_video_fails_before_any_model_loads(tmp_path):
    result = runner.invoke(app, ["ask", str(tmp_path / "none.mp4"), "what?"])
    assert result.exit_code == 3
    assert "warning" not in result.stderr  # the auto-model fallback was never reached


def test_list_options_never_swallow_other_options_or_the_question(bikes_video):
    """``--choices --model tiny`` and ``-c a b "what?"`` are usage errors (exit 2), not
    answers with ``--model``/``tiny`` or the question taken as choices."""
    empty = runner.invoke(app, ["ask", str(bikes_video), "what?", "--choices", "--model", "tiny"])
    assert empty.exit_code == 2 and "--choices" in empty.output
    question_eaten = runner.invoke(app, ["ask", str(bikes_video), "-c", "a", "b", "what?"])
    assert question_eaten.exit_code == 2 and "question" in question_eaten.output.lower()
    ok = runner.invoke(
        app, ["ask", str(bikes_video), "what?", "-c", "a", "-1", "--model", "tiny", "--json"]
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["choices"] == ["a", "-1"]


def test_an_unknown_sample_name_is_a_usage_error():
    result = runner.invoke(app, ["data", "samples", "nope"])
    assert result.exit_code == 2 and "bikes" in result.output


def test_outputs_are_refused_unless_resume_or_overwrite(tmp_path, monkeypatch):
    from videoqa.batch import prepare_output
    from videoqa.errors import UsageError

    store = tmp_path / "store"
    prepare_output(store, what="store")  # nothing there: fine
    (store / "part").mkdir(parents=True)
    with pytest.raises(UsageError, match="--resume to continue it or --overwrite"):
        prepare_output(store, what="store")
    prepare_output(store, what="store", resume=True)
    assert (store / "part").is_dir()  # resuming keeps it
    with pytest.raises(UsageError, match="exclude"):
        prepare_output(store, what="store", resume=True, overwrite=True)
    with pytest.raises(UsageError, match="cannot resume"):
        prepare_output(store, what="benchmark", resume=True, can_resume=False)
    prepare_output(store, what="store", overwrite=True)
    assert not store.exists()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep").write_text("x")
    with pytest.raises(UsageError, match="refusing to delete"):
        prepare_output(tmp_path, what="folder", overwrite=True)
    assert (tmp_path / "keep").is_file()


def test_data_synth_refuses_an_existing_benchmark(tmp_path):
    out = tmp_path / "bench"
    out.mkdir()
    (out / "README").write_text("someone's folder")
    result = runner.invoke(
        app, ["data", "synth", "--out", str(out), "--videos", "4", "--no-videos"]
    )
    assert result.exit_code == 2 and "--overwrite" in result.output
    assert (out / "README").read_text() == "someone's folder"
