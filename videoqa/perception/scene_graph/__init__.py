"""Scene-graph prediction for SGVLM (stage 1): a Neural-Motifs-style predictor
(:mod:`.motifs`), its pretraining on synthetic frame graphs (:mod:`.train`) and a store
of predicted scene graphs aligned with a frame feature store (:mod:`.store`)."""

from videoqa.perception.scene_graph.config import SG_TOKEN_DIM, SceneGraphConfig
from videoqa.perception.scene_graph.motifs import FrameSceneGraphs, SceneGraphPredictor
from videoqa.perception.scene_graph.store import (
    SceneGraphFrames,
    SceneGraphStore,
    SceneGraphStoreMeta,
    SceneGraphWriter,
    TripletEvidence,
    extract_scene_graphs,
    scene_graphs_for_frames,
)

__all__ = [
    "SG_TOKEN_DIM",
    "FrameSceneGraphs",
    "SceneGraphConfig",
    "SceneGraphFrames",
    "SceneGraphPredictor",
    "SceneGraphStore",
    "SceneGraphStoreMeta",
    "SceneGraphWriter",
    "TripletEvidence",
    "extract_scene_graphs",
    "scene_graphs_for_frames",
]
