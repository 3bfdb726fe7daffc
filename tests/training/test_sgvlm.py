"""The ``sgvlm`` recipe (SGVLM stage 3) on the shared loop, on a tiny annotation-only
synthetic benchmark with oracle features: the run writes its results, learns, resumes
exactly, keeps a best checkpoint ``ask`` can load, and refuses misaligned scene graphs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from videoqa.errors import DataFormatError, UsageError
from videoqa.eval.sgvlm import evaluate_split
from videoqa.features.store import FeatureStore
from videoqa.models.sgvlm.llm import TinyLMConfig, create_tiny_llm
from videoqa.models.sgvlm.modeling import SGVLM
from videoqa.recipes.sgvlm import SGVLMRecipe, SGVLMRecipeConfig
from videoqa.synth.config import SynthConfig
from videoqa.synth.features import write_scene_graph_store
from videoqa.synth.generate import generate_dataset
from videoqa.training import Interrupted, TrainingLoop
from videoqa.training.logs import read_metrics
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


def _config(
    bench, out: Path, epochs: int = 2, quick: bool = False, every: int = 0, **model
) -> SGVLMRecipeConfig:
    bench_dir, feat, llm = bench
    data = {"benchmark_dir": str(bench_dir), "features_dir": str(feat), "limit": 40}
    if quick:
        data.update(limit=24, test_splits=[])
    return SGVLMRecipeConfig.model_validate(
        {
            "recipe": "sgvlm",
            "data": data,
            "sgvlm": {"open_ended": not quick},
            "model": {
                "llm": str(llm),
                "config": {
                    "use_scene_graph": False,
                    "num_selected_frames": 3,
                    "localizer": {**SMALL, "temporal_layers": 1},
                    "qformer": {**SMALL, "intermediate_size": 32, "num_queries": 4},
                    **model,
                },
            },
            "epochs": epochs,
            "batch_size": 8,
            "optim": {"lr": 3e-3},
            "output_dir": str(out),
            "eval_batch_size": 16,
            "logging": {"log_every": 1, "progress": False},
            "checkpoint": {"every_n_steps": every},
            "cpu": True,
        }
    )


def _fit(cfg: SGVLMRecipeConfig, **kw):
    return TrainingLoop(SGVLMRecipe(cfg)).fit(**kw)


def test_run_writes_results_and_the_loss_falls(bench, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = _fit(_config(bench, out, epochs=3))
    test = result.tests["test"]
    assert 0 <= test["accuracy"] <= 100 and set(test["by_group"]) <= {"D", "R", "T", "C"}
    assert set(test["open_ended"]["all"]) == {"accuracy", "wups0", "wups9"}
    assert "MR-full-R1@0.5" in test["localizer"]
    records = read_metrics(out / "metrics.jsonl")
    steps = [r for r in records if r["kind"] == "step"]
    assert all(set(r["losses"]) == {"loss", "lm", "localizer", "mc"} for r in steps)
    losses = [s["losses"]["lm"] for s in steps]
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [0, 1, 2]
    assert all(set(r["val_by_group"]) <= {"D", "R", "T", "C"} for r in epochs)
    assert result.best_value == max(r["val_accuracy"] for r in epochs)
    assert (out / "predictions" / "test.oe.jsonl").is_file()
    assert (out / "predictions" / "test.mc.jsonl").is_file()
    text = (out / "results.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    # best = SGVLM.save_pretrained (what `ask --model sgvlm:DIR` loads); last = resumable
    best = out / "checkpoints" / "best"
    assert {p.name for p in best.iterdir()} >= {"config.json", "model.safetensors", "llm"}
    last = out / "checkpoints" / "last"
    assert {p.name for p in last.iterdir()} == {
        "weights.safetensors",
        "state.json",
        "state.safetensors",
        "config.yaml",
    }
    # the test scores are those of the shipped checkpoint
    cfg = _config(bench, out)
    recipe = SGVLMRecipe(cfg)
    _, splits = recipe.build()
    again = evaluate_split(
        SGVLM.from_pretrained(best), splits["test"], "synthetic", 16, open_ended=False
    )
    assert again.accuracy == pytest.approx(test["accuracy"])


def test_resume_repeats_the_uninterrupted_run(bench, tmp_path: Path) -> None:
    _fit(_config(bench, tmp_path / "full", quick=True, every=2))
    expected = [
        {k: v for k, v in r.items() if k != "seconds"}
        for r in read_metrics(tmp_path / "full" / "metrics.jsonl")
    ]
    cut = _config(bench, tmp_path / "cut", quick=True, every=2)
    with pytest.raises(Interrupted):
        _fit(cut, stop_after_steps=2)
    _fit(cut, resume=True)
    got = [
        {k: v for k, v in r.items() if k != "seconds"}
        for r in read_metrics(tmp_path / "cut" / "metrics.jsonl")
    ]
    assert got == expected
    with pytest.raises(UsageError, match="already holds a run"):
        _fit(_config(bench, tmp_path / "full", quick=True))


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
    model, data = SGVLMRecipe(_config(bench, tmp_path / "x")).build()
    store = FeatureStore(bench[1])
    samples = data["val"].samples
    ok = SGVLMData(samples, store, model.processor, _Source(store))
    assert ok.sg_tokens.shape[1:] == (6, 2, 53)
    with pytest.raises(DataFormatError):
        SGVLMData(samples, store, model.processor, _Source(store, shift=1))


def test_sg_model_needs_a_scene_graph_store(bench, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="scene_graphs_dir"):
        SGVLMRecipe(_config(bench, tmp_path / "y", use_scene_graph=True)).build()
