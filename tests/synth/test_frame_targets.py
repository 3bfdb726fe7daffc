"""Probe targets of the CNN frame encoder from scene-graph objects (label space, counts,
centroids, occupancy), and the split's decoded frames."""

from __future__ import annotations

import numpy as np
import pytest

from videoqa.encoders.cnn_probes import FrameTargets, chance_predictions, probe_metrics
from videoqa.errors import DataFormatError, UsageError
from videoqa.synth.frame_targets import (
    ATTRIBUTE_GROUPS,
    ATTRIBUTE_LABELS,
    frame_targets,
    split_videos,
)


def _objects():
    return [
        {
            "color": "red",
            "shape": "square",
            "material": "metal",
            "size": "small",
            "center": [10, 10],
        },
        {"color": "red", "shape": "star", "material": "matte", "size": "large", "center": [90, 30]},
    ]


def test_frame_targets_by_hand() -> None:
    t = frame_targets(_objects(), 100.0, 100.0, grid=2)
    red = ATTRIBUTE_LABELS.index(("color", "red"))
    star = ATTRIBUTE_LABELS.index(("shape", "star"))
    assert len(ATTRIBUTE_LABELS) == 19 and t.presence.sum() == 7  # red counted once
    assert t.count.tolist() == [2]
    np.testing.assert_allclose(t.centroid[0, red], [0.5, 0.2])  # mean of both red objects
    np.testing.assert_allclose(t.centroid[0, star], [0.9, 0.3])
    assert t.occupancy[0, 0, red] == 1 and t.occupancy[0, 1, red] == 1  # cells (0,0), (0,1)
    assert t.occupancy[0, 0, star] == 0 and t.occupancy[0, 1, star] == 1
    assert t.occupancy[0, 2:].sum() == 0
    assert frame_targets(_objects() * 3, 100.0, 100.0, grid=2, max_count=4).count.tolist() == [4]
    with pytest.raises(DataFormatError):
        frame_targets([{"color": "red"}], 100.0, 100.0, grid=2)


def test_groups_cover_the_labels_and_metrics_of_a_perfect_prediction() -> None:
    assert list(ATTRIBUTE_GROUPS) == ["size", "color", "material", "shape"]
    assert sorted(c for cols in ATTRIBUTE_GROUPS.values() for c in cols) == list(range(19))
    tgt = FrameTargets.stack(
        [frame_targets(_objects(), 100.0, 100.0, 2), frame_targets(_objects()[:1], 100.0, 100.0, 2)]
    )
    perfect = {
        "presence": tgt.presence,
        "count": tgt.count,
        "occupancy": tgt.occupancy,
        "centroid": tgt.centroid,
    }
    scores = probe_metrics(perfect, tgt, 100.0, ATTRIBUTE_GROUPS)
    assert scores["presence_exact"] == scores["count"] == scores["occupancy_f1"] == 1.0
    assert scores["centroid_mae_px"] == 0.0
    chance = probe_metrics(chance_predictions(tgt, tgt), tgt, 100.0, ATTRIBUTE_GROUPS)
    assert chance["count"] == 0.5  # majority count of [2, 1] is 1 (the first of a tie)
    assert chance["centroid_mae_px"] > 0  # the mean of (0.5, 0.2) and (0.1, 0.1) for red


def test_split_videos_refuses_an_empty_split(tmp_path) -> None:
    (tmp_path / "scene_graphs").mkdir()
    (tmp_path / "scene_graphs" / "val_00001.json").write_text("{}")
    (tmp_path / "scene_graphs" / "val_00000.json").write_text("{}")
    assert split_videos(tmp_path, "val") == ["val_00000", "val_00001"]
    assert split_videos(tmp_path, "val", 1) == ["val_00000"]
    with pytest.raises(UsageError, match="train"):
        split_videos(tmp_path, "train")
