"""Fixtures of the scene-graph predictor tests: a tiny rendered benchmark, an untrained
predictor and a feature store of the benchmark's videos to align with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from videoqa.features.store import FeatureWriter, StoreMeta, VideoFeatures
from videoqa.perception.scene_graph.config import SceneGraphConfig, SceneGraphLabels
from videoqa.perception.scene_graph.motifs import SceneGraphPredictor
from videoqa.synth.config import SynthConfig
from videoqa.synth.generate import generate_dataset
from videoqa.synth.scene_graph import label_space

#: 8 videos (5 train, 1 val, 1 test, 1 comp) of 20 frames at 48 x 48 pixels (< 1 s).
TINY_BENCH = SynthConfig(videos=8, seed=3, frames=20, size=48, fps=8.0)
#: the synthetic benchmark's label space (shape 6, colour 8, size 2, material 3; 6 predicates).
SYNTH_LABELS = SceneGraphLabels.model_validate(label_space())
#: a small predictor for 48-pixel frames.
TINY_CONFIG = SceneGraphConfig(
    image_size=48, trunk_channels=16, region_dim=32, hidden_size=16, max_objects=6, top_k=8,
    label_space=SYNTH_LABELS,
)  # fmt: skip
#: frames per video in the like-store.
LIKE_FRAMES = 4


@pytest.fixture(scope="session")
def sg_bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sgbench") / "synth"
    generate_dataset(out, TINY_BENCH, workers=1)
    return out


@pytest.fixture(scope="session")
def tiny_predictor_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return SceneGraphPredictor(TINY_CONFIG).save_pretrained(tmp_path_factory.mktemp("predictor"))


@pytest.fixture(scope="session")
def like_store(sg_bench: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A feature store with ``LIKE_FRAMES`` frames (indices 1, 6, 11, 16) per video."""
    root = tmp_path_factory.mktemp("like") / "features"
    meta = StoreMeta(
        encoder="test", sampler="uniform", frames=LIKE_FRAMES, dim=2, dataset="synthetic"
    )
    indices = np.array([1, 6, 11, 16], np.int64)
    with FeatureWriter(root, meta) as writer:
        for path in sorted((sg_bench / "videos").glob("*.mp4")):
            writer.add(
                VideoFeatures(
                    path.stem, np.zeros((LIKE_FRAMES, 2), np.float32), indices / 8.0, indices
                )
            )
    return root
