"""``videoqa extract teacher`` on a tiny generated benchmark with a fake store (the feature teacher
is the best checkpoint of a ``teacher`` recipe run)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from tests.models.imageqa.fakes import T, tiny_blip_dir, write_fake_store
from videoqa.cli.teach import register
from videoqa.data import load_dataset
from videoqa.features.teacher_store import TeacherStore
from videoqa.models.imageqa import FrameFeatures, load_teacher
from videoqa.recipes.teacher import TeacherConfig, TeacherRecipe
from videoqa.synth.config import SynthConfig
from videoqa.synth.generate import generate_dataset
from videoqa.training import TrainingLoop
from videoqa.video.reader import VideoReader

runner = CliRunner()


@pytest.fixture(autouse=True)
def _offline_one_thread(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps "teach" a named sub-command
    return app


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    generate_dataset(out, SynthConfig(videos=6, seed=2, frames=24, size=48), workers=1)
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory, bench):
    return write_fake_store(tmp_path_factory.mktemp("feats"), bench)


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory, bench, store):
    """``checkpoints/best`` of a 1-epoch ``teacher`` recipe run."""
    out = tmp_path_factory.mktemp("teacher")
    config = TeacherConfig.model_validate(
        {
            "data": {"benchmark_dir": str(bench), "features_dir": str(store.root)},
            "model": {"hidden_size": 16},
            "epochs": 1,
            "logging": {"progress": False},
            "output_dir": str(out),
            "cpu": True,
        }
    )
    TrainingLoop(TeacherRecipe(config)).fit()
    return out / "checkpoints" / "best"


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _teach(app, bench, features, teacher: str, out, *extra):
    args = ["extract", "teacher", "--annotations", str(bench), "--split", "train", "--features"]
    args += [str(features), "--teacher", teacher, "--out", str(out), "--json", *extra]
    return runner.invoke(app, args)


def test_teach_feature_teacher_stores_every_question_once(app, bench, store, teacher_dir, tmp_path):
    out = tmp_path / "teach" / "train.h5"
    spec = f"feature:{teacher_dir}"
    summary = _json(_teach(app, bench, store.root, spec, out, "--batch-size", "7"))
    samples = load_dataset("synthetic", bench, split="train").samples
    assert summary["questions"] == summary["written"] == len(samples)
    assert summary["missing_features"] == [] and summary["already_done"] == 0
    stored = TeacherStore(out)
    assert stored.meta.teacher == spec and stored.meta.split == "train"
    assert stored.meta.features == store.meta.model_dump()
    teacher = load_teacher(spec)
    for s in samples[::9]:
        got = stored.get(s.qid)
        assert got.probs.shape == (T, 5) and got.answer == s.answer
        feats = store.get(s.video_id)
        want = teacher.answer_probs(
            FrameFeatures(feats.frames, feats.patches), s.question, list(s.choices)
        )
        np.testing.assert_allclose(got.probs, want, atol=1e-6)
    assert _teach(app, bench, store.root, spec, out).exit_code == 2  # needs --resume
    again = _json(_teach(app, bench, store.root, spec, out, "--resume"))
    assert (again["written"], again["already_done"]) == (0, len(samples))


def test_teach_reports_videos_without_features(app, bench, teacher_dir, tmp_path):
    partial = write_fake_store(tmp_path / "feats", bench, skip={"train_00001"})
    out = tmp_path / "train.h5"
    summary = _json(_teach(app, bench, partial.root, f"feature:{teacher_dir}", out))
    samples = load_dataset("synthetic", bench, split="train").samples
    missing = [s for s in samples if s.video_id == "train_00001"]
    assert missing and summary["missing_features"] == ["train_00001"]
    assert summary["written"] == len(samples) - len(missing) == len(TeacherStore(out))


def test_teach_blip_decodes_frames_and_skips_corrupt_videos(app, bench, store, tmp_path):
    blip = tiny_blip_dir(tmp_path / "blip")
    broken = tmp_path / "videos"
    broken.mkdir()
    for mp4 in (bench / "videos").glob("train_0000[01].mp4"):
        (broken / mp4.name).write_bytes(mp4.read_bytes())
    (broken / "train_00001.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 broken" * 20)
    out = tmp_path / "blip.h5"
    summary = _json(
        _teach(app, bench, store.root, f"blip:{blip}", out, "--video-root", str(broken))
    )
    bad = {line.split(":")[0] for line in summary["bad_videos"]}
    assert {"train_00001", "train_00002"} <= bad  # corrupt, and absent from --video-root
    samples = load_dataset("synthetic", bench, split="train").samples
    good = [s for s in samples if s.video_id == "train_00000"]
    stored = TeacherStore(out)
    assert sorted(stored.qids()) == sorted(s.qid for s in good)
    teacher = load_teacher(f"blip:{blip}")
    with VideoReader(broken / "train_00000.mp4") as reader:
        frames = reader.read_at(store.get("train_00000").times)
    assert len(frames) == T
    s = good[0]
    want = teacher.answer_probs(frames, s.question, list(s.choices))
    np.testing.assert_allclose(stored.get(s.qid).probs, want, atol=1e-5)


def test_usage_errors_exit_with_code_2(app, bench, store, tmp_path):
    result = _teach(app, bench, store.root, "clip:x", tmp_path / "o.h5")
    assert result.exit_code == 2 and "feature:<dir>" in result.output
    result = _teach(app, bench, tmp_path, "feature:x", tmp_path / "o.h5")
    assert result.exit_code == 2 and "not a feature store" in result.output
    result = _teach(app, bench, store.root, f"blip:{tmp_path}/none", tmp_path / "o.h5")
    assert result.exit_code == 4
