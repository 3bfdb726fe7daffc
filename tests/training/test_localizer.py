"""The ``localizer`` recipe (SGVLM stage 2) on the shared loop: a tiny synthetic benchmark
with oracle features, and the real QVHighlights annotation file with stand-in features."""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from videoqa.data import load_dataset
from videoqa.data.grounding import GroundingExample, grounding_examples
from videoqa.errors import DataFormatError, UsageError
from videoqa.features.store import FeatureStore
from videoqa.models.sgvlm.llm import train_word_tokenizer
from videoqa.models.sgvlm.localizer import FrameLocalizer
from videoqa.recipes.localizer import LocalizerRecipe, LocalizerRecipeConfig
from videoqa.synth.config import SynthConfig
from videoqa.synth.features import write_scene_graph_store
from videoqa.synth.generate import generate_dataset
from videoqa.training import Interrupted, TrainingLoop
from videoqa.training.localizer_data import build_localizer_data, clip_length_of, make_batch
from videoqa.training.logs import read_metrics

SMALL = {"hidden_size": 16, "num_heads": 2, "num_layers": 1, "temporal_layers": 1}


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("locbench")
    generate_dataset(root / "bench", SynthConfig(videos=8, seed=1, frames=24, size=48, fps=8.0),
                     workers=1, write_videos=False)  # fmt: skip
    write_scene_graph_store(root / "bench", root / "feats", frames=6, splits=("train", "val"))
    texts = [
        s.question
        for sp in ("train", "val")
        for s in load_dataset("synthetic", root / "bench", split=sp).samples
    ]
    train_word_tokenizer(texts).save_pretrained(root / "tok")
    return root / "bench", root / "feats", root / "tok"


def _raw(bench, out: Path, **kw) -> dict:
    raw = {
        "recipe": "localizer",
        "data": {"benchmark_dir": str(bench[0]), "features_dir": str(bench[1])},
        "model": {"tokenizer": str(bench[2]), **SMALL},
        "epochs": 2,
        "batch_size": 16,
        "scheduler": {"warmup_steps": 2},
        "logging": {"log_every": 1, "progress": False},
        "output_dir": str(out),
        "cpu": True,
    }
    raw.update(kw)
    return raw


def _recipe(bench, out: Path, **kw) -> LocalizerRecipe:
    graphs = kw.pop("scene_graphs", None)
    features = kw.pop("features", None)
    cfg = LocalizerRecipeConfig.model_validate(_raw(bench, out, **kw))
    return LocalizerRecipe(cfg, features=features, scene_graphs=graphs)


@dataclass(frozen=True)
class _FakeGraphs:
    tokens: np.ndarray
    token_mask: np.ndarray
    frame_indices: np.ndarray


class _FakeSceneGraphStore:
    """Random SG tokens aligned with a feature store (stands in for SceneGraphStore)."""

    def __init__(self, features: FeatureStore, k: int = 3, dim: int = 53, shift: int = 0) -> None:
        self.features, self.k, self.dim, self.shift = features, k, dim, shift

    def get(self, video_id: str) -> _FakeGraphs:
        index = self.features.get(video_id).frame_indices
        rng = np.random.default_rng(zlib.crc32(video_id.encode()))
        t = len(index)
        return _FakeGraphs(
            tokens=rng.random((t, self.k, self.dim), dtype=np.float32),
            token_mask=rng.random((t, self.k)) > 0.3,
            frame_indices=index + self.shift,
        )


def _strip(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def test_examples_and_batches(bench, tmp_path):
    recipe = _recipe(bench, tmp_path)
    split = load_dataset("synthetic", bench[0], split="train")
    examples = recipe.examples("train")
    with_interval = [s for s in split.samples if s.interval is not None]
    assert [e.qid for e in examples] == [s.qid for s in with_interval]
    first = examples[0]
    assert first.windows == (tuple(with_interval[0].interval),)
    assert first.duration == split.videos[first.video_id].duration
    data = recipe.data.train
    assert data.frames.shape[1:] == (6, 250) and bool(data.frame_mask.all())
    assert clip_length_of(data) == pytest.approx(0.5) and recipe.clip_length == pytest.approx(0.5)
    batch = make_batch(data, torch.tensor([0, 1, 2]))
    assert batch.question_ids.shape[1] == int(batch.question_mask.sum(1).max())
    assert batch.qids[0] == first.qid
    assert batch.windows[0, 0].tolist() == pytest.approx(list(first.windows[0]))
    features = FeatureStore(bench[1])
    with pytest.raises(DataFormatError):  # scene graphs of other frames
        build_localizer_data(examples, features, recipe.tokenizer, 40,
                             _FakeSceneGraphStore(features, shift=1))  # fmt: skip


def test_train_evaluate_keep_best_and_extend(bench, tmp_path):
    out = tmp_path / "run"
    result = TrainingLoop(_recipe(bench, out)).fit()
    records = read_metrics(out / "metrics.jsonl")
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [0, 1]
    assert result.monitor == "val_MR-full-mAP"
    best = max(epochs, key=lambda r: r["val_MR-full-mAP"])
    assert result.best_epoch == best["epoch"]
    assert result.best_value == best["val_MR-full-mAP"]
    assert all(0 <= r["val_HL-min-VeryGood-mAP"] <= 100 for r in epochs)
    assert set(epochs[0]["train_losses"]) == {"loss", "foreground", "l1", "iou", "intra", "inter"}
    steps = [r for r in records if r["kind"] == "step"]
    assert steps and all(r["losses"]["loss"] > 0 for r in steps)
    model = FrameLocalizer.from_pretrained(out / "checkpoints" / "best")
    assert model.config.sg_dim is None and model.config.hidden_size == 16
    with pytest.raises(UsageError, match="already holds a run"):
        TrainingLoop(_recipe(bench, out)).fit()
    TrainingLoop(_recipe(bench, out, epochs=3)).fit(resume=True)
    records = read_metrics(out / "metrics.jsonl")
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [0, 1, 2]
    assert epochs[2]["step"] > epochs[1]["step"]
    assert (out / "checkpoints" / "last" / "state.json").is_file()
    assert not (out / "checkpoints" / "last.tmp").exists()


def test_interrupted_then_resumed_repeats_the_uninterrupted_run(bench, tmp_path):
    TrainingLoop(_recipe(bench, tmp_path / "full")).fit()
    expected = _strip(read_metrics(tmp_path / "full" / "metrics.jsonl"))
    raw = {"checkpoint": {"every_n_steps": 1}}
    with pytest.raises(Interrupted):
        TrainingLoop(_recipe(bench, tmp_path / "cut", **raw)).fit(stop_after_steps=3)
    TrainingLoop(_recipe(bench, tmp_path / "cut", **raw)).fit(resume=True)
    assert _strip(read_metrics(tmp_path / "cut" / "metrics.jsonl")) == expected


def test_train_with_scene_graph_tokens(bench, tmp_path):
    graphs = _FakeSceneGraphStore(FeatureStore(bench[1]))
    out = tmp_path / "sg"
    data = {"benchmark_dir": str(bench[0]), "features_dir": str(bench[1]), "test_splits": ["val"]}
    recipe = _recipe(bench, out, epochs=1, scene_graphs=graphs, data=data)
    result = TrainingLoop(recipe).fit()
    model = FrameLocalizer.from_pretrained(out / "checkpoints" / "best")
    assert model.config.sg_dim == 53 and model.config.max_sg_tokens == 3
    # the best epoch is scored on the test splits: here val again, so the same numbers
    assert result.tests["val"]["MR-full-mAP"] == result.best_value
    saved = json.loads((out / "results.json").read_text())
    assert saved["tests"]["val"]["MR-full-R1@0.5"] == pytest.approx(
        result.tests["val"]["MR-full-R1@0.5"]
    )


def test_cli_train_recipe_localizer(bench, tmp_path):
    from videoqa.cli.main import app

    cfg = tmp_path / "loc.yaml"
    cfg.write_text(yaml.safe_dump(_raw(bench, tmp_path / "unused", epochs=1)), encoding="utf-8")
    args = ["train", "--recipe", "localizer", "--config", str(cfg), "--out", str(tmp_path / "cli")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "val_MR-full-mAP" in result.output
    assert (tmp_path / "cli" / "checkpoints" / "best" / "model.safetensors").is_file()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "already holds a run" in again.output


# ---- real QVHighlights annotations (../shared/data), stand-in features ----------------
@dataclass(frozen=True)
class _Features:
    frames: np.ndarray
    times: np.ndarray
    frame_indices: np.ndarray


class _StandInFeatures:
    """One random 8-d feature per 2-second QVHighlights clip (``ceil(duration / 2)``
    frames at the clip centres), seeded by the video id."""

    def __init__(self, durations: dict[str, float]) -> None:
        self.durations = durations

    def get(self, video_id: str) -> _Features:
        t = math.ceil(self.durations[video_id] / 2)
        rng = np.random.default_rng(zlib.crc32(video_id.encode()))
        return _Features(
            rng.standard_normal((t, 8)).astype(np.float32),
            2.0 * np.arange(t) + 1.0,
            np.arange(t),
        )


def test_qvhighlights_annotations_train_the_localizer(shared_data, tmp_path):
    path = shared_data / "qvhighlights" / "highlight_val_release.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    bench = load_dataset("qvhighlights", path, split="val")
    examples = grounding_examples(bench)
    labelled = [s for s in bench.samples if s.relevant_windows]
    assert len(examples) == len(labelled) > 1000
    assert any(len(e.windows) > 1 for e in examples)  # several moments per query
    assert all(isinstance(e, GroundingExample) and e.duration > 0 for e in examples)

    durations = {s.vid: s.duration for s in bench.samples}
    tok = tmp_path / "tok"
    train_word_tokenizer([s.query for s in bench.samples]).save_pretrained(tok)
    raw = {
        "data": {
            "dataset": "qvhighlights",
            "benchmark_dir": str(shared_data / "qvhighlights" / "highlight_{split}_release.jsonl"),
            "features_dir": "stand-in",
            "train_split": "val",
            "val_split": "val",
            "limit": 48,
        },
        "model": {"tokenizer": str(tok), **SMALL},
        "epochs": 1,
        "localizer": {"clip_length": 2.0},
    }
    cfg = LocalizerRecipeConfig.model_validate({**_raw(("x", "x", "x"), tmp_path / "run"), **raw})
    recipe = LocalizerRecipe(cfg, features=_StandInFeatures(durations))
    data = recipe.data.train
    assert len(data) == 48 and [e.qid for e in data.examples] == [e.qid for e in examples[:48]]
    clips = [math.ceil(durations[v] / 2) for v in sorted({e.video_id for e in data.examples})]
    assert data.frame_mask.sum(1).tolist() == clips  # one frame per 2-second clip, padded
    assert data.frames.shape[1] == max(clips) == 75  # 150 s videos: 75 clips
    width = max(len(e.windows) for e in data.examples)
    assert data.windows.shape == (48, width, 2)
    e = data.examples[0]
    got = data.windows[0, : len(e.windows)].flatten().tolist()
    assert got == pytest.approx([x for w in e.windows for x in w])
    result = TrainingLoop(recipe).fit()
    record = [r for r in read_metrics(tmp_path / "run" / "metrics.jsonl") if r["kind"] == "epoch"]
    assert 0 <= record[0]["val_MR-full-R1@0.5"] <= 100 and result.steps == 3
    saved = json.loads((tmp_path / "run" / "checkpoints" / "best" / "config.json").read_text())
    assert saved["frame_dim"] == 8 and saved["sg_dim"] is None
