"""Stage-1 training: convergence on a tiny benchmark, metrics, matching and recall."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from tests.perception.scene_graph.conftest import TINY_CONFIG
from videoqa.perception.scene_graph.data import load_frame_set, sample_frame_indices
from videoqa.perception.scene_graph.motifs import SceneGraphPredictor
from videoqa.perception.scene_graph.train import (
    SceneGraphTrainSettings,
    _match,
    _recall_counts,
    train_scene_graph_predictor,
)


def test_sample_frame_indices() -> None:
    assert sample_frame_indices(64, 4, None).tolist() == [8, 24, 40, 56]
    picked = sample_frame_indices(64, 4, np.random.default_rng(0))
    assert [16 * i <= v < 16 * (i + 1) for i, v in enumerate(picked.tolist())] == [True] * 4
    assert sample_frame_indices(3, 8, None).tolist() == [0, 1, 2]


def test_frame_set_targets_match_the_scene_graph(sg_bench: Path) -> None:
    data = load_frame_set(sg_bench, ["val"], 4, seed=None)
    assert data.frames.shape == (4, 48, 48, 3) and data.frame_indices.tolist() == [2, 7, 12, 17]
    counts = data.object_mask.sum(1)
    assert (counts >= 1).all()
    # relations only between real, distinct objects; left_of and right_of are converse
    assert data.relations.sum() > 0
    torch.testing.assert_close(
        torch.from_numpy(data.relations[..., 0]),
        torch.from_numpy(data.relations[..., 1]).transpose(1, 2),
    )


def test_match_is_one_to_one_at_iou_half() -> None:
    gt = torch.tensor([[0.0, 0.0, 0.4, 0.4], [0.5, 0.5, 0.9, 0.9]])
    pred = torch.tensor([[0.5, 0.5, 0.9, 0.85], [0.52, 0.5, 0.9, 0.9], [0.0, 0.0, 0.1, 0.1]])
    assert _match(pred, gt) == [1, -1, -1]


def test_recall_counts_need_boxes_predicate_and_labels() -> None:
    gt_rel = torch.zeros(2, 2, 6)
    gt_rel[0, 1, 0] = gt_rel[1, 0, 1] = 1
    top = torch.tensor([[0, 0, 1], [1, 1, 0], [0, 2, 1], [1, -1, 1]])
    assert _recall_counts(top, torch.tensor([True, True]), [0, 1], gt_rel) == (2, 2)
    assert _recall_counts(top, torch.tensor([True, False]), [0, 1], gt_rel) == (0, 2)
    assert _recall_counts(top, torch.tensor([True, True]), [1, 0], gt_rel) == (0, 2)


def test_training_learns_colours_and_saves_the_best_epoch(sg_bench: Path, tmp_path: Path) -> None:
    settings = SceneGraphTrainSettings(
        model=TINY_CONFIG,
        epochs=12,
        frames_per_video=20,
        val_frames_per_video=20,
        batch_size=16,
        lr=3e-3,
        threads=1,
    )
    report = train_scene_graph_predictor(sg_bench, tmp_path, settings, show_progress=False)
    assert report.train_frames == 100 and report.val_frames == 20
    assert report.best.attribute_accuracy["color"] > 0.6  # chance: 1/8
    assert report.history[-1]["loss"] < report.history[0]["loss"]
    best = report.best
    for k in (8, 20, 50):  # recall never beats the best possible recall at K
        assert best.predicate_recall[k] <= best.recall_ceiling[k] + 1e-9
        assert best.sgcls_recall[k] <= best.predicate_recall[k]
    assert best.recall_ceiling[8] < best.recall_ceiling[50]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["best_epoch"] == report.best_epoch
    assert SceneGraphPredictor.from_pretrained(tmp_path).config == TINY_CONFIG
