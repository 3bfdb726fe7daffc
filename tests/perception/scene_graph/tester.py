"""Tiny scene-graph predictor for the shared model tests (:mod:`tests.models.harness`):
ground-truth boxes (SGCls), so the outputs do not hinge on random detections."""

from __future__ import annotations

import torch

from tests.models.harness import ModelTester, Outputs, register_tester
from videoqa.perception.scene_graph.config import SceneGraphConfig, SceneGraphLabels
from videoqa.perception.scene_graph.motifs import SceneGraphPredictor

N, S, R, K = 2, 48, 3, 4
#: a small label space of its own (the predictor reads no benchmark vocabulary).
LABELS = SceneGraphLabels(
    attributes={"shape": ("circle", "square"), "color": ("red", "green", "blue")},
    predicates=("left of", "above"),
)
BOXES = torch.tensor([[0.05, 0.1, 0.25, 0.3], [0.6, 0.55, 0.8, 0.75], [0.3, 0.6, 0.45, 0.8]])


@register_tester
class SceneGraphPredictorTester(ModelTester):
    model_type = "scene-graph-predictor"

    def build(self, seed: int = 0) -> SceneGraphPredictor:
        torch.manual_seed(seed)
        config = SceneGraphConfig(
            image_size=S, trunk_channels=8, region_dim=16, hidden_size=8, max_objects=R,
            top_k=K, dropout=0.0, label_space=LABELS,
        )  # fmt: skip
        return SceneGraphPredictor(config).eval()

    def inputs(self) -> torch.Tensor:
        return torch.rand(N, 3, S, S, generator=torch.Generator().manual_seed(1))

    def run(self, model: SceneGraphPredictor, inputs: torch.Tensor) -> Outputs:
        with torch.no_grad():
            graphs = model.predict(inputs, BOXES.expand(N, -1, -1))
            heatmap = model.detect(model.prepare(inputs))[0].heatmap
        return {
            "attribute_probs": graphs.attribute_probs,
            "relation_probs": graphs.relation_probs,
            "tokens": graphs.tokens,
            "heatmap": heatmap,
        }

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "attribute_probs": (N, R, LABELS.attribute_dim),
            "relation_probs": (N, R, R, len(LABELS.predicates)),
            "tokens": (N, K, LABELS.token_dim),
            "heatmap": (N, 1, S // 4, S // 4),
        }
