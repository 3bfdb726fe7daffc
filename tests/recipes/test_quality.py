"""The ``quality`` recipe (VQA² stages 1-2) on tiny unit-feature sets: full-batch
training through the shared loop (one step per epoch), leave-one-source-out folds run
by the same loop, the ``none`` class weight, identical resume, the report in the best
checkpoint, the CLI and the shipped config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from tests.perception.quality.toy_sets import toy_set
from videoqa.errors import UsageError
from videoqa.perception.quality.dataset import LabeledVideo, TrainingSet, score_targets
from videoqa.perception.quality.distort import DistortionKind
from videoqa.perception.quality.evaluation import cross_validate
from videoqa.perception.quality.features import unit_feature_names
from videoqa.perception.quality.model import CLASS_NAMES, SCORE_NAMES, QualityModel
from videoqa.recipes import build_recipe, shipped_configs
from videoqa.recipes.quality import QualityRecipe, QualityRunConfig
from videoqa.training import Interrupted, TrainingLoop
from videoqa.training.logs import read_metrics

D = len(unit_feature_names())
NONE = DistortionKind.NONE


def _config(out: Path, **extra) -> QualityRunConfig:
    """Quick fits: the old tests' 150 full-batch steps at lr 1e-2 became 40 at 3e-2
    (every epoch of the shared loop is also a checkpoint)."""
    raw = {
        "recipe": "quality",
        "data": {"work_dir": str(out / "unused")},
        "model": {"hidden_size": 16},
        "quality": {"cross_validate": False, "sample_check": False, "threads": 1},
        "epochs": 40,
        "optim": {"lr": 3e-2, "weight_decay": 1e-2, "grad_clip": 0.0},
        "scheduler": {"warmup_ratio": 0.0, "warmup_steps": 0, "min_lr_ratio": 1.0},
        "logging": {"log_every": 1, "progress": False},
        "output_dir": str(out),
        "cpu": True,
    }
    for key, value in extra.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return QualityRunConfig.model_validate(raw)


def _fit(data: TrainingSet, out: Path, scored: np.ndarray | None = None, **extra) -> QualityModel:
    scored = np.ones(len(data.videos), bool) if scored is None else scored
    TrainingLoop(QualityRecipe(_config(out, **extra), data=(data, scored))).fit()
    return QualityModel.from_pretrained(out / "checkpoints" / "best")


def _toy(n_per_class: int = 12, seed: int = 0, classes=(0, 1, 3)) -> TrainingSet:
    """Separable toy data, one unit per video: 6 noisy features (the rest constant),
    class c shifts feature c by 4 units; two sources alternate."""
    rng = np.random.default_rng(seed)
    x, y, s, videos = [], [], [], []
    for c in classes:
        feats = np.zeros((n_per_class, D))
        feats[:, :6] = rng.normal(0, 0.3, (n_per_class, 6))
        feats[:, c] += 4.0
        x.append(feats)
        level = 0 if c == 0 else 4
        kind = DistortionKind(CLASS_NAMES[c])
        s.append(np.tile(score_targets(kind, level), (n_per_class, 1)))
        for i in range(n_per_class):
            videos.append(LabeledVideo(Path(f"v{len(videos)}.mp4"), f"c{i % 4}", f"src{i % 2}",
                                       kind, level))  # fmt: skip
        y += [c] * n_per_class
    return TrainingSet(np.concatenate(x), np.array(y), np.concatenate(s),
                       np.arange(len(videos)), tuple(videos))  # fmt: skip


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> tuple[TrainingSet, Path, QualityModel]:
    data = _toy()
    out = tmp_path_factory.mktemp("quality") / "run"
    return data, out, _fit(data, out)


def test_full_batch_fit_separates_the_classes(toy_run) -> None:
    data, out, model = toy_run
    pred = model.predict(data.features)
    assert pred.probabilities.shape == (len(data.features), len(CLASS_NAMES))
    assert np.allclose(pred.probabilities.sum(axis=1), 1.0)
    assert pred.scores.shape == (len(data.features), len(SCORE_NAMES))
    assert np.all((pred.scores >= 1.0) & (pred.scores <= 5.0))
    assert (pred.probabilities.argmax(axis=1) == data.classes).mean() == 1.0
    y = data.classes
    assert pred.scores[y == 0, 0].mean() > pred.scores[y == 3, 0].mean() + 1.5
    # one epoch = one optimiser step over all 36 units; the last epoch is kept
    records = read_metrics(out / "metrics.jsonl")
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert len(steps) == len(epochs) == 40 and [r["step"] for r in epochs] == list(range(1, 41))
    assert {r["lr"] for r in steps} == {3e-2}  # constant learning rate
    results = json.loads((out / "results.json").read_text())
    assert results["best_epoch"] == 39 and results["monitor"] == "epochs_done"
    assert epochs[-1]["train_unit_accuracy"] == 1.0
    assert epochs[-1]["train_losses"]["loss"] < epochs[0]["train_losses"]["loss"]


def test_the_report_goes_into_the_best_checkpoint(toy_run) -> None:
    data, out, _ = toy_run
    best = out / "checkpoints" / "best"
    report = json.loads((best / "training_report.json").read_text())
    assert (
        report["videos"] == 36 and report["units"] == 36 and report["sources"] == ["src0", "src1"]
    )
    assert report["config"]["epochs"] == 40 and report["config"]["hidden"] == 16
    assert report["cross_validation"] is None and report["carphone_pair"] == {}
    assert QualityModel.from_pretrained(best).report == report
    assert json.loads((out / "results.json").read_text())["tests"] == report


def test_cross_validation_runs_one_fold_per_source(tmp_path) -> None:
    data = _toy(n_per_class=10)
    config = _config(tmp_path / "run", quality={"cross_validate": True})
    scored = np.ones(len(data.videos), bool)
    result = TrainingLoop(QualityRecipe(config, data=(data, scored))).fit()
    cv = result.tests["cross_validation"]
    assert set(cv["folds"]) == {"src0", "src1"}
    assert cv["accuracy"] == 1.0 and cv["srcc_level"] > 0.8
    assert sum(f["videos"] for f in cv["folds"].values()) == len(data.videos)
    assert cv["folds"]["src0"]["confusion"]["blur"] == {"blur": 5}
    # each fold is a run of the same recipe on the other source
    fold = tmp_path / "run" / "cross_validation" / "src0"
    assert (fold / "checkpoints" / "best" / "model.safetensors").is_file()
    epochs = [r for r in read_metrics(fold / "metrics.jsonl") if r["kind"] == "epoch"]
    assert len(epochs) == 40
    # the fold models are the ones the library's cross_validate gets from the fitter
    models = {s: QualityModel.from_pretrained(tmp_path / "run" / "cross_validation" / s
                                              / "checkpoints" / "best") for s in ("src0", "src1")}  # fmt: skip
    again = cross_validate(data, lambda held, train: models[held], scored=scored)
    assert again.model_dump(mode="json") == cv
    # a resumed run reuses the finished folds (no second training)
    before = (fold / "metrics.jsonl").stat().st_mtime_ns
    TrainingLoop(QualityRecipe(config, data=(data, scored))).fit(resume=True)
    assert (fold / "metrics.jsonl").stat().st_mtime_ns == before


def test_cross_validate_scores_only_the_marked_videos(tmp_path) -> None:
    rows = []
    for source in ("src0", "src1"):
        rows += [(source, NONE, 0.0)] * 4 + [(source, DistortionKind.BLUR, 4.0)] * 4
        rows += [(source, NONE, 0.0)] * 3  # variants: trained on, not scored
    rows += [("extra", NONE, 0.0)] * 3  # a source with no scored video: never held out
    data = toy_set(rows)
    scored = np.array([i % 11 < 8 and i < 22 for i in range(len(rows))])
    config = _config(tmp_path / "run", quality={"cross_validate": True})
    report = TrainingLoop(QualityRecipe(config, data=(data, scored))).fit().tests
    cv = report["cross_validation"]
    assert set(cv["folds"]) == {"src0", "src1"}
    assert sum(f["videos"] for f in cv["folds"].values()) == 16
    assert cv["accuracy"] == 1.0
    assert (cv["clean_videos"], cv["clean_recognized"], cv["false_clean_level_ge2"]) == (8, 8, 0)
    assert (cv["variant_clean_videos"], cv["variant_clean_recognized"]) == (6, 6)
    assert report["pristine_variants"] == 9  # the videos cross-validation does not score


@pytest.mark.parametrize(("none_weight", "more_none"), [(6.0, True), (1 / 6, False)])
def test_none_weight_moves_ambiguous_videos(none_weight, more_none, tmp_path) -> None:
    # none and blur drawn from the same distribution: only the class weights decide.
    rows = [("s", NONE, 0.0)] * 20 + [("s", DistortionKind.BLUR, 0.0)] * 20
    data = toy_set(rows, seed=1)
    model = _fit(data, tmp_path / "run", quality={"none_weight": none_weight},
                 model={"dropout": 0.0})  # fmt: skip
    said_none = (model.predict(data.features).probabilities.argmax(axis=1) == 0).mean()
    assert (said_none > 0.9) if more_none else (said_none < 0.1)


def test_resume_gives_the_same_metrics_and_model(tmp_path) -> None:
    data = _toy(n_per_class=6)
    scored = np.ones(len(data.videos), bool)
    full = _config(tmp_path / "full", epochs=6)
    TrainingLoop(QualityRecipe(full, data=(data, scored))).fit()
    cut = _config(tmp_path / "cut", epochs=6)
    with pytest.raises(Interrupted):
        TrainingLoop(QualityRecipe(cut, data=(data, scored))).fit(stop_after_steps=3)
    TrainingLoop(QualityRecipe(cut, data=(data, scored))).fit(resume=True)

    def strip(path: Path) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "seconds"} for r in read_metrics(path)]

    assert strip(tmp_path / "cut" / "metrics.jsonl") == strip(tmp_path / "full" / "metrics.jsonl")
    a = QualityModel.from_pretrained(tmp_path / "full" / "checkpoints" / "best")
    b = QualityModel.from_pretrained(tmp_path / "cut" / "checkpoints" / "best")
    assert all(np.array_equal(getattr(a, n), getattr(b, n)) for n in ("w1", "wc", "ws", "bs"))


def test_too_few_units_are_refused(tmp_path) -> None:
    data = toy_set([("s", NONE, 0.0)]).select(np.array([True, False]))
    recipe = QualityRecipe(_config(tmp_path / "run"), data=(data, np.ones(1, bool)))
    with pytest.raises(UsageError, match="at least 2"):
        TrainingLoop(recipe).fit()


def test_shipped_config_and_cli(tmp_path) -> None:
    from videoqa.cli.main import app

    paths = shipped_configs("quality")
    assert sorted(p.name for p in paths) == ["quality.yaml", "quality_families.yaml"]
    families = build_recipe(next(p for p in paths if p.stem == "quality_families")).config
    assert families.quality.combiner and families.data.codecs == ["libx264", "mpeg4"]
    assert not families.quality.classify_level1 and families.checkpoint.monitor == "last_epoch"
    assert (families.data.combos, families.data.variants_per_clip) == (4, 2)
    assert families.data.sources is not None
    cfg = build_recipe(next(p for p in paths if p.stem == "quality")).config
    assert (cfg.epochs, cfg.batch_size, cfg.model.hidden_size, cfg.model.dropout) == (
        800, 1_000_000, 64, 0.5)  # fmt: skip
    assert (cfg.optim.lr, cfg.optim.weight_decay, cfg.optim.grad_clip) == (3e-3, 1e-2, 0.0)
    assert (cfg.scheduler.warmup_steps, cfg.scheduler.min_lr_ratio) == (0, 1.0)
    q = cfg.quality
    assert (q.score_weight, q.none_weight, q.l2, q.threads) == (4.0, 2.0, 1e-3, 1)
    assert cfg.data.variants_per_source == 20 and cfg.data.kinds is None
    # the old training command is gone; its MOS mode is `quality fit-mos`
    old = CliRunner().invoke(app, ["quality-train", "--work", str(tmp_path)])
    assert old.exit_code == 2
    listed = CliRunner().invoke(app, ["train", "--list"])
    assert "quality" in listed.output and "sg-predictor" in listed.output


def test_threads_are_restored(tmp_path) -> None:
    before = torch.get_num_threads()
    data = _toy(n_per_class=3)
    config = _config(tmp_path / "run", epochs=1, quality={"threads": 1})
    TrainingLoop(QualityRecipe(config, data=(data, np.ones(len(data.videos), bool)))).fit()
    assert torch.get_num_threads() == before
