"""Scene-graph prediction for SGVLM (stage 1): a Neural-Motifs-style predictor
(:mod:`.motifs`) over a label space that comes with its data (:mod:`.config`), frames
with ground-truth frame graphs (:mod:`.data`), its training losses (:mod:`.losses`,
trained by the ``sg-predictor`` recipe), SGCls/SGDet evaluation (:mod:`.evaluation`)
and a store of predicted scene graphs aligned with a frame feature store (:mod:`.store`)."""

from videoqa.perception.scene_graph.config import SceneGraphConfig, SceneGraphLabels
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
    "FrameSceneGraphs",
    "SceneGraphConfig",
    "SceneGraphFrames",
    "SceneGraphLabels",
    "SceneGraphPredictor",
    "SceneGraphStore",
    "SceneGraphStoreMeta",
    "SceneGraphWriter",
    "TripletEvidence",
    "extract_scene_graphs",
    "scene_graphs_for_frames",
]
