"""SGVLM stage 3 on a tiny annotation-only synthetic benchmark with oracle features:
the run writes its results, learns, resumes exactly, and refuses misaligned scene
graphs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from videoqa.errors import DataFormatError, UsageError
from videoqa.features.store import FeatureStore
from videoqa.models.sgvlm.llm import TinyLMConfig, create_tiny_llm
from videoqa.synth.config import SynthConfig
from videoqa.synth.features import write_scene_graph_store
from videoqa.synth.generate import generate_dataset
from videoqa.training.sgvlm import SGVLMTrainConfig, build_run, train_sgvlm
from videoqa.training.sgvlm_data import SGVLMData

SMALL = dict(hidden_size=16, num_heads=2, num_layers=1)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("sgvlm")
    cfg = SynthConfig(videos=10, seed=5, split_fractions=(0.6, 0.2, 0.2, 0.0))
    generate_dataset(root / "bench", cfg, workers=1, write_videos=False)
    write_scene_graph_store(
        root / "bench", root / "feat", frames=6, splits=("train", "val", "test")
    )
    texts = ["question : answer :"]
    for split in ("train", "val", "test"):
        for line in (root / "bench" / "qa" / f"{split}.jsonl").read_text().splitlines():
            row = json.loads(line)
            texts += [row["question"], *row["choices"]]
    create_tiny_llm(
        texts,
        root / "llm",
        TinyLMConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64),
    )
    return root / "bench", root / "feat", root / "llm"


def _config(bench, out: Path, epochs: int = 2, quick: bool = False, **model) -> SGVLMTrainConfig:
    bench_dir, feat, llm = bench
    data = {"benchmark_dir": bench_dir, "features_dir": feat, "limit": 40}
    if quick:
        data.update(limit=24, test_splits=[])
    return SGVLMTrainConfig.model_validate(
        {
            "data": data,
            "open_ended": not quick,
            "llm": str(llm),
            "model": {
                "use_scene_graph": False,
                "num_selected_frames": 3,
                "localizer": {**SMALL, "temporal_layers": 1},
                "qformer": {**SMALL, "intermediate_size": 32, "num_queries": 4},
                **model,
            },
            "optim": {"epochs": epochs, "batch_size": 8, "lr": 3e-3},
            "output_dir": out,
            "eval_batch_size": 16,
            "log_every": 1,
        }
    )


def test_run_writes_results_and_the_loss_falls(bench, tmp_path: Path) -> None:
    result = train_sgvlm(_config(bench, tmp_path / "run", epochs=3))
    test = result["tests"]["test"]
    assert 0 <= test["accuracy"] <= 100 and set(test["by_group"]) <= {"D", "R", "T", "C"}
    assert set(test["open_ended"]["all"]) == {"accuracy", "wups0", "wups9"}
    assert "MR-full-R1@0.5" in test["localizer"]
    steps = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [s["lm"] for s in steps if s["kind"] == "step"]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    assert (tmp_path / "run" / "predictions" / "test.oe.jsonl").is_file()
    text = (tmp_path / "run" / "results.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert not (tmp_path / "run" / "checkpoints" / "last" / "model").exists()
    assert (tmp_path / "run" / "checkpoints" / "best" / "config.json").is_file()


def test_resume_repeats_the_uninterrupted_run(bench, tmp_path: Path) -> None:
    train_sgvlm(_config(bench, tmp_path / "full", quick=True))
    assert train_sgvlm(_config(bench, tmp_path / "cut", quick=True), stop_after=1) is None
    train_sgvlm(_config(bench, tmp_path / "cut", quick=True), resume=True)
    read = lambda p: [json.loads(x) for x in (p / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    full, cut = read(tmp_path / "full"), read(tmp_path / "cut")
    assert len(full) == len(cut)
    for a, b in zip(full, cut, strict=True):
        assert a.get("loss", a.get("train_loss")) == pytest.approx(
            b.get("loss", b.get("train_loss")), rel=1e-5
        )
    with pytest.raises(UsageError):
        train_sgvlm(_config(bench, tmp_path / "full", quick=True))


@dataclass
class _SG:
    tokens: np.ndarray
    token_mask: np.ndarray
    frame_indices: np.ndarray


class _Source:
    def __init__(self, store: FeatureStore, shift: int = 0) -> None:
        self.store, self.shift = store, shift

    def get(self, video_id: str) -> _SG:
        feats = self.store.get(video_id)
        t = feats.frames.shape[0]
        return _SG(
            np.ones((t, 2, 53), np.float32), np.ones((t, 2), bool), feats.frame_indices + self.shift
        )


def test_scene_graphs_must_align_with_frames(bench, tmp_path: Path) -> None:
    model, data = build_run(_config(bench, tmp_path / "x"))
    store = FeatureStore(bench[1])
    samples = data["val"].samples
    ok = SGVLMData(samples, store, model.processor, _Source(store))
    assert ok.sg_tokens.shape[1:] == (6, 2, 53)
    with pytest.raises(DataFormatError):
        SGVLMData(samples, store, model.processor, _Source(store, shift=1))


def test_sg_model_needs_a_scene_graph_store(bench, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        build_run(_config(bench, tmp_path / "y", use_scene_graph=True))
