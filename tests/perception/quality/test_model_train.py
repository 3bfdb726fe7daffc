"""The quality MLP: training on tiny synthetic data, save/load, MOS re-fit, evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videoqa.errors import ModelUnavailableError, UsageError
from videoqa.perception.quality.distort import DistortionKind
from videoqa.perception.quality.features import unit_feature_names
from videoqa.perception.quality.model import CLASS_NAMES, SCORE_NAMES, QualityModel, slog
from videoqa.perception.quality.train import (
    LabeledVideo,
    TrainConfig,
    TrainingSet,
    cross_validate,
    fit_model,
    fit_mos,
    read_manifest,
    score_targets,
    write_manifest,
)

D = len(unit_feature_names())
FAST = TrainConfig(hidden=16, epochs=150, lr=1e-2)


def _toy(
    n_per_class: int = 12, seed: int = 0, classes=(0, 1, 3)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Separable toy data: 6 noisy features (the rest constant), class c shifts feature c
    by 4 units."""
    rng = np.random.default_rng(seed)
    x, y, s = [], [], []
    for c in classes:
        feats = np.zeros((n_per_class, D))
        feats[:, :6] = rng.normal(0, 0.3, (n_per_class, 6))
        feats[:, c] += 4.0
        x.append(feats)
        y += [c] * n_per_class
        level = 0 if c == 0 else 4
        s.append(np.tile(score_targets(DistortionKind(CLASS_NAMES[c]), level), (n_per_class, 1)))
    return np.concatenate(x), np.array(y), np.concatenate(s)


def test_score_targets_golden():
    assert score_targets(DistortionKind.NONE, 0).tolist() == [5.0] * 6
    # blur level 3: overall and sharpness 5 - 0.8 * 3 = 2.6; the other dimensions stay 5.
    assert score_targets(DistortionKind.BLUR, 3).tolist() == pytest.approx([2.6, 2.6, 5, 5, 5, 5])
    assert score_targets(DistortionKind.FLICKER, 5).tolist() == pytest.approx(
        [1.0, 5, 5, 5, 5, 1.0]
    )


def test_fit_predict_shapes_and_separable_accuracy():
    x, y, s = _toy()
    model = fit_model(x, y, s, FAST)
    pred = model.predict(x)
    assert pred.probabilities.shape == (len(x), len(CLASS_NAMES))
    assert np.allclose(pred.probabilities.sum(axis=1), 1.0)
    assert pred.scores.shape == (len(x), len(SCORE_NAMES))
    assert np.all((pred.scores >= 1.0) & (pred.scores <= 5.0))
    assert (pred.probabilities.argmax(axis=1) == y).mean() == 1.0
    assert pred.scores[y == 0, 0].mean() > pred.scores[y == 3, 0].mean() + 1.5


def test_save_load_round_trip(tmp_path: Path):
    x, y, s = _toy()
    model = fit_model(x, y, s, FAST)
    model.report = {"note": "toy"}
    loaded = QualityModel.load(model.save(tmp_path / "m.safetensors"))
    assert loaded.feature_names == tuple(unit_feature_names())
    assert loaded.report == {"note": "toy"}
    a, b = model.predict(x), loaded.predict(x)
    assert np.allclose(a.probabilities, b.probabilities, atol=1e-5)
    assert np.allclose(a.scores, b.scores, atol=1e-4)


def test_load_errors(tmp_path: Path):
    with pytest.raises(ModelUnavailableError):
        QualityModel.load(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelUnavailableError):
        QualityModel.load(junk)


def test_predict_rejects_wrong_width():
    x, y, s = _toy()
    model = fit_model(x, y, s, FAST)
    with pytest.raises(ValueError):
        model.predict(x[:, :10])


def test_fit_model_rejects_inconsistent_data():
    x, y, s = _toy()
    with pytest.raises(UsageError):
        fit_model(x, y[:-1], s, FAST)


def test_slog_is_odd_and_monotone():
    v = np.array([-10.0, -1.0, 0.0, 1.0, 10.0])
    assert np.allclose(slog(v), -slog(-v))
    assert np.all(np.diff(slog(v)) > 0)
    assert slog(np.array([np.e - 1]))[0] == pytest.approx(1.0)


def test_fit_mos_tracks_the_table():
    x, y, s = _toy()
    model = fit_model(x, y, s, FAST)
    videos = [x[y == c][i : i + 3] for c in (0, 1, 3) for i in (0, 3, 6)]
    mos = [90, 85, 88, 40, 45, 42, 10, 15, 12]  # 0-100 scale: class 1 fair, class 3 bad
    fitted = fit_mos(model, videos, mos, mos_range=(0, 100), steps=300)
    got = np.array([fitted.predict(v).scores[:, 0].mean() for v in videos])
    want = 1 + 4 * np.array(mos) / 100
    assert np.corrcoef(got, want)[0, 1] > 0.9
    assert fitted.report["mos_fit"]["videos"] == 9
    assert np.allclose(fitted.wc, model.wc)  # the classifier is untouched
    with pytest.raises(UsageError):
        fit_mos(model, videos[:2], mos[:2])


def test_cross_validate_holds_out_each_source():
    x, y, s = _toy(n_per_class=10)
    kinds = [DistortionKind.NONE, DistortionKind.BLUR, DistortionKind.COMPRESSION]
    videos, video_idx = [], []
    for i in range(len(x)):
        c = y[i]
        kind = kinds[[0, 1, 3].index(c)]
        videos.append(
            LabeledVideo(Path(f"v{i}.mp4"), f"clip{i % 4}", f"src{i % 2}", kind, 0 if c == 0 else 4)
        )
        video_idx.append(i)
    data = TrainingSet(x, y, s, np.array(video_idx), tuple(videos))
    report = cross_validate(data, FAST)
    assert set(report.folds) == {"src0", "src1"}
    assert report.accuracy == 1.0
    assert report.srcc_level > 0.8
    assert sum(f.videos for f in report.folds.values()) == len(x)
    assert report.folds["src0"].confusion["blur"] == {"blur": 5}


def test_manifest_round_trip(tmp_path: Path):
    videos = [
        LabeledVideo(tmp_path / "videos" / "a.mp4", "a", "bikes", DistortionKind.BLUR, 2),
        LabeledVideo(tmp_path / "videos" / "b.mp4", "b", "carphone", DistortionKind.NONE, 0),
    ]
    write_manifest(videos, tmp_path)
    assert read_manifest(tmp_path) == videos
