"""Per-second units of a real video and their interleaved token sequence."""

from __future__ import annotations

import numpy as np
import pytest

from videoqa.errors import VideoNotFoundError
from videoqa.perception.quality.features import extract_quality_features, unit_feature_names
from videoqa.perception.quality.tokens import (
    KEYFRAME_PLACEHOLDER,
    MOTION_PLACEHOLDER,
    TokenKind,
    interleave,
    placeholder_text,
    split_units,
)


def test_units_cover_the_video_once_per_second(pristine_features):
    feats = pristine_features
    units = feats.units
    assert len(units) == 4  # 4.0 s at 1 keyframe per second
    assert units[0].start == 0.0
    assert units[-1].end == pytest.approx(feats.info.duration)
    for a, b in zip(units[:-1], units[1:], strict=True):
        assert a.end == b.start
        assert a.start <= a.keyframe_time < a.end
    assert feats.matrix().shape == (4, len(unit_feature_names())) == (4, 59)
    assert np.all(np.isfinite(feats.matrix()))
    assert feats.compute_seconds > 0


def test_chunk_size_does_not_change_features(carphone_pristine, pristine_features):
    small_chunks = extract_quality_features(carphone_pristine, chunk_frames=7)
    assert np.allclose(small_chunks.matrix(), pristine_features.matrix())


def test_compressed_twin_has_blockier_keyframes(pristine_features, distorted_features):
    names = unit_feature_names()
    block = names.index("spatial.blockiness")
    assert (
        distorted_features.matrix()[:, block].mean()
        > pristine_features.matrix()[:, block].mean() + 0.1
    )


def test_missing_video_raises(tmp_path):
    with pytest.raises(VideoNotFoundError):
        extract_quality_features(tmp_path / "nope.mp4")


def test_interleaved_sequence(pristine_features):
    seq = interleave(pristine_features)
    assert len(seq) == 8
    assert [t.kind for t in seq.tokens] == [TokenKind.KEYFRAME, TokenKind.MOTION] * 4
    assert [t.unit for t in seq.tokens] == [0, 0, 1, 1, 2, 2, 3, 3]
    mat = seq.matrix()
    assert mat.shape == (8, 2 + seq.keyframe_dim + seq.motion_dim) == (8, 61)
    assert mat[0, :2].tolist() == [1.0, 0.0] and mat[1, :2].tolist() == [0.0, 1.0]
    assert np.allclose(mat[0, 2 : 2 + 47], pristine_features.units[0].spatial.vector())
    assert np.allclose(mat[1, 2 + 47 :], pristine_features.units[0].motion.vector())
    assert np.all(mat[0, 2 + 47 :] == 0) and np.all(mat[1, 2 : 2 + 47] == 0)
    assert (
        seq.placeholders() == placeholder_text(4) == (KEYFRAME_PLACEHOLDER + MOTION_PLACEHOLDER) * 4
    )
    pairs = split_units(seq)
    assert len(pairs) == 4 and pairs[2][0].unit == 2


def test_split_units_rejects_a_broken_sequence(pristine_features):
    from videoqa.perception.quality.tokens import TokenSequence

    seq = interleave(pristine_features)
    with pytest.raises(ValueError):
        split_units(TokenSequence(seq.tokens[1:]))
    with pytest.raises(ValueError):
        placeholder_text(0)


def _write(path, frames: int, size: int) -> None:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        rng = np.random.default_rng(0)
        for i in range(frames):
            img = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_single_frame_video_gives_one_unit(tmp_path):
    path = tmp_path / "one.mp4"
    _write(path, 1, 32)
    feats = extract_quality_features(path)
    assert len(feats.units) == 1
    assert feats.units[0].motion.frame_diff == 0.0  # no step between frames
    assert np.all(np.isfinite(feats.matrix()))


def test_tiny_frames_are_unsupported(tmp_path):
    from videoqa.errors import UnsupportedVideoError

    path = tmp_path / "tiny.mp4"
    _write(path, 3, 8)
    with pytest.raises(UnsupportedVideoError):
        extract_quality_features(path)
