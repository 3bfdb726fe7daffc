"""``videoqa extract`` on a tiny rendered benchmark (with a CNN frame encoder trained by
the ``frame-encoder`` recipe)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from videoqa.cli.extract import register
from videoqa.encoders.cnn import CNNConfig, CNNFrameEncoder
from videoqa.features.store import FeatureStore
from videoqa.recipes.frame_encoder import FrameEncoderConfig, FrameEncoderRecipe
from videoqa.synth.config import SynthConfig
from videoqa.synth.generate import generate_dataset
from videoqa.training import TrainingLoop


def _flat(text: str) -> str:
    """Rich wraps long lines at the terminal width: compare with single spaces."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps "extract" a named sub-command
    return app


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli_bench") / "synth"
    generate_dataset(out, SynthConfig(videos=6, seed=2, frames=20, size=48, fps=8.0), workers=1)
    return out


def test_train_then_extract_all_splits(app: typer.Typer, bench: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    config = FrameEncoderConfig.model_validate(
        {
            "data": {"benchmark_dir": str(bench), "frames_per_video": 2},
            "model": {"image_size": 32},
            "epochs": 1,
            "logging": {"progress": False},
            "output_dir": str(tmp_path / "run"),
            "cpu": True,
        }
    )
    result = TrainingLoop(FrameEncoderRecipe(config)).fit()
    assert result.tests["train_frames"] > 0
    best = tmp_path / "run" / "checkpoints" / "best"
    args = [
        "extract",
        "features",
        "--annotations",
        str(bench),
        "--split",
        "all",
        "--encoder",
        f"cnn:{best}",
        "--frames",
        "6",
        "--patches",
        "--out",
        str(tmp_path / "f"),
    ]
    first = runner.invoke(app, [*args, "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["extracted"] == 6 and report["failed"] == [] and report["frames"] == 36
    store = FeatureStore(tmp_path / "f")
    assert len(store) == 6 and store.meta.frames == 6 and store.meta.num_patches == 4
    assert store.get(store.ids()[0]).patches.shape == (6, 4, 32)
    refused = runner.invoke(app, args)  # an existing store needs --resume or --overwrite
    assert refused.exit_code == 2 and "--resume" in _flat(refused.output)
    again = runner.invoke(app, [*args, "--resume"])
    assert again.exit_code == 0 and "nothing to do: 6 of 6 videos" in _flat(again.output)
    other = runner.invoke(app, [*args[:-1], str(tmp_path / "f"), "--frames", "8", "--resume"])
    assert other.exit_code == 2 and "another configuration" in other.output


def test_only_failures_exit_3(app: typer.Typer, bench: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    CNNFrameEncoder(CNNConfig(image_size=16, channels=(2, 2, 2, 2))).save_pretrained(tmp_path / "c")
    result_args = [
            "extract",
            "features",
            "--annotations",
            str(bench),
            "--split",
            "test",
            "--video-root",
            str(tmp_path),
            "--out",
            str(tmp_path / "f"),
            "--frames",
            "2",
            "--encoder",
            f"cnn:{tmp_path / 'c'}",
    ]  # fmt: skip
    result = runner.invoke(app, result_args)
    assert result.exit_code == 3
    assert "0 extracted" in _flat(result.output) and "skipped test_00000" in _flat(result.output)
    # the rerun of that store has nothing to do (the video failed on the same file): exit 0
    rerun = runner.invoke(app, [*result_args, "--resume"])
    assert rerun.exit_code == 0, rerun.output
    assert "nothing to do" in _flat(rerun.output) and "failed before" in _flat(rerun.output)
    lines = (tmp_path / "f" / "errors.jsonl").read_text().splitlines()
    assert len(lines) == 1 and '"error":"VideoNotFoundError"' in lines[0]


def test_bad_sampler_option(app: typer.Typer, bench: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "extract",
            "features",
            "--annotations",
            str(bench),
            "--out",
            str(tmp_path),
            "--sampler-option",
            "x",
        ],
    )
    assert result.exit_code == 2 and "KEY=VALUE" in _flat(result.output)
