"""``videoqa ask`` and ``videoqa eval --model`` with trained backbone checkpoints (a
tiny HGA and VGT trained in the test on ``tiny`` features of real sample videos), and
the exit code of a bad model spec."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.pipelines.backbones import build_checkpoints
from videoqa.cli.main import app

runner = CliRunner()
CHOICES = ["riding a bike", "walking a dog", "driving a car"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, sample_videos):
    videos = {name: sample_videos[name] for name in ("bikes", "carphone_pristine")}
    return build_checkpoints(tmp_path_factory.mktemp("cli_backbones"), videos)


def _ask(video, spec, *extra):
    args = ["ask", str(video), "what is the person doing?", "--choices", *CHOICES]
    return runner.invoke(app, [*args, "--model", spec, *extra])


@pytest.mark.parametrize("arch, top_k", [("vgt", 2), ("hga", 5)])
def test_ask_with_a_trained_backbone(checkpoints, bikes_video, arch, top_k):
    result = _ask(bikes_video, f"{arch}:{checkpoints[arch]}", "--top-k", str(top_k), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["choices"] == CHOICES and out["answer"] in CHOICES
    assert sum(out["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    assert out["model"]["arch"] == arch and out["pretrained"] is False
    assert len(out["evidence"]) == top_k
    assert all(0 <= e["time"] <= out["video"]["duration"] for e in out["evidence"])
    assert "random weights" in " ".join(result.stderr.split())  # printed, not only returned


def test_ask_with_a_checkpoint_folder_and_the_table(checkpoints, bikes_video):
    result = _ask(bikes_video, str(checkpoints["hga"]))
    assert result.exit_code == 0, result.output
    assert "evidence" in result.stdout and "untrained model" in result.stdout


@pytest.mark.parametrize(
    "spec",
    ["nope:DIR", "vgt:/no/such/checkpoint", "vgt:", "cnn:/x", "sgvlm:/no/such/checkpoint"],
)
def test_a_bad_spec_exits_4(bikes_video, spec):
    result = _ask(bikes_video, spec)
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output and "error" in result.stderr


def test_a_checkpoint_of_another_architecture_exits_4(checkpoints, bikes_video):
    result = _ask(bikes_video, f"hga:{checkpoints['vgt']}")
    assert result.exit_code == 4 and "'vgt'" in result.stderr


def test_eval_with_a_trained_backbone(checkpoints, sample_videos, tmp_path):
    root = tmp_path / "videos"
    root.mkdir()
    for name in ("bikes", "carphone_pristine"):
        (root / f"{name}.mp4").symlink_to(sample_videos[name])
    annotations = tmp_path / "val.csv"
    annotations.write_text(
        "video,frame_count,width,height,question,answer,qid,type,a0,a1,a2,a3,a4\n"
        "bikes,250,640,272,what are the people doing,0,1,DO,riding bicycles,swimming,"
        "cooking,reading,sleeping\n"
        "bikes,250,640,272,where are the people,1,2,DL,in a kitchen,on a road,in a pool,"
        "in a library,in bed\n"
        "carphone_pristine,0,176,144,what is the man doing,2,1,DO,running,swimming,"
        "talking on a phone,walking,cooking\n"
    )
    spec = f"vgt:{checkpoints['vgt']}"
    out = tmp_path / "preds.jsonl"
    args = ["eval", "-d", "nextqa-mc", "-a", str(annotations), "--video-root", str(root)]
    args += ["--model", spec, "--top-k", "2", "-o", str(out), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["count"], report["answered"], report["errors"]) == (3, 3, 0)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    rows = [r for r in rows if "qid" in r]  # a settings line may come first
    assert [r["model"] for r in rows] == [spec] * 3
    for row in rows:
        assert sum(row["probabilities"]) == pytest.approx(1.0, abs=1e-5)
        assert len(row["evidence"]) == 2 and all(0 <= e["time"] <= 10.5 for e in row["evidence"])
        assert row["pretrained"] is False
    # eval's default --frames 16 differs from the checkpoint's 6: said, not obeyed
    assert "16 frames asked for" in " ".join(result.stderr.split())
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "0 answered, 3 already" in again.stderr


def test_a_checkpoint_written_by_videoqa_train_answers(checkpoints, bikes_video, tmp_path):
    """The whole path: ``videoqa train --recipe baseline`` on the tiny store, then
    ``ask --model vgt:<run>/checkpoints/best`` on a real video."""
    import yaml

    from tests.pipelines.backbones import _samples
    from tests.training.fakes import FakeTask, write_benchmark

    rows = _samples(["bikes", "carphone_pristine"])
    write_benchmark(FakeTask({"train": rows, "val": rows, "test": rows}, None, None), tmp_path)
    config = {
        "recipe": "baseline",
        "data": {
            "dataset": "synthetic",
            "benchmark_dir": str(tmp_path),
            "features_dir": str(checkpoints["store"]),
            "test_splits": ["test"],
            "use_patches": True,
        },
        "model": {"name": "vgt", "config": {"hidden_size": 32, "num_heads": 2, "clip_len": 2}},
        "epochs": 1,
        "batch_size": 4,
        "cpu": True,
    }
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    run = tmp_path / "run"
    args = ["train", "--recipe", "baseline", "--config", str(tmp_path / "cfg.yaml")]
    trained = runner.invoke(app, [*args, "--out", str(run)])
    assert trained.exit_code == 0, trained.output
    best = run / "checkpoints" / "best"
    assert (best / "preprocessing.json").is_file()
    result = _ask(bikes_video, f"vgt:{best}", "--top-k", "3", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert sum(out["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    assert len(out["evidence"]) == 3 and out["model"]["frame_encoder"] == "tiny"
    assert out["pretrained"] is False
