"""``videoqa ask --model mcg:DIR`` through the one resolver: multiple choice by
likelihood, open-ended by beam search, evidence from the token-level alignment (times,
weights, patch maps) and ``--save-evidence`` overlays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.models.mcg.tester import tiny_mcg
from videoqa.cli.main import app
from videoqa.pipelines.evidence import overlay_weight_map
from videoqa.pipelines.resolve import parse_spec, resolve

runner = CliRunner()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mcg_ask") / "best"
    tiny_mcg(0, trained_on="synthetic:test").save_pretrained(folder)
    return folder


def test_ask_multiple_choice_with_evidence_overlays(checkpoint: Path, bikes_video, tmp_path: Path) -> None:
    out_dir = tmp_path / "ev"
    args = ["ask", str(bikes_video), "what color is the cube?", "--choices", "red", "blue", "green",
            "--model", f"mcg:{checkpoint}", "--top-k", "2", "--json", "--save-evidence", str(out_dir)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["choices"] == ["red", "blue", "green"] and out["model"]["arch"] == "mcg"
    assert sum(out["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    assert len(out["sampled_times"]) == 3 and out["sampler"] == "uniform"
    ev = out["evidence"]
    assert len(ev) == 2 and ev[0]["score"] >= ev[1]["score"] > 0
    assert all(0 <= e["time"] <= out["video"]["duration"] for e in ev)
    grid = np.array(ev[0]["weight_map"])
    assert grid.shape == (2, 2) and grid.max() == pytest.approx(1.0) and grid.min() >= 0
    assert "synthetic:test" in " ".join(out["warnings"])
    saved = json.loads((out_dir / "result.json").read_text())
    image = np.asarray(Image.open(out_dir / saved["evidence"][0]["image"]))
    assert image.shape[2] == 3 and image.shape[:2] == (out["video"]["height"], out["video"]["width"])


def test_open_ended_answer_and_folder_detection(checkpoint: Path, bikes_video) -> None:
    assert parse_spec(str(checkpoint)).kind == "mcg"
    answerer = resolve(str(checkpoint), frames=9)
    run = answerer(bikes_video, "what is the person doing?")
    assert run.result.open_ended and len(run.result.choices) == 1
    assert 0 < run.result.probabilities[0] <= 1
    assert any("9 frames asked for" in w for w in answerer.warnings)
    total = sum(e.score for e in run.result.evidence)
    assert 0 < total <= 1 + 1e-6


def test_overlay_tints_the_attended_region() -> None:
    frame = np.full((4, 4, 3), 100, dtype=np.uint8)
    out = overlay_weight_map(frame, [[1.0, 0.0], [0.0, 0.0]])
    assert out[0, 0, 0] > 150 and out[0, 0, 1] < 100  # red where the weight is high
    assert tuple(out[3, 3]) == (100, 100, 100)  # untouched where it is 0


SRT = "1\n00:00:01,000 --> 00:00:03,000\nthe cube is red and the ball is blue\n"


def test_a_model_trained_with_a_text_stream_reads_what_is_said(bikes_video, tmp_path: Path) -> None:
    """MCG on TVQA reads subtitles as the question's second segment: a model whose
    config says it was trained so (``text_stream``) gets the subtitles' text from the
    router, and its answer depends on it; a model trained without one ignores it."""
    from videoqa.pipelines.mcg import MCGAnswerer
    from videoqa.pipelines.router import QuestionRouter

    q, choices = "what color is the cube?", ["red", "blue", "green"]
    for flag in (True, False):
        folder = tmp_path / f"stream_{flag}"
        tiny_mcg(0, text_stream=flag).save_pretrained(folder)
        answerer = MCGAnswerer(folder)
        assert answerer.wants_text_stream is flag
        plain = answerer(bikes_video, q, choices).result.probabilities
        said = answerer(bikes_video, q, choices, text_stream="the cube is red").result.probabilities
        assert bool(np.abs(np.subtract(plain, said)).max() > 1e-6) is flag

    folder = tmp_path / "stream_True"
    (tmp_path / "said.srt").write_text(SRT, encoding="utf-8")
    seen: list[str | None] = []
    answerer = MCGAnswerer(folder)
    inner = answerer.__call__

    class Recording:
        wants_text_stream = True

        def __call__(self, video, question, choices=None, *, text_stream=None):
            seen.append(text_stream)
            return inner(video, question, choices, text_stream=text_stream)

    router = QuestionRouter(lambda: Recording(), route="auto")
    router(bikes_video, q, choices, subtitles=tmp_path / "said.srt")
    assert seen == ["the cube is red and the ball is blue"]
