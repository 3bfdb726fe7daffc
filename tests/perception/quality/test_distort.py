"""Distortion synthesis on a real clip (0.5 s of carphone_pristine, 176x144)."""

from __future__ import annotations

import numpy as np
import pydantic
import pytest

from videoqa.errors import UsageError, VideoNotFoundError
from videoqa.perception.quality.distort import (
    LEVEL_PARAMETERS,
    NUM_LEVELS,
    Distortion,
    DistortionKind,
    SourceClip,
    height_scale,
    synthesize,
)
from videoqa.perception.quality.natural_scene import to_luma
from videoqa.perception.quality.spatial import blur_index
from videoqa.video.reader import VideoReader


@pytest.fixture(scope="module")
def clip(carphone_pristine) -> SourceClip:
    return SourceClip(path=carphone_pristine, source="carphone", start=1.0, duration=0.5)


@pytest.fixture(scope="module")
def pristine(clip, tmp_path_factory):
    path = synthesize(
        clip, Distortion(kind=DistortionKind.NONE), tmp_path_factory.mktemp("d") / "none.mp4"
    )
    with VideoReader(path) as reader:
        return reader.read_all()


def _read(path):
    with VideoReader(path) as reader:
        return reader.read_all()


def test_every_kind_has_five_increasing_or_decreasing_levels():
    assert set(LEVEL_PARAMETERS) == {k for k in DistortionKind if k is not DistortionKind.NONE}
    for kind, params in LEVEL_PARAMETERS.items():
        assert len(params) == NUM_LEVELS
        diffs = np.diff(params)
        assert np.all(diffs >= 0) or np.all(diffs <= 0), kind


def test_pristine_copy_keeps_frames_and_size(pristine):
    assert pristine.frames.shape == (15, 144, 176, 3)  # 0.5 s at 29.97 fps
    assert np.allclose(np.diff(pristine.times), 1001 / 30000, atol=1e-4)


def test_underexposure_scales_luma(clip, pristine, tmp_path):
    out = _read(
        synthesize(clip, Distortion(kind=DistortionKind.UNDEREXPOSURE, level=3), tmp_path / "u.mp4")
    )
    ratio = to_luma(out.frames[5]).mean() / to_luma(pristine.frames[5]).mean()
    assert ratio == pytest.approx(LEVEL_PARAMETERS[DistortionKind.UNDEREXPOSURE][2], abs=0.03)


def test_blur_applies_only_inside_its_time_range(clip, pristine, tmp_path):
    d = Distortion(kind=DistortionKind.BLUR, level=5, start=0.25)
    out = _read(synthesize(clip, d, tmp_path / "b.mp4"))
    before = [blur_index(to_luma(f)) for f in pristine.frames]
    after = [blur_index(to_luma(f)) for f in out.frames]
    assert after[2] == pytest.approx(before[2], abs=0.03)  # t = 0.07 s: untouched
    assert after[12] > before[12] + 0.1  # t = 0.40 s: blurred


def test_stutter_odd_level_repeats_even_level_drops(clip, pristine, tmp_path):
    odd = _read(
        synthesize(clip, Distortion(kind=DistortionKind.STUTTER, level=3), tmp_path / "s3.mp4")
    )
    assert len(odd) == len(pristine)  # constant rate, pictures repeated
    diffs = np.abs(np.diff(odd.frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert np.sum(diffs < 0.5) >= 5
    even = _read(
        synthesize(clip, Distortion(kind=DistortionKind.STUTTER, level=4), tmp_path / "s4.mp4")
    )
    assert len(even) < len(pristine) / 2  # frames dropped: presentation-time gaps
    assert np.max(np.diff(even.times)) >= 3 * 1001 / 30000 - 1e-4


def test_compression_makes_a_smaller_file(clip, tmp_path):
    light = synthesize(clip, Distortion(kind=DistortionKind.NONE), tmp_path / "n.mp4")
    heavy = synthesize(
        clip, Distortion(kind=DistortionKind.COMPRESSION, level=5), tmp_path / "c.mp4"
    )
    assert heavy.stat().st_size * 10 < light.stat().st_size


def test_same_seed_same_noise(clip, tmp_path):
    d = Distortion(kind=DistortionKind.NOISE, level=2)
    a = _read(synthesize(clip, d, tmp_path / "a.mp4", seed=5))
    b = _read(synthesize(clip, d, tmp_path / "b.mp4", seed=5))
    assert np.array_equal(a.frames, b.frames)


def test_validation():
    with pytest.raises(pydantic.ValidationError):
        Distortion(kind=DistortionKind.BLUR, level=6)
    assert Distortion(kind=DistortionKind.NONE).parameter() == 0.0
    assert (
        Distortion(kind=DistortionKind.BLUR, level=2).parameter()
        == LEVEL_PARAMETERS[DistortionKind.BLUR][1]
    )
    assert height_scale(720) == 2.0 and height_scale(144) == 0.5 and height_scale(4000) == 3.0


def test_bad_clips(tmp_path, carphone_pristine):
    missing = SourceClip(path=tmp_path / "x.mp4", source="x")
    with pytest.raises(VideoNotFoundError):
        synthesize(missing, Distortion(kind=DistortionKind.NONE), tmp_path / "o.mp4")
    odd_crop = SourceClip(path=carphone_pristine, source="c", crop=(0, 0, 33, 32))
    with pytest.raises(UsageError):
        synthesize(odd_crop, Distortion(kind=DistortionKind.NONE), tmp_path / "o.mp4")
    past_end = SourceClip(path=carphone_pristine, source="c", start=50.0, duration=1.0)
    with pytest.raises(UsageError):
        synthesize(past_end, Distortion(kind=DistortionKind.NONE), tmp_path / "o.mp4")
