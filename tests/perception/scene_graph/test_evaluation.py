"""Frames and targets of the ground-truth scene graphs, the label space they are indexed
in, and the evaluation's matching and recall."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.perception.scene_graph.conftest import SYNTH_LABELS, TINY_CONFIG
from videoqa.errors import DataFormatError
from videoqa.perception.scene_graph.config import SceneGraphLabels
from videoqa.perception.scene_graph.data import (
    FrameAnnotation,
    frame_targets,
    load_frame_set,
    sample_frame_indices,
)
from videoqa.perception.scene_graph.evaluation import (
    _match,
    _recall_counts,
    evaluate_scene_graphs,
)
from videoqa.perception.scene_graph.motifs import SceneGraphPredictor


def test_sample_frame_indices() -> None:
    assert sample_frame_indices(64, 4, None).tolist() == [8, 24, 40, 56]
    picked = sample_frame_indices(64, 4, np.random.default_rng(0))
    assert [16 * i <= v < 16 * (i + 1) for i, v in enumerate(picked.tolist())] == [True] * 4
    assert sample_frame_indices(3, 8, None).tolist() == [0, 1, 2]


def test_the_benchmark_writes_its_label_space(sg_bench: Path) -> None:
    raw = json.loads((sg_bench / "scene_graph_labels.json").read_text())
    assert SceneGraphLabels.model_validate(raw) == SYNTH_LABELS
    assert list(SYNTH_LABELS.attributes) == ["shape", "color", "size", "material"]
    assert SYNTH_LABELS.attribute_sizes == (6, 8, 2, 3) and len(SYNTH_LABELS.predicates) == 6


def test_frame_set_targets_match_the_scene_graph(sg_bench: Path) -> None:
    data = load_frame_set(sg_bench, ["val"], 4, SYNTH_LABELS, seed=None)
    assert data.frames.shape == (4, 48, 48, 3) and data.frame_indices.tolist() == [2, 7, 12, 17]
    counts = data.object_mask.sum(1)
    assert (counts >= 1).all()
    # relations only between real, distinct objects; left_of and right_of are converse
    assert data.relations.sum() > 0
    torch.testing.assert_close(
        torch.from_numpy(data.relations[..., 0]),
        torch.from_numpy(data.relations[..., 1]).transpose(1, 2),
    )
    # labels are indices into the label space: the first object of the first frame
    graph = json.loads((sg_bench / "scene_graphs" / "val_00000.json").read_text())
    first = next(f for f in graph["frames"] if f["index"] == 2)["objects"][0]
    want = [SYNTH_LABELS.value_index(n, first[n]) for n in SYNTH_LABELS.attribute_names]
    assert data.labels[0, 0].tolist() == want


def test_frame_targets_in_another_label_space() -> None:
    labels = SceneGraphLabels(attributes={"kind": ("cat", "dog")}, predicates=("near", "on"))
    frame = FrameAnnotation(
        index=0,
        objects=[{"id": 4, "bbox": [0, 0, 10, 20], "kind": "dog"},
                 {"id": 7, "bbox": [10, 10, 20, 20], "kind": "cat", "colour": "ignored"}],
        relations=[(7, "on", 4)],
    )  # fmt: skip
    boxes, mask, target, rel = frame_targets(frame, 20, 20, 3, labels)
    assert target[:, 0].tolist() == [1, 0, -1] and mask.tolist() == [True, True, False]
    np.testing.assert_allclose(boxes[0], [0, 0, 0.5, 1.0])
    assert rel[1, 0].tolist() == [0.0, 1.0] and rel.sum() == 1
    bad = FrameAnnotation(index=3, objects=[{"id": 1, "bbox": [0, 0, 1, 1], "kind": "cow"}])
    with pytest.raises(DataFormatError, match="frame 3.*cow"):
        frame_targets(bad, 20, 20, 3, labels)


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


def test_evaluation_bounds_and_names(sg_bench: Path) -> None:
    torch.manual_seed(0)
    data = load_frame_set(sg_bench, ["val"], 6, SYNTH_LABELS, seed=None)
    metrics = evaluate_scene_graphs(SceneGraphPredictor(TINY_CONFIG), data, batch_size=4)
    assert metrics.frames == 6 and set(metrics.attribute_accuracy) == set(SYNTH_LABELS.attributes)
    for k in (8, 20, 50):  # recall never beats the best possible recall at K
        assert metrics.predicate_recall[k] <= metrics.recall_ceiling[k] + 1e-9
        assert metrics.sgcls_recall[k] <= metrics.predicate_recall[k]
    assert 0.0 <= metrics.score <= 1.0
