"""The training data: extra pristine variants (crop, downscale, mirror), the
training set's concatenation, selection and checks (the ``none`` class weight and the
cross-validation restricted to scored videos train models: tests/recipes/test_quality.py)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.perception.quality.toy_sets import toy_set
from videoqa.errors import UsageError
from videoqa.perception.quality.dataset import (
    VARIANT_SOURCES,
    TrainingSet,
    pristine_variants,
)
from videoqa.perception.quality.distort import Distortion, DistortionKind, SourceClip, synthesize
from videoqa.perception.quality.features import unit_feature_names
from videoqa.video.reader import VideoReader
from videoqa.video.samples import sample_video

D = len(unit_feature_names())
NONE = DistortionKind.NONE


def _frames(path: Path) -> np.ndarray:
    with VideoReader(path) as reader:
        return reader.read_all().frames


def test_crop_downscale_and_mirror(carphone_pristine, tmp_path):
    kw = dict(path=carphone_pristine, source="carphone", start=1.0, duration=0.5)
    plain = SourceClip(**kw, crop=(16, 16, 144, 112), height=56)
    mirrored = SourceClip(**kw, crop=(16, 16, 144, 112), height=56, hflip=True)
    assert plain.name != mirrored.name
    assert plain.name != SourceClip(**kw, crop=(16, 16, 144, 112)).name
    none = Distortion(kind=NONE)
    a = _frames(synthesize(plain, none, tmp_path / "a.mp4"))
    b = _frames(synthesize(mirrored, none, tmp_path / "b.mp4"))
    # 144x112 crop scaled to 56 rows: 72 columns; 0.5 s at 29.97 fps.
    assert a.shape == b.shape == (15, 56, 72, 3)
    a, b = a.astype(float), b.astype(float)
    assert np.abs(a[:, :, ::-1] - b).mean() < 3.0  # mirror images, up to coding
    assert np.abs(a - b).mean() > 3 * np.abs(a[:, :, ::-1] - b).mean()


def test_pristine_variants_are_deterministic_valid_and_distinct():
    clips = pristine_variants(per_source=6, seed=3)
    assert clips == pristine_variants(per_source=6, seed=3)
    assert clips != pristine_variants(per_source=6, seed=4)
    assert len(clips) == 18 and len({c.name for c in clips}) == 18
    assert [c.source for c in clips] == [s for s in VARIANT_SOURCES for _ in range(6)]
    for clip in clips:
        sample, seconds = VARIANT_SOURCES[clip.source]
        assert clip.path == sample_video(sample) and clip.duration == seconds
        with av.open(str(clip.path)) as container:
            stream = container.streams.video[0]
            width, height = stream.width, stream.height
            duration = container.duration / 1e6
        x, y, w, h = clip.crop
        assert w % 2 == h % 2 == 0 and w >= width // 2 - 1 and h >= height // 2 - 1
        assert 0 <= x <= width - w and 0 <= y <= height - h
        assert clip.start + clip.duration <= duration
        assert clip.height is None or 64 <= clip.height < h


def test_concat_shifts_video_indices():
    a = toy_set([("s0", NONE, 0.0), ("s0", DistortionKind.BLUR, 4.0)])
    b = toy_set([("s1", NONE, 0.0)])
    both = a.concat(b)
    assert both.videos == a.videos + b.videos
    assert both.video.tolist() == [0, 0, 1, 1, 2, 2]
    assert both.sources().tolist() == ["s0"] * 4 + ["s1"] * 2
    assert np.array_equal(both.features[4:], b.features)


def test_select_keeps_the_videos() -> None:
    data = toy_set([("s0", NONE, 0.0), ("s1", DistortionKind.BLUR, 4.0), ("s0", NONE, 0.0)])
    part = data.select(data.sources() == "s0")
    assert part.video.tolist() == [0, 0, 2, 2] and part.videos == data.videos
    assert part.sources().tolist() == ["s0"] * 4


def test_inconsistent_training_sets_are_refused() -> None:
    data = toy_set([("s0", NONE, 0.0), ("s0", DistortionKind.BLUR, 4.0)])
    with pytest.raises(UsageError, match="inconsistent"):
        TrainingSet(data.features, data.classes[:-1], data.scores, data.video, data.videos)
    with pytest.raises(UsageError, match="video indices"):
        TrainingSet(data.features, data.classes, data.scores, data.video + 5, data.videos)
    with pytest.raises(UsageError, match="class indices"):
        TrainingSet(data.features, data.classes + 20, data.scores, data.video, data.videos)
