"""Files written by ``generate_dataset``, determinism across runs and processes, the
``synthetic`` dataset loader and the ``videoqa synth`` command."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from videoqa.data import load_dataset
from videoqa.data.synthetic import load_synthetic
from videoqa.synth.config import SynthConfig
from videoqa.synth.generate import generate_dataset

from .conftest import SMALL_CONFIG


def _annotation_digests(root: Path) -> dict[str, str]:
    files = sorted(root.glob("qa/*.jsonl")) + sorted(root.glob("frame_qa/*.jsonl"))
    files += sorted(root.glob("scene_graphs/*.json")) + [root / "meta.json"]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _decoded_digest(path: Path) -> str:
    from videoqa.video.reader import VideoReader

    with VideoReader(path) as reader:
        return hashlib.sha256(reader.read_all().frames.tobytes()).hexdigest()


def test_layout_and_meta(small_dir):
    meta = json.loads((small_dir / "meta.json").read_text())
    assert meta["version"] and meta["seed"] == 3 and meta["config"]["frames"] == 32
    assert meta["write_videos"] is True
    counts = {s: v["videos"] for s, v in meta["splits"].items()}
    assert counts == {"train": 5, "val": 1, "test": 1, "comp": 1}
    videos = sorted(p.stem for p in (small_dir / "videos").glob("*.mp4"))
    graphs = sorted(p.stem for p in (small_dir / "scene_graphs").glob("*.json"))
    assert videos == graphs and len(videos) == 8
    assert (small_dir / "frame_qa" / "train.jsonl").is_file()
    first = json.loads((small_dir / "qa" / "train.jsonl").read_text().splitlines()[0])
    for key in ("qid", "video_id", "question", "choices", "answer", "answer_text", "qtype",
                "causal_frames", "interval"):  # fmt: skip
        assert key in first
    assert first["choices"][first["answer"]] == first["answer_text"]
    assert str(small_dir) not in (small_dir / "meta.json").read_text()


def test_same_seed_identical_across_runs_and_processes(small_dir, tmp_path):
    again = tmp_path / "again"
    generate_dataset(again, SMALL_CONFIG, workers=2)  # spawned worker processes
    assert _annotation_digests(again) == _annotation_digests(small_dir)
    for name in ("train_00000", "comp_00000"):
        a, b = small_dir / "videos" / f"{name}.mp4", again / "videos" / f"{name}.mp4"
        assert _decoded_digest(a) == _decoded_digest(b)


def test_other_seed_differs(small_dir, tmp_path):
    other = tmp_path / "other"
    generate_dataset(other, SMALL_CONFIG.model_copy(update={"seed": 4}), write_videos=False)
    a, b = _annotation_digests(other), _annotation_digests(small_dir)
    assert a["scene_graphs/train_00000.json"] != b["scene_graphs/train_00000.json"]
    assert not list((other / "videos").glob("*.mp4"))


def test_loader_reads_every_split(small_dir):
    for split in ("train", "val", "test", "comp"):
        bench = load_dataset("synthetic", small_dir, split=split)
        assert bench.name == "synthetic" and bench.split == split and not bench.issues
        assert len(bench) == len((small_dir / "qa" / f"{split}.jsonl").read_text().splitlines())
        for s in bench.samples:
            assert s.choices[s.answer] == s.extras["answer_text"]
            assert s.interval[1] > s.interval[0] >= 0
            entry = bench.videos[s.video_id]
            assert entry.path == small_dir / "videos" / f"{s.video_id}.mp4"
            assert entry.path.is_file() and entry.duration == pytest.approx(4.0)
    assert not load_dataset("synthetic", small_dir, split="train").missing_videos()


def test_loader_options(small_dir, tmp_path):
    oe = load_synthetic(small_dir, split="train", open_ended=True)
    mc = load_synthetic(small_dir, split="train")
    assert [s.answer for s in oe.samples] == [s.answer_text for s in mc.samples]
    assert all(s.choices is None for s in oe.samples)
    frames = load_synthetic(small_dir, split="train", frame_qa=True)
    assert frames.samples and all(s.qtype.startswith("F") for s in frames.samples)
    assert all(s.extras["causal_frames"] == [s.extras["frame"]] for s in frames.samples)
    # a file path works too, and bad rows become issues with their line numbers
    lines = (small_dir / "qa" / "test.jsonl").read_text().splitlines()
    broken = json.loads(lines[0])
    broken["choices"] = broken["choices"][:3]
    path = tmp_path / "qa" / "mine.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join([json.dumps(broken), *lines[1:], "{not json"]) + "\n")
    bench = load_synthetic(path, video_root=small_dir / "videos")
    assert bench.split == "mine" and len(bench) == len(lines) - 1
    assert [i.line for i in bench.issues] == [1, len(lines) + 1]


def test_cli_synth(tmp_path):
    from videoqa.cli.main import app

    out = tmp_path / "cli"
    args = ["data", "synth", "--out", str(out), "--videos", "4", "--seed", "2", "--frames", "24",
            "--size", "48", "--fps", "8", "--workers", "1", "--no-videos", "--json"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sum(s["videos"] for s in report["splits"].values()) == 4
    assert (out / "meta.json").is_file() and len(list((out / "scene_graphs").glob("*.json"))) == 4
    bad = CliRunner().invoke(app, ["data", "synth", "--out", str(out), "--size", "101"])
    assert bad.exit_code == 2
    assert "even" in bad.output


def test_split_counts_and_config_checks():
    assert SynthConfig(videos=10).split_counts() == {"train": 7, "val": 1, "test": 1, "comp": 1}
    assert SynthConfig(videos=4).split_counts() == {"train": 1, "val": 1, "test": 1, "comp": 1}
    assert SynthConfig(videos=1000).split_counts() == {
        "train": 700,
        "val": 100,
        "test": 100,
        "comp": 100,
    }
    with pytest.raises(ValueError):
        SynthConfig(size=101)
    assert np.isclose(float(SynthConfig(fps=29.97).fps_fraction), 29.97, atol=1e-3)
