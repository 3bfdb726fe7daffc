"""VQA²-style instruction data export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from videoqa.errors import DataFormatError
from videoqa.perception.quality.dataset import LabeledVideo, write_manifest
from videoqa.perception.quality.distort import Distortion, DistortionKind, SourceClip, synthesize
from videoqa.perception.quality.export import conversation, export_instructions


@pytest.fixture(scope="module")
def work(tmp_path_factory, carphone_pristine) -> Path:
    root = tmp_path_factory.mktemp("work")
    (root / "videos").mkdir()
    clip = SourceClip(path=carphone_pristine, source="carphone", start=0.0, duration=2.2)
    videos = []
    for kind, level in ((DistortionKind.NONE, 0), (DistortionKind.BLUR, 4)):
        d = Distortion(kind=kind, level=max(level, 1))
        path = synthesize(clip, d, root / "videos" / f"{kind.value}{level}.mp4")
        videos.append(LabeledVideo(path, clip.name, "carphone", kind, level))
    write_manifest(videos, root)
    return root


def _text(turns: list[dict[str, str]]) -> list[str]:
    return [t["value"] for t in turns]


def test_conversation_golden_for_a_blurred_video():
    video = LabeledVideo(Path("v.mp4"), "c", "s", DistortionKind.BLUR, 4)
    turns = conversation(video, np.random.default_rng(0))
    assert [t["from"] for t in turns] == ["human", "gpt"] * 4
    text = _text(turns)
    assert text[1] == "The quality of the video is poor."  # 5 - 0.8 * 4 = 1.8
    assert text[3] == "The most visible problem is strong blur."
    assert text[6] == "How would you rate the video in terms of sharpness?"
    assert text[7] == "In terms of sharpness, the video is poor."


def test_conversation_for_a_pristine_video():
    video = LabeledVideo(Path("v.mp4"), "c", "s", DistortionKind.NONE, 0)
    text = _text(conversation(video, np.random.default_rng(1)))
    assert text[1] == "The quality of the video is excellent."
    assert "no visible distortion" in text[3]
    assert text[5] == "No."  # a pristine video shows no distortion


def test_export_writes_llava_records(work, tmp_path):
    out = tmp_path / "instruct.json"
    assert export_instructions(work, out) == 2
    records = json.loads(out.read_text())
    rec = records[1]
    assert rec["id"] == "blur4" and rec["video"] == "videos/blur4.mp4"
    assert rec["label"] == {"kind": "blur", "level": 4, "source": "carphone"}
    # 2.2 s at 1 fps: ticks at 0, 1, 2 s; the last unit (0.2 s) joins the one before,
    # as in the feature extractor
    assert rec["keyframe_times"] == [0.0, pytest.approx(1001 * 29 / 30000, abs=1e-4)]
    assert len(rec["motion_spans"]) == 2 and rec["motion_spans"][0][0] == 0.0
    assert rec["motion_spans"][1][1] == pytest.approx(66 * 1001 / 30000, abs=1e-3)
    assert rec["conversations"][0]["value"].startswith("<video>\n")


def test_export_can_interleave_placeholders(work, tmp_path):
    out = tmp_path / "inter.json"
    export_instructions(work, out, interleave=True)
    first = json.loads(out.read_text())[0]["conversations"][0]["value"]
    assert first.startswith("<keyframe><motion>" * 2 + "\n")


def test_export_needs_a_manifest(tmp_path):
    with pytest.raises(DataFormatError):
        export_instructions(tmp_path, tmp_path / "x.json")


def test_cli_export(work, tmp_path):
    from typer.testing import CliRunner

    from videoqa.cli.main import app

    out = tmp_path / "cli.json"
    result = CliRunner().invoke(
        app, ["quality", "export", "--work", str(work), "--out", str(out), "--interleave"]
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())) == 2
