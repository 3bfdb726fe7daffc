"""Issue 18 pieces: the monotone overall score, two-way combinations and the MPEG-4
ladder, family source lists and clean variants, and the per-ladder metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from videoqa.errors import DataFormatError, UsageError
from videoqa.perception.quality.dataset import (
    COMBO_EXCLUDED,
    LabeledVideo,
    clean_variants,
    combinations,
    read_manifest,
    read_source_clips,
    score_targets,
    write_manifest,
)
from videoqa.perception.quality.distort import (
    DISTORTION_KINDS,
    Distortion,
    DistortionKind,
    SourceClip,
    synthesize,
)
from videoqa.perception.quality.evaluation import video_metrics
from videoqa.perception.quality.features import unit_feature_names
from videoqa.perception.quality.model import (
    DIMENSIONS,
    QualityModel,
    combine_dimensions,
    fit_combiner,
)
from videoqa.video.reader import VideoReader

K = DistortionKind


def _dims(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Units with one dimension lowered by 0.8 per level and noisy predictions."""
    rng = np.random.default_rng(seed)
    d = np.full((n, len(DIMENSIONS)), 5.0)
    k, lv = rng.integers(0, len(DIMENSIONS), n), rng.integers(0, 6, n)
    d[np.arange(n), k] = 5.0 - 0.8 * lv
    overall = d.min(axis=1)
    return np.clip(d + rng.normal(0, 0.2, d.shape), 1, 5), overall


def test_fitted_combiner_is_monotone_in_every_dimension():
    dims, overall = _dims(400)
    w, x, y = fit_combiner(dims, overall)
    assert np.all(w >= 0) and np.all(np.diff(x) > 0) and np.all(np.diff(y) <= 0)
    assert np.all((y >= 1) & (y <= 5))
    rng = np.random.default_rng(1)
    base = rng.uniform(1, 5, (300, len(DIMENSIONS)))
    ref = combine_dimensions(base, w, x, y)
    for k in range(len(DIMENSIONS)):
        up = base.copy()
        up[:, k] = np.minimum(up[:, k] + rng.uniform(0, 2, 300), 5)
        assert np.all(combine_dimensions(up, w, x, y) >= ref - 1e-12)  # never lower
    # it reproduces the single-distortion targets
    fit = combine_dimensions(dims, w, x, y)
    assert np.corrcoef(fit, overall)[0, 1] > 0.95


def test_model_with_combiner_round_trips_and_uses_it(tmp_path):
    rng = np.random.default_rng(0)
    d, h = len(unit_feature_names()), 6
    arrays = {
        "mean": np.zeros(d), "std": np.ones(d), "w1": rng.normal(0, 0.1, (h, d)),
        "b1": np.zeros(h), "wc": rng.normal(0, 1, (10, h)), "bc": np.zeros(10),
        "ws": rng.normal(0, 1, (6, h)), "bs": np.zeros(6),
    }  # fmt: skip
    plain = QualityModel(tuple(unit_feature_names()), **arrays)
    dims, overall = _dims(200)
    model = plain.with_combiner(*fit_combiner(dims, overall))
    x = rng.normal(0, 3, (7, d))
    pred = model.predict(x)
    assert np.allclose(pred.scores[:, 0], combine_dimensions(pred.scores[:, 1:], model.combine_w,
                                                              model.iso_x, model.iso_y))  # fmt: skip
    assert np.allclose(pred.scores[:, 1:], plain.predict(x).scores[:, 1:])
    model.save_pretrained(tmp_path / "m")
    back = QualityModel.load(tmp_path / "m")
    assert back.has_combiner and np.array_equal(back.iso_y, model.iso_y)
    assert np.allclose(back.predict(x).scores, pred.scores)
    assert not QualityModel.load(_saved(plain, tmp_path / "p")).has_combiner
    with pytest.raises(ValueError):
        plain.with_combiner(-np.ones(5), model.iso_x, model.iso_y)
    with pytest.raises(ValueError):
        plain.with_combiner(model.combine_w, model.iso_x, model.iso_y[::-1])


def _saved(model, path):
    model.save_pretrained(path)
    return path


def test_combination_targets_add_impairments():
    one = score_targets(K.BLUR, 2)
    assert one.tolist() == pytest.approx([3.4, 3.4, 5, 5, 5, 5])
    both = score_targets(K.BLUR, 2, K.NOISE, 3)
    assert both.tolist() == pytest.approx([max(1.0, 5 - 1.6 - 2.4), 3.4, 2.6, 5, 5, 5])
    same_dim = score_targets(K.STUTTER, 2, K.SHAKE, 4)  # one dimension: the larger drop
    assert same_dim[5] == pytest.approx(5 - 3.2) and same_dim[0] == pytest.approx(5 - 3.2)
    assert score_targets(K.NONE, 0).tolist() == [5.0] * 6


def test_combinations_are_deterministic_distinct_and_allowed(carphone_pristine):
    clip = SourceClip(path=carphone_pristine, source="carphone", clip_id="a")
    a = combinations(clip, 6, list(DISTORTION_KINDS))
    assert a == combinations(clip, 6, list(DISTORTION_KINDS))
    assert len(a) == 6 and len({(x.kind, y.kind) for x, y in a}) == 6
    for x, y in a:
        assert x.kind != y.kind and frozenset({x.kind, y.kind}) not in COMBO_EXCLUDED
        assert 2 <= x.level <= 4 and 2 <= y.level <= 4
    other = SourceClip(path=carphone_pristine, source="carphone", clip_id="b")
    assert combinations(other, 6, list(DISTORTION_KINDS)) != a


def _luma(path: Path) -> np.ndarray:
    with VideoReader(path) as reader:
        f = reader.read_all().frames.astype(np.float64)
    return f.mean(axis=3)


def test_mpeg4_ladder_and_two_way_synthesis(carphone_pristine, tmp_path):
    clip = SourceClip(path=carphone_pristine, source="carphone", start=1.0, duration=0.4)
    ref = _luma(synthesize(clip, Distortion(kind=K.NONE), tmp_path / "p.mp4"))
    errors = []
    for level in (1, 3, 5):
        out = synthesize(clip, Distortion(kind=K.COMPRESSION, level=level, codec="mpeg4"),
                         tmp_path / f"m{level}.mp4")  # fmt: skip
        with VideoReader(out) as reader:
            assert reader.info.codec == "mpeg4"
        errors.append(np.abs(_luma(out) - ref).mean())
    assert errors[0] < errors[1] < errors[2]
    dark = _luma(synthesize(clip, Distortion(kind=K.UNDEREXPOSURE, level=3), tmp_path / "u.mp4"))
    both = _luma(synthesize(clip, [Distortion(kind=K.UNDEREXPOSURE, level=3),
                                   Distortion(kind=K.NOISE, level=5)], tmp_path / "un.mp4"))  # fmt: skip
    assert both.mean() == pytest.approx(dark.mean(), abs=2.0)  # the exposure is kept
    assert (
        np.abs(np.diff(both, axis=2)).mean() > np.abs(np.diff(dark, axis=2)).mean() + 2
    )  # + noise
    with pytest.raises(UsageError):
        synthesize(clip, [Distortion(kind=K.NOISE), Distortion(kind=K.NOISE, level=2)],
                   tmp_path / "x.mp4")  # fmt: skip
    with pytest.raises(ValueError):
        Distortion(kind=K.COMPRESSION, codec="h266")


def test_source_lists_and_clean_variants(carphone_pristine, tmp_path):
    rows = [
        {"path": str(carphone_pristine), "source": "carphone", "clip_id": "c0"},
        {"path": "rel.mp4", "source": "photo", "clip_id": "p0", "duration": 1.0},
    ]
    (tmp_path / "sources.json").write_text(json.dumps(rows))
    clips = read_source_clips(tmp_path / "sources.json")
    assert clips[1].path == tmp_path / "rel.mp4" and clips[0].name == "carphone_c0"
    (tmp_path / "bad.json").write_text('[{"source": "x"}]')
    with pytest.raises(DataFormatError):
        read_source_clips(tmp_path / "bad.json")
    with pytest.raises(DataFormatError):
        read_source_clips(tmp_path / "missing.json")
    variants = clean_variants(clips[:1], 3, seed=0)
    assert variants == clean_variants(clips[:1], 3, seed=0)
    assert len({v.name for v in variants}) == 3
    for v in variants:
        x, y, w, h = v.crop
        assert x + w <= 176 and y + h <= 144 and w % 2 == 0 and h % 2 == 0
        assert v.height <= h and v.source == "carphone"


def test_manifest_keeps_the_second_distortion_and_codec(tmp_path):
    videos = [
        LabeledVideo(tmp_path / "a.mp4", "c", "s", K.BLUR, 2, K.NOISE, 3),
        LabeledVideo(tmp_path / "b.mp4", "c", "s", K.COMPRESSION, 4, codec="mpeg4"),
    ]
    write_manifest(videos, tmp_path)
    assert read_manifest(tmp_path) == videos
    assert videos[0].distortions == ((K.BLUR, 2), (K.NOISE, 3))


def test_ladder_pair_and_type_metrics():
    labels, scores, classes = [], [], []
    for clip, noise in (("a", 0.0), ("b", 0.3)):
        labels.append(LabeledVideo(Path("p"), clip, "f", K.NONE, 0))
        scores.append(5.0)
        classes.append("none")
        for lv in range(1, 6):
            labels.append(LabeledVideo(Path("x"), clip, "f", K.BLUR, lv))
            scores.append(5.0 - 0.8 * lv + (noise if lv == 3 else 0.0) * 4)  # b: level 3 > 2
            classes.append("blur" if lv >= 2 else "none")
        labels.append(LabeledVideo(Path("y"), clip, "f", K.BLUR, 2, K.NOISE, 2))
        scores.append(5.5 if clip == "b" else 2.0)  # b's combination above its pristine
        classes.append("noise")
    m = video_metrics(labels, classes, np.array(scores))
    assert m.ladder_srcc["a/blur"] == pytest.approx(-1.0)
    assert -1.0 < m.ladder_srcc["b/blur"] < -0.7
    assert (m.pairs, m.pairs_correct) == (12, 11)
    assert (m.typed_videos, m.typed_correct) == (8, 8)
    assert (m.combo_videos, m.combo_correct) == (2, 2)
    assert (m.clean_videos, m.clean_recognized) == (2, 2)


def test_fit_mos_refits_the_monotone_map_only():
    from videoqa.perception.quality.calibration import fit_mos

    rng = np.random.default_rng(3)
    d, h = len(unit_feature_names()), 6
    arrays = {
        "mean": np.zeros(d), "std": np.ones(d), "w1": rng.normal(0, 0.3, (h, d)),
        "b1": np.zeros(h), "wc": rng.normal(0, 1, (10, h)), "bc": np.zeros(10),
        "ws": rng.normal(0, 1, (6, h)), "bs": np.zeros(6),
    }  # fmt: skip
    dims, overall = _dims(200)
    model = QualityModel(tuple(unit_feature_names()), **arrays).with_combiner(
        *fit_combiner(dims, overall)
    )
    videos = [rng.normal(0, 2, (1, d)) + rng.normal(0, 0.01, (3, d)) for _ in range(5)]
    imp = [((5 - model.predict(v).scores[:, 1:]) @ model.combine_w).mean() for v in videos]
    mos = 100 - 80 * (np.argsort(np.argsort(imp)) / 4)  # best MOS for the least impaired
    fitted = fit_mos(model, videos, mos, (0, 100))
    assert np.array_equal(fitted.combine_w, model.combine_w)
    assert np.all(np.diff(fitted.iso_y) <= 0)
    got = [fitted.predict(v).scores[:, 0].mean() for v in videos]
    assert np.argsort(got).tolist() == np.argsort(mos).tolist()
    assert fitted.report["mos_fit"]["videos"] == 5
