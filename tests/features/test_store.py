"""FeatureStore / FeatureWriter: round trip, atomic shards, resume, refusal, merge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videoqa.errors import DataFormatError
from videoqa.features.store import (
    FeatureNotFoundError,
    FeatureStore,
    FeatureStoreError,
    FeatureWriter,
    StoreMeta,
    StoreMismatchError,
    VideoFeatures,
    finished_shards,
)

META = StoreMeta(encoder="fake", sampler="uniform", frames=4, dim=3, patch_dim=2, num_patches=5)


def _features(video_id: str, seed: int, t: int = 4) -> VideoFeatures:
    rng = np.random.default_rng(seed)
    return VideoFeatures(
        video_id=video_id,
        frames=rng.normal(size=(t, 3)).astype(np.float32),
        times=np.arange(t) * 0.25 + 0.125,
        frame_indices=np.arange(t, dtype=np.int64) * 2 + 1,
        patches=rng.normal(size=(t, 5, 2)).astype(np.float32),
    )


def test_round_trip_values_dtypes_shapes(tmp_path: Path) -> None:
    ids = ["a", "b/with slash", "c%odd", "d"]
    with FeatureWriter(tmp_path, META, shard_size=3) as writer:
        for k, vid in enumerate(ids):
            writer.add(_features(vid, k))
    assert [p.name for p in finished_shards(tmp_path)] == ["r0000-000000.h5", "r0000-000001.h5"]
    with FeatureStore(tmp_path) as store:
        assert store.meta == META
        assert len(store) == 4 and store.ids() == sorted(ids) and "b/with slash" in store
        for k, vid in enumerate(ids):
            want, got = _features(vid, k), store.get(vid)
            assert got.frames.dtype == np.float32 and got.frames.shape == (4, 3)
            assert got.times.dtype == np.float64 and got.frame_indices.dtype == np.int64
            assert got.patches is not None and got.patches.shape == (4, 5, 2)
            np.testing.assert_array_equal(got.frames, want.frames)
            np.testing.assert_array_equal(got.patches, want.patches)
            np.testing.assert_array_equal(got.times, want.times)
            np.testing.assert_array_equal(got.frame_indices, [1, 3, 5, 7])
        stacked = store.frames_array(["d", "a"])
        assert stacked.shape == (2, 4, 3)
        np.testing.assert_array_equal(stacked[1], _features("a", 0).frames)
        with pytest.raises(FeatureNotFoundError):
            store.get("zzz")


def test_frames_array_refuses_ragged(tmp_path: Path) -> None:
    with FeatureWriter(tmp_path, META) as writer:
        writer.add(_features("a", 0, t=4))
        writer.add(_features("b", 1, t=3))
    with FeatureStore(tmp_path) as store, pytest.raises(FeatureStoreError, match="frame count"):
        store.frames_array(["a", "b"])


def test_not_a_store(tmp_path: Path) -> None:
    with pytest.raises(FeatureStoreError) as info:
        FeatureStore(tmp_path)
    assert isinstance(info.value, DataFormatError)


def test_shape_checks(tmp_path: Path) -> None:
    with FeatureWriter(tmp_path, META) as writer:
        bad = _features("a", 0)
        with pytest.raises(ValueError, match="D=5"):
            writer.add(
                VideoFeatures(
                    "a", np.zeros((4, 5), np.float32), bad.times, bad.frame_indices, bad.patches
                )
            )
        with pytest.raises(ValueError, match="patches"):
            writer.add(VideoFeatures("a", bad.frames, bad.times, bad.frame_indices, None))
        writer.add(bad)
        with pytest.raises(ValueError, match="already"):
            writer.add(bad)


def test_killed_run_leaves_no_visible_half_shard_and_resumes(tmp_path: Path) -> None:
    writer = FeatureWriter(tmp_path, META, shard_size=2)
    for k, vid in enumerate(["a", "b", "c"]):
        writer.add(_features(vid, k))
    # simulate a kill: the open shard ("c") is never finished
    writer._open.close()  # noqa: SLF001 - the process dies with the file open
    leftovers = sorted(p.name for p in (tmp_path / "shards").iterdir())
    assert leftovers == ["r0000-000000.h5", "r0000-000001.h5.tmp"]
    assert FeatureStore(tmp_path).ids() == ["a", "b"]  # readers ignore the .tmp
    with FeatureWriter(tmp_path, META, shard_size=2) as again:
        assert again.done_ids == {"a", "b"}
        assert not list((tmp_path / "shards").glob("*.tmp"))  # the leftover is deleted
        for k, vid in enumerate(["a", "b", "c", "d"]):
            if vid not in again.done_ids:
                again.add(_features(vid, k))
    store = FeatureStore(tmp_path)
    assert store.ids() == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(store.get("c").frames, _features("c", 2).frames)


def test_exception_inside_with_keeps_finished_videos(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), FeatureWriter(tmp_path, META, shard_size=10) as writer:
        writer.add(_features("a", 0))
        raise RuntimeError("boom")
    assert FeatureStore(tmp_path).ids() == ["a"]


def test_mismatched_meta_refused(tmp_path: Path) -> None:
    FeatureWriter(tmp_path, META).close()
    FeatureWriter(tmp_path, META.model_copy(update={"extra": {"note": 1}})).close()  # extra: free
    for change in (
        {"frames": 8},
        {"encoder": "other"},
        {"sampler": "fps(rate=1.0)"},
        {"patch_dim": None},
    ):
        with pytest.raises(StoreMismatchError, match=next(iter(change))):
            FeatureWriter(tmp_path, META.model_copy(update=change))


def test_two_ranks_merge(tmp_path: Path) -> None:
    w0 = FeatureWriter(tmp_path, META, rank=0, world_size=2)
    w1 = FeatureWriter(tmp_path, META, rank=1, world_size=2)
    for k, vid in enumerate("abcdef"):
        (w0 if k % 2 == 0 else w1).add(_features(vid, k))
    w1.close()
    # rank 1 starting again must not delete rank 0's shard in progress
    FeatureWriter(tmp_path, META, rank=1, world_size=2).close()
    w0.close()
    names = sorted(p.name for p in finished_shards(tmp_path))
    assert names == ["r0000-000000.h5", "r0001-000000.h5"]
    store = FeatureStore(tmp_path)
    assert store.ids() == list("abcdef")
    np.testing.assert_array_equal(store.get("d").frames, _features("d", 3).frames)


def test_video_features_validates_lengths() -> None:
    with pytest.raises(ValueError, match="times"):
        VideoFeatures("a", np.zeros((3, 2), np.float32), np.zeros(2), np.zeros(3, np.int64))


def test_patches_array_stacks_in_id_order(tmp_path: Path) -> None:
    with FeatureWriter(tmp_path, META) as writer:
        for k, vid in enumerate(["a", "b"]):
            writer.add(_features(vid, k))
    with FeatureStore(tmp_path) as store:
        stacked = store.patches_array(["b", "a"])
        assert stacked.shape == (2, 4, 5, 2) and stacked.dtype == np.float32
        np.testing.assert_array_equal(stacked[0], _features("b", 1).patches)


def test_patches_array_refuses_a_store_without_patches(tmp_path: Path) -> None:
    meta = META.model_copy(update={"patch_dim": None, "num_patches": None})
    with FeatureWriter(tmp_path, meta) as writer:
        f = _features("a", 0)
        writer.add(VideoFeatures("a", f.frames, f.times, f.frame_indices, None))
    with FeatureStore(tmp_path) as store, pytest.raises(FeatureStoreError, match="no patch"):
        store.patches_array(["a"])
