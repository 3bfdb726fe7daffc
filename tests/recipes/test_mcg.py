"""The MCG recipes on the one loop: pre-training on the synthetic descriptions, then
fine-tuning from that checkpoint (open-ended and multiple choice), exact resume, and
the WebVid CSV loader."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from videoqa.data.webvid import load_webvid_csv
from videoqa.errors import DataFormatError
from videoqa.models.mcg import MCG
from videoqa.recipes import build_recipe
from videoqa.training import Interrupted, TrainingLoop
from videoqa.training.logs import read_metrics

TINY = [
    "model.vocab_size=200",
    "model.config.num_frames=4",
    "model.config.embed_dim=16",
    "model.config.video={hidden_size: 32, num_layers: 1, num_heads: 2, intermediate_size: 64, image_size: 16, patch_size: 8, num_frames: 4}",
    "model.config.text={hidden_size: 32, num_layers: 1, num_heads: 2, intermediate_size: 64, fusion_layers: 1, decoder_layers: 1}",
    "batch_size=8",
    "eval_batch_size=16",
    "logging.progress=false",
]


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from videoqa.synth.config import SynthConfig
    from videoqa.synth.generate import generate_dataset

    out = tmp_path_factory.mktemp("mcg") / "synth"
    generate_dataset(out, SynthConfig(videos=10, seed=3, frames=32, size=64, fps=8.0), workers=1)
    return out


def _recipe(name: str, bench: Path, out: Path, *extra: str):
    return build_recipe(
        name,
        [f"data.benchmark_dir={bench}", f"output_dir={out}", "data.limit=24", *TINY, *extra],
    )


def test_pretrain_then_finetune_from_its_checkpoint(bench: Path, tmp_path: Path) -> None:
    pre = TrainingLoop(_recipe("pretrain_synthetic", bench, tmp_path / "pre", "epochs=2")).fit()
    assert pre.best_value is not None
    records = [r for r in read_metrics(tmp_path / "pre" / "metrics.jsonl") if r.get("kind") == "epoch"]
    losses = records[-1]["train_losses"]
    assert {"loss", "instance", "token", "mlm"} <= set(losses)
    best = tmp_path / "pre" / "checkpoints" / "best"
    pretrained = MCG.from_pretrained(best)

    recipe = _recipe(
        "mcg_synthetic_mc", bench, tmp_path / "ft", "epochs=1", f"model.init_from={best}",
        "mcg.instance_weight=0.5", "mcg.token_weight=0.5", "model.config.num_frames=6",
        "model.config.video.num_frames=6",
    )  # fmt: skip
    result = TrainingLoop(recipe).fit()
    assert any(k.startswith("video.") for k in recipe.initialised)
    assert "text.embeddings.word_embeddings.weight" in recipe.initialised
    assert "video.embeddings.time_embeddings" in recipe.initialised  # 4 -> 6 frames, resized
    tuned = MCG.from_pretrained(tmp_path / "ft" / "checkpoints" / "best")
    assert tuned.tokenizer.get_vocab() == pretrained.tokenizer.get_vocab()
    assert tuned.config.num_frames == 6
    test = result.tests["test"]
    assert 0 <= test["mc_accuracy"] <= 100 and "oe_accuracy" in test and test["mc_by_type"]
    assert (tmp_path / "ft" / "predictions" / "test.jsonl").is_file()


def test_finetune_resume_repeats_the_uninterrupted_run(bench: Path, tmp_path: Path) -> None:
    extra = ("epochs=2", "checkpoint.every_n_steps=2", "mcg.eval_limit=8", "data.test_splits=[test]")
    TrainingLoop(_recipe("mcg_synthetic", bench, tmp_path / "full", *extra)).fit()
    expected = [
        {k: v for k, v in r.items() if k != "seconds"}
        for r in read_metrics(tmp_path / "full" / "metrics.jsonl")
    ]
    with pytest.raises(Interrupted):
        TrainingLoop(_recipe("mcg_synthetic", bench, tmp_path / "cut", *extra)).fit(stop_after_steps=2)
    TrainingLoop(_recipe("mcg_synthetic", bench, tmp_path / "cut", *extra)).fit(resume=True)
    got = [
        {k: v for k, v in r.items() if k != "seconds"}
        for r in read_metrics(tmp_path / "cut" / "metrics.jsonl")
    ]
    assert got == expected
    a = MCG.from_pretrained(tmp_path / "full" / "checkpoints" / "best").state_dict()
    b = MCG.from_pretrained(tmp_path / "cut" / "checkpoints" / "best").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_webvid_csv_loader(tmp_path: Path) -> None:
    csv = tmp_path / "results_2M_val.csv"
    csv.write_text(
        "videoid,contentUrl,duration,page_dir,name\n"
        "1053841541,https://x/a.mp4,PT00H00M27S,006001_006050,Travel blogger shoot a story\n"
        "1054,https://x/b.mp4,PT00H01M02.5S,007,\n"
        "99,https://x/c.mp4,,008,Aerial view of a coast\n",
        encoding="utf-8",
    )
    pairs = load_webvid_csv(csv, tmp_path / "videos")
    assert [p.video_id for p in pairs] == ["1053841541", "99"]  # empty caption skipped
    assert pairs[0].path == tmp_path / "videos" / "006001_006050" / "1053841541.mp4"
    assert pairs[0].duration == 27.0 and pairs[1].duration is None
    bad = tmp_path / "bad.csv"
    bad.write_text("id,caption\n1,x\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="missing columns"):
        load_webvid_csv(bad, tmp_path)
    with pytest.raises(DataFormatError):
        load_webvid_csv(tmp_path / "absent.csv", tmp_path)
