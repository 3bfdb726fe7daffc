"""Stage-2 localizer pretraining on a tiny synthetic benchmark with oracle features."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from videoqa.data import load_dataset
from videoqa.errors import DataFormatError, UsageError
from videoqa.features.store import FeatureStore
from videoqa.models.sgvlm.llm import train_word_tokenizer
from videoqa.models.sgvlm.localizer import FrameLocalizer
from videoqa.synth.config import SynthConfig
from videoqa.synth.features import write_scene_graph_store
from videoqa.synth.generate import generate_dataset
from videoqa.training.localizer import (
    LocalizerModelSettings,
    LocalizerTrainSettings,
    clip_length_of,
    load_split_data,
    make_batch,
    train_localizer,
)

SMALL = LocalizerModelSettings(hidden_size=16, num_heads=2, num_layers=1, temporal_layers=1)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("locbench")
    generate_dataset(root / "bench", SynthConfig(videos=8, seed=1, frames=24, size=48, fps=8.0),
                     workers=1, write_videos=False)  # fmt: skip
    write_scene_graph_store(root / "bench", root / "feats", frames=6, splits=("train", "val"))
    return root / "bench", root / "feats"


@pytest.fixture(scope="module")
def tokenizer(bench):
    texts = [
        s.question
        for sp in ("train", "val")
        for s in load_dataset("synthetic", bench[0], split=sp).samples
    ]
    return train_word_tokenizer(texts)


def _settings(bench, out: Path, **kw) -> LocalizerTrainSettings:
    base = dict(benchmark=bench[0], features=bench[1], output_dir=out, model=SMALL, epochs=2,
                batch_size=16, warmup_steps=2)  # fmt: skip
    return LocalizerTrainSettings(**{**base, **kw})


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
        rng = np.random.default_rng(abs(hash(video_id)) % 2**32)
        t = len(index)
        return _FakeGraphs(
            tokens=rng.random((t, self.k, self.dim), dtype=np.float32),
            token_mask=rng.random((t, self.k)) > 0.3,
            frame_indices=index + self.shift,
        )


def test_data_batches(bench, tokenizer, tmp_path):
    settings = _settings(bench, tmp_path)
    data = load_split_data(settings, "train", tokenizer, FeatureStore(bench[1]), None)
    assert data.frames.shape[1:] == (6, 250) and clip_length_of(data) == pytest.approx(0.5)
    batch = make_batch(data, torch.tensor([0, 1, 2]))
    assert batch.question_ids.shape[1] == int(batch.question_mask.sum(1).max())
    first = data.samples[0]
    assert batch.qids[0] == first.qid
    assert batch.intervals[0].tolist() == pytest.approx(list(first.interval))
    with pytest.raises(DataFormatError):  # scene graphs of other frames
        load_split_data(settings, "val", tokenizer, FeatureStore(bench[1]),
                        _FakeSceneGraphStore(FeatureStore(bench[1]), shift=1))  # fmt: skip


def test_train_evaluate_keep_best_and_resume(bench, tokenizer, tmp_path):
    out = tmp_path / "run"
    result = train_localizer(_settings(bench, out), tokenizer)
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [0, 1] and result.epochs_run == 2
    best = max(records, key=lambda r: r["val"]["MR-full-mAP"])
    assert result.best_epoch == best["epoch"]
    assert result.best_metrics["MR-full-mAP"] == best["val"]["MR-full-mAP"]
    assert all(0 <= r["val"]["HL-min-VeryGood-mAP"] <= 100 for r in records)
    model = FrameLocalizer.from_pretrained(result.best_dir)
    assert model.config.sg_dim is None and model.config.hidden_size == 16
    with pytest.raises(UsageError):  # the folder holds a run
        train_localizer(_settings(bench, out), tokenizer)
    again = train_localizer(_settings(bench, out, epochs=3), tokenizer, resume=True)
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [0, 1, 2] and again.epochs_run == 1
    assert records[2]["step"] > records[1]["step"]
    assert not (out / "last.tmp").exists() and (out / "last" / "state.pt").is_file()


def test_train_with_scene_graph_tokens(bench, tokenizer, tmp_path):
    graphs = _FakeSceneGraphStore(FeatureStore(bench[1]))
    result = train_localizer(
        _settings(bench, tmp_path / "sg", epochs=1), tokenizer, scene_graphs=graphs
    )
    model = FrameLocalizer.from_pretrained(result.best_dir)
    assert model.config.sg_dim == 53 and model.config.max_sg_tokens == 3


def test_cli_localizer_train(bench, tokenizer, tmp_path):
    from videoqa.cli.main import app

    tokenizer.save_pretrained(tmp_path / "tok")
    args = ["localizer-train", "--benchmark", str(bench[0]), "--features", str(bench[1]),
            "--tokenizer", str(tmp_path / "tok"), "--out", str(tmp_path / "cli"), "--epochs", "1",
            "--hidden-size", "16", "--batch-size", "16", "--threads", "1"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "MR-full-R1@0.5" in result.output
    assert (tmp_path / "cli" / "best" / "model.safetensors").is_file()


def test_cli_refuses_an_existing_run_without_resume(bench, tokenizer, tmp_path):
    from videoqa.cli.main import app

    tokenizer.save_pretrained(tmp_path / "tok")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.jsonl").write_text("")
    args = ["localizer-train", "--benchmark", str(bench[0]), "--features", str(bench[1]),
            "--tokenizer", str(tmp_path / "tok"), "--out", str(tmp_path / "run")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "already holds a run" in result.output
