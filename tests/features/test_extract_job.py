"""extract_features on a tiny rendered benchmark: values, resume, ranks, corrupt videos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from videoqa.encoders.cnn import CNNConfig, CNNFrameEncoder
from videoqa.errors import UsageError
from videoqa.features.extract import (
    CNNEncoderAdapter,
    ImageTextFrameEncoder,
    VideoJob,
    decode_video,
    extract_features,
    load_frame_encoder,
    read_errors,
    sampler_label,
    videos_from_benchmark,
)
from videoqa.features.store import FeatureStore, StoreMismatchError

SMALL_CNN = CNNConfig(image_size=32, channels=(4, 4, 4, 4), patch_dim=3, embed_dim=8)


@pytest.fixture(scope="module")
def cnn() -> CNNEncoderAdapter:
    import torch

    torch.manual_seed(0)
    return CNNEncoderAdapter(CNNFrameEncoder(SMALL_CNN), name="cnn:test", patches=True)


@pytest.fixture(scope="module")
def jobs(tiny_bench: Path) -> list[VideoJob]:
    return videos_from_benchmark("synthetic", tiny_bench, splits=["all"])


def test_all_splits_listed(jobs: list[VideoJob]) -> None:
    ids = [j.video_id for j in jobs]
    assert ids == sorted(ids) and len(ids) == 8
    assert {i.split("_")[0] for i in ids} == {"train", "val", "test", "comp"}


def test_features_equal_direct_encoding(tmp_path: Path, jobs: list[VideoJob], cnn) -> None:
    report = extract_features(
        jobs, tmp_path, cnn, frames=5, rank=0, world_size=1, batch_frames=7, shard_size=3
    )
    assert (report.extracted, report.skipped, report.failed, report.frames) == (8, 0, [], 40)
    assert len(report.shards) == 3  # 3 + 3 + 2 videos
    store = FeatureStore(tmp_path)
    assert store.meta.sampler == "uniform" and store.meta.num_patches == 4
    for job in jobs[:3]:
        got = store.get(job.video_id)
        batch = decode_video(job, "uniform", 5, size=(32, 32))
        frames, patches = cnn.encode(batch.frames)
        np.testing.assert_allclose(got.frames, frames, atol=1e-5)
        np.testing.assert_allclose(got.patches, patches, atol=1e-5)
        # 20 frames at 8 fps, 5 uniform segments of 4 frames: the frames under the centres
        np.testing.assert_array_equal(got.frame_indices, [2, 6, 10, 14, 18])
        np.testing.assert_allclose(got.times, np.array([2, 6, 10, 14, 18]) / 8.0)


def test_resume_after_partial_run(tmp_path: Path, jobs: list[VideoJob], cnn) -> None:
    first = extract_features(jobs[:3], tmp_path, cnn, frames=4, rank=0, world_size=1)
    (tmp_path / "shards" / "r0000-000009.h5.tmp").write_bytes(b"half a shard")
    second = extract_features(jobs, tmp_path, cnn, frames=4, rank=0, world_size=1)
    assert (first.extracted, second.extracted, second.skipped) == (3, 5, 3)
    assert FeatureStore(tmp_path).ids() == [j.video_id for j in jobs]
    assert not list((tmp_path / "shards").glob("*.tmp"))
    with pytest.raises(StoreMismatchError):
        extract_features(jobs, tmp_path, cnn, frames=8, rank=0, world_size=1)


def test_two_ranks_cover_every_video_once(tmp_path: Path, jobs: list[VideoJob], cnn) -> None:
    r0 = extract_features(jobs, tmp_path, cnn, frames=3, rank=0, world_size=2)
    r1 = extract_features(jobs, tmp_path, cnn, frames=3, rank=1, world_size=2)
    assert (r0.extracted, r1.extracted) == (4, 4)
    ids = [j.video_id for j in jobs]
    assert r0.shards == ["r0000-000000.h5"] and r1.shards == ["r0001-000000.h5"]
    assert FeatureStore(tmp_path).ids() == ids
    again = extract_features(jobs, tmp_path, cnn, frames=3, rank=0, world_size=1)
    assert (again.extracted, again.skipped) == (0, 8)


def test_corrupt_and_missing_videos_reported_and_skipped(
    tmp_path: Path, tiny_bench: Path, jobs: list[VideoJob], cnn
) -> None:
    videos = tmp_path / "videos"
    shutil.copytree(tiny_bench / "videos", videos)
    (videos / "train_00001.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    (videos / "val_00000.mp4").unlink()
    moved = [VideoJob(j.video_id, videos / f"{j.video_id}.mp4") for j in jobs]
    moved.append(VideoJob("no_file", None))
    report = extract_features(moved, tmp_path / "store", cnn, frames=4, rank=0, world_size=1)
    failed = {f.video_id: f.reason for f in report.failed}
    assert set(failed) == {"train_00001", "val_00000", "no_file"}
    assert "Corrupt" in failed["train_00001"] and "NotFound" in failed["val_00000"]
    assert report.extracted == 6
    assert len(FeatureStore(tmp_path / "store")) == 6
    assert [e.video_id for e in read_errors(tmp_path / "store")] == sorted(failed)
    line = json.loads((tmp_path / "store" / "errors.jsonl").read_text().splitlines()[0])
    assert set(line) == {"video_id", "reason", "error", "file"}
    assert {e.video_id: e.error for e in read_errors(tmp_path / "store")} == {
        "no_file": "VideoError",
        "train_00001": "CorruptVideoError",
        "val_00000": "VideoNotFoundError",
    }


def _damaged_copy(tmp_path: Path, tiny_bench: Path, jobs: list[VideoJob]) -> list[VideoJob]:
    """The jobs on a copy of the videos with one corrupt, one missing, one without file."""
    videos = tmp_path / "videos"
    shutil.copytree(tiny_bench / "videos", videos)
    (videos / "train_00001.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    (videos / "val_00000.mp4").unlink()
    moved = [VideoJob(j.video_id, videos / f"{j.video_id}.mp4") for j in jobs]
    return [*moved, VideoJob("no_file", None)]


def _error_lines(store: Path) -> list[dict]:
    return [json.loads(line) for line in (store / "errors.jsonl").read_text().splitlines()]


def test_reruns_keep_one_error_line_per_video(
    tmp_path: Path, tiny_bench: Path, jobs: list[VideoJob], cnn
) -> None:
    moved, store = _damaged_copy(tmp_path, tiny_bench, jobs), tmp_path / "store"
    # killed after 3 videos: the resume adds the others; still one line per failed video
    first = extract_features(moved[1:4], store, cnn, frames=4, rank=0, world_size=1)
    second = extract_features(moved, store, cnn, frames=4, rank=0, world_size=1)
    assert [f.video_id for f in first.failed] == ["train_00001"]
    assert (len(second.failed), second.extracted, second.known_bad) == (2, 4, 1)
    assert len(_error_lines(store)) == 3
    # a finished store: nothing to do, nothing retried, the error file unchanged
    before = (store / "errors.jsonl").read_bytes()
    again = extract_features(moved, store, cnn, frames=4, rank=0, world_size=1)
    assert again.nothing_to_do and (again.skipped, again.known_bad) == (6, 3)
    assert again.failed == [] and (store / "errors.jsonl").read_bytes() == before
    # retried on request: each failure replaces its line
    retried = extract_features(moved, store, cnn, frames=4, rank=0, world_size=1,
                               retry_errors=True)  # fmt: skip
    assert len(retried.failed) == 3 and len(_error_lines(store)) == 3
    # a file that changes is retried; once it reads, its line goes
    shutil.copy(tiny_bench / "videos" / "val_00000.mp4", moved[-2].path.parent)
    fixed = extract_features(moved, store, cnn, frames=4, rank=0, world_size=1)
    assert (fixed.extracted, fixed.known_bad) == (1, 2)
    assert sorted(e["video_id"] for e in _error_lines(store)) == ["no_file", "train_00001"]


def test_any_error_of_one_video_is_recorded_and_the_run_goes_on(
    tmp_path: Path, jobs: list[VideoJob], cnn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import videoqa.features.extract as extract

    real = extract.decode_video

    def flaky(job, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        if job.video_id == jobs[1].video_id:
            raise IndexError("index out of range (a damaged demuxer state)")
        return real(job, *args, **kwargs)

    monkeypatch.setattr(extract, "decode_video", flaky)
    report = extract_features(jobs, tmp_path, cnn, frames=4, rank=0, world_size=1)
    assert report.extracted == len(jobs) - 1
    assert [(f.video_id, f.error) for f in report.failed] == [(jobs[1].video_id, "IndexError")]
    # not a video error: retried by the next run, which now succeeds and clears the line
    monkeypatch.setattr(extract, "decode_video", real)
    again = extract_features(jobs, tmp_path, cnn, frames=4, rank=0, world_size=1)
    assert (again.extracted, again.known_bad) == (1, 0)
    assert not (tmp_path / "errors.jsonl").exists()


def test_an_encoder_failure_costs_only_its_video(
    tmp_path: Path, jobs: list[VideoJob], cnn, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = cnn.forward
    bad = {}

    def forward(prepared):  # noqa: ANN001
        if any(float(prepared[i].sum()) == bad.get("sum") for i in range(len(prepared))):
            raise RuntimeError("CUDA error: an illegal memory access (one video's fault)")
        return real(prepared)

    bad["sum"] = float(cnn.prepare(decode_video(jobs[2], "uniform", 4, None, (32, 32)).frames)[0].sum())
    monkeypatch.setattr(cnn, "forward", forward)
    report = extract_features(jobs, tmp_path, cnn, frames=4, batch_frames=64, rank=0, world_size=1)
    assert [(f.video_id, f.error) for f in report.failed] == [(jobs[2].video_id, "RuntimeError")]
    assert report.extracted == len(jobs) - 1


def test_per_file_time_limit_and_job_failures(
    tmp_path: Path, jobs: list[VideoJob], cnn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a limit that has passed before the first packet: every video times out, the run ends
    report = extract_features(jobs[:2], tmp_path / "a", cnn, frames=4, rank=0, world_size=1,
                              file_timeout=1e-9)  # fmt: skip
    assert [f.error for f in report.failed] == ["VideoTimeoutError"] * 2
    assert "limit of 1e-09 s" in report.failed[0].reason
    monkeypatch.setenv("VIDEOQA_FILE_TIMEOUT", "1e-9")
    assert extract_features(jobs[:1], tmp_path / "b", cnn, frames=4, rank=0,
                            world_size=1).failed[0].error == "VideoTimeoutError"  # fmt: skip
    monkeypatch.setenv("VIDEOQA_FILE_TIMEOUT", "soon")
    with pytest.raises(UsageError, match="VIDEOQA_FILE_TIMEOUT"):
        extract_features(jobs[:1], tmp_path / "c", cnn, frames=4, rank=0, world_size=1)
    monkeypatch.delenv("VIDEOQA_FILE_TIMEOUT")
    # bad arguments stop the job before any video
    with pytest.raises(UsageError, match="rate"):
        extract_features(jobs, tmp_path / "d", cnn, sampler="fps", sampler_options={"rate": -1},
                         rank=0, world_size=1)  # fmt: skip
    # a full disk stops the job
    import errno

    import videoqa.features.extract as extract

    def full(*args, **kwargs):  # noqa: ANN002, ANN003
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(extract, "decode_video", full)
    with pytest.raises(OSError, match="No space"):
        extract_features(jobs, tmp_path / "e", cnn, frames=4, rank=0, world_size=1)


def test_image_text_encoder_patches(tmp_path: Path, jobs: list[VideoJob]) -> None:
    encoder = load_frame_encoder("tiny", patches=True)
    assert isinstance(encoder, ImageTextFrameEncoder)
    report = extract_features(jobs[:2], tmp_path, encoder, frames=3, rank=0, world_size=1)
    assert report.extracted == 2
    got = FeatureStore(tmp_path).get(jobs[0].video_id)
    # tiny preset: 32 px images in 8 px patches -> 16 tokens of width 64, no class token
    assert got.frames.shape == (3, 64) and got.patches.shape == (3, 16, 64)
    np.testing.assert_allclose(np.linalg.norm(got.frames, axis=1), 1.0, atol=1e-5)
    frames = decode_video(jobs[0], "uniform", 3).frames
    direct = encoder.encoder.encode_images(frames).numpy()
    np.testing.assert_allclose(got.frames, direct, atol=1e-5)


def test_sampler_label_and_bad_ranks(jobs: list[VideoJob], cnn, tmp_path: Path) -> None:
    assert sampler_label("fps", {"rate": 1.0}) == "fps(rate=1.0)"
    assert sampler_label("uniform") == "uniform"
    with pytest.raises(UsageError):
        extract_features(jobs, tmp_path, cnn, rank=2, world_size=2)
    with pytest.raises(UsageError):
        extract_features(jobs, tmp_path, cnn, rank=0)
