"""Small hand-built quality training sets shared by the dataset and recipe tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from videoqa.perception.quality.dataset import LabeledVideo, TrainingSet, score_targets
from videoqa.perception.quality.distort import DistortionKind
from videoqa.perception.quality.features import unit_feature_names
from videoqa.perception.quality.model import CLASS_NAMES

D = len(unit_feature_names())
NONE = DistortionKind.NONE


def toy_set(rows: list[tuple[str, DistortionKind, float]], seed: int = 0) -> TrainingSet:
    """One 2-unit video per row ``(source, kind, shift)``: feature 0 = shift + noise."""
    rng = np.random.default_rng(seed)
    feats, classes, scores, video, videos = [], [], [], [], []
    for i, (source, kind, shift) in enumerate(rows):
        level = 0 if kind is NONE else 4
        x = np.zeros((2, D))
        x[:, :3] = rng.normal(0.0, 0.3, (2, 3))
        x[:, 0] += shift
        feats.append(x)
        classes += [CLASS_NAMES.index(kind.value)] * 2
        scores.append(np.tile(score_targets(kind, level), (2, 1)))
        video += [i, i]
        videos.append(LabeledVideo(Path(f"v{i}.mp4"), f"c{i}", source, kind, level))
    return TrainingSet(
        np.concatenate(feats), np.array(classes), np.concatenate(scores), np.array(video),
        tuple(videos),
    )  # fmt: skip
