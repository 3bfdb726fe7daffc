"""Scene-graph store: extraction aligned with a feature store, round trip, resume,
corrupt videos, text evidence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.perception.scene_graph.conftest import LIKE_FRAMES, SYNTH_LABELS, TINY_CONFIG
from videoqa.errors import UsageError
from videoqa.features.extract import VideoJob
from videoqa.features.store import FeatureNotFoundError, FeatureStore, FeatureStoreError
from videoqa.perception.scene_graph.motifs import SceneGraphPredictor
from videoqa.perception.scene_graph.store import (
    SceneGraphFrames,
    SceneGraphStore,
    SceneGraphStoreMeta,
    SceneGraphWriter,
    extract_scene_graphs,
    scene_graphs_for_frames,
)
from videoqa.video.reader import VideoReader


def _frames(video_id: str, t: int = 2) -> SceneGraphFrames:
    k, r = 3, 2
    labels = np.full((t, r, 4), -1, np.int64)
    labels[:, 0] = [0, 0, 1, 1]  # circle, red, large, metal
    labels[:, 1] = [1, 2, 0, 0]  # square, blue, small, matte
    triplets = np.full((t, k, 3), -1, np.int64)
    triplets[:, 0], triplets[:, 1] = [1, 0, 0], [0, 3, 1]
    return SceneGraphFrames(
        video_id=video_id,
        tokens=np.zeros((t, k, SYNTH_LABELS.token_dim), np.float32),
        token_mask=np.array([[True, True, False]] * t),
        triplets=triplets,
        scores=np.array([[0.2, 0.7, 0.0]] * t, np.float32),
        boxes=np.zeros((t, r, 4), np.float32),
        object_labels=labels,
        object_mask=np.ones((t, r), bool),
        times=np.arange(t) / 4.0,
        frame_indices=np.arange(t, dtype=np.int64),
        labels=SYNTH_LABELS,
    )


def test_describe_and_evidence_sorted_by_score() -> None:
    graphs = _frames("v")
    assert graphs.describe(0, 0) == "large red metal circle"
    evidence = graphs.triplet_evidence(1)
    assert [(e.subject, e.predicate, e.object) for e in evidence] == [
        ("large red metal circle", "below", "small blue matte square"),
        ("small blue matte square", "left_of", "large red metal circle"),
    ]
    assert evidence[0].score == pytest.approx(0.7) and evidence[0].time == 0.25
    assert len(graphs.triplet_evidence(0, k=1)) == 1
    unnamed = SceneGraphFrames(**{**graphs.__dict__, "labels": None})
    with pytest.raises(UsageError, match="label space"):
        unnamed.describe(0, 0)


def test_the_store_names_objects_with_the_label_space_of_its_meta(tmp_path: Path) -> None:
    meta = SceneGraphStoreMeta(
        token_dim=SYNTH_LABELS.token_dim, top_k=3, max_objects=2,
        predicates=list(SYNTH_LABELS.predicates),
        attribute_values={k: list(v) for k, v in SYNTH_LABELS.attributes.items()},
        phrase_order=list(SYNTH_LABELS.phrase_order), num_frames=2, source="p", like="f",
    )  # fmt: skip
    with SceneGraphWriter(tmp_path / "sg", meta) as writer:
        writer.add(_frames("v"))
    graphs = SceneGraphStore(tmp_path / "sg").get("v")
    assert graphs.labels == SYNTH_LABELS and graphs.describe(0, 0) == "large red metal circle"
    assert graphs.triplet_evidence(1)[0].predicate == "below"


def test_frames_reject_bad_shapes() -> None:
    good = _frames("v")
    with pytest.raises(ValueError, match="tokens"):
        SceneGraphFrames(**{**good.__dict__, "tokens": np.zeros((2, 3, 52), np.float32)})


def test_extract_round_trip_aligned_with_the_feature_store(
    sg_bench: Path, tiny_predictor_dir: Path, like_store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sg"
    report = extract_scene_graphs(sg_bench, tiny_predictor_dir, like_store, out)
    assert (report.written, report.skipped, report.failed) == (8, 0, 0)
    store = SceneGraphStore(out)
    features = FeatureStore(like_store)
    assert store.ids() == features.ids()
    assert store.meta.token_dim == 53 and store.meta.top_k == TINY_CONFIG.top_k
    assert store.meta.num_frames == LIKE_FRAMES and store.meta.attribute_values["color"][0] == "red"
    assert store.meta.label_space == TINY_CONFIG.label_space  # the predictor's, via meta.json
    graphs = store.get("train_00001")
    assert graphs.labels == SYNTH_LABELS
    ref = features.get("train_00001")
    np.testing.assert_array_equal(graphs.frame_indices, ref.frame_indices)
    np.testing.assert_array_equal(graphs.times, ref.times)
    assert graphs.tokens.shape == (LIKE_FRAMES, TINY_CONFIG.top_k, 53)
    assert graphs.object_labels.shape == (LIKE_FRAMES, TINY_CONFIG.max_objects, 4)
    # same numbers as running the predictor on the decoded frames directly
    predictor = SceneGraphPredictor.from_pretrained(tiny_predictor_dir)
    with VideoReader(sg_bench / "videos" / "train_00001.mp4") as reader:
        batch = reader.read_indices(ref.frame_indices)
    direct = scene_graphs_for_frames(predictor, torch.from_numpy(batch.frames), ref.times)
    np.testing.assert_allclose(direct.tokens, graphs.tokens, atol=1e-6)
    with pytest.raises(FeatureNotFoundError):
        store.get("nope")


def test_resume_skips_done_videos_and_corrupt_videos_go_to_errors(
    sg_bench: Path, tiny_predictor_dir: Path, like_store: Path, tmp_path: Path
) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("train_00000", "train_00001", "val_00000"):
        shutil.copy(sg_bench / "videos" / f"{name}.mp4", videos / f"{name}.mp4")
    data = (videos / "val_00000.mp4").read_bytes()
    (videos / "val_00000.mp4").write_bytes(data[: len(data) // 3])  # truncated: corrupt
    jobs = [VideoJob(n, videos / f"{n}.mp4") for n in ("train_00000", "val_00000", "test_00000")]
    out = tmp_path / "sg"
    first = extract_scene_graphs(jobs[:1], tiny_predictor_dir, like_store, out)
    assert (first.written, first.failed) == (1, 0)
    second = extract_scene_graphs(
        jobs + [VideoJob("train_00001", videos / "train_00001.mp4")],
        tiny_predictor_dir,
        like_store,
        out,
    )
    assert (second.written, second.skipped, second.failed) == (1, 1, 2)
    assert SceneGraphStore(out).ids() == ["train_00000", "train_00001"]
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert [e["video_id"] for e in errors] == ["val_00000", "test_00000"]
    assert not list((out / "videos").glob("*.tmp"))


def test_store_without_meta_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FeatureStoreError):
        SceneGraphStore(tmp_path)
