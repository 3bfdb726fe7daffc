"""The Python API: ``VideoQA.from_pretrained(spec).ask(video, question, choices)``."""

from __future__ import annotations

import subprocess
import sys

import pytest

import videoqa
from videoqa import VideoQA
from videoqa.errors import ModelUnavailableError, UsageError

CHOICES = ["riding a bike", "walking a dog", "driving a car"]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def vgt_checkpoint(tmp_path_factory, sample_videos):
    from tests.pipelines.backbones import feature_store, train_checkpoint

    root = tmp_path_factory.mktemp("api")
    store = feature_store({"bikes": sample_videos["bikes"]}, root / "store")
    return train_checkpoint("vgt", store, root / "vgt" / "checkpoints" / "best")


def test_a_trained_vgt_answers_through_the_api(vgt_checkpoint, bikes_video):
    qa = VideoQA.from_pretrained(f"vgt:{vgt_checkpoint}", top_k=2)
    result = qa.ask(bikes_video, "what is the person doing?", choices=CHOICES)
    assert result.answer in CHOICES and result.choices == CHOICES
    assert sum(result.probabilities) == pytest.approx(1.0, abs=1e-5)
    assert len(result.evidence) == 2
    assert all(0 <= e.time <= result.video.duration for e in result.evidence)
    assert qa.pretrained is False and qa.warnings and result.warnings == qa.warnings
    assert qa.name == f"vgt:{vgt_checkpoint}" and "vgt:" in repr(qa)
    run = qa.run(bikes_video, "what is the person doing?", CHOICES)
    assert run.frames.frames.shape[0] == len(run.result.sampled_times)


def test_the_tiny_preset_and_a_bare_folder(vgt_checkpoint, bikes_video):
    tiny = VideoQA.from_pretrained("tiny", frames=4)
    result = tiny.ask(bikes_video, "what is happening?")
    assert result.open_ended and result.answer in result.choices
    folder = VideoQA.from_pretrained(str(vgt_checkpoint))
    assert folder.ask(bikes_video, "what?", CHOICES).model.arch == "vgt"


def test_quality_questions_take_the_quality_route(sample_videos):
    qa = VideoQA.from_pretrained("tiny")
    result = qa.ask(sample_videos["carphone_distorted"], "what distortion is most visible?")
    assert result.route == "quality"


def test_typed_errors():
    with pytest.raises(ModelUnavailableError):
        VideoQA.from_pretrained("vgt:/no/such/checkpoint")
    with pytest.raises(UsageError):
        VideoQA.from_pretrained("tiny", route="sideways")
    with pytest.raises(AttributeError):
        videoqa.NoSuchThing  # noqa: B018


def test_import_videoqa_stays_light():
    code = "import sys, videoqa; videoqa.__version__; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
