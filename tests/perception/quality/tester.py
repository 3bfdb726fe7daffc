"""Random quality MLP for the shared model tests (:mod:`tests.models.harness`)."""

from __future__ import annotations

import numpy as np

from tests.models.harness import ModelTester, Outputs, register_tester
from videoqa.perception.quality.model import CLASS_NAMES, SCORE_NAMES, QualityModel

U, D, H = 5, 7, 4


@register_tester
class QualityModelTester(ModelTester):
    model_type = "quality-mlp"

    def build(self, seed: int = 0) -> QualityModel:
        rng = np.random.default_rng(seed)
        c, s = len(CLASS_NAMES), len(SCORE_NAMES)
        shapes = {"mean": (D,), "w1": (H, D), "b1": (H,), "wc": (c, H), "bc": (c,),
                  "ws": (s, H), "bs": (s,)}  # fmt: skip
        arrays = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
        names = tuple(f"f{i}" for i in range(D))
        return QualityModel(names, std=rng.uniform(0.5, 2, D), report={"seed": seed}, **arrays)

    def inputs(self) -> np.ndarray:
        return np.random.default_rng(9).standard_normal((U, D)) * 3

    def run(self, model: QualityModel, inputs: np.ndarray) -> Outputs:
        pred = model.predict(inputs)
        return {"probabilities": pred.probabilities, "scores": pred.scores}

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"probabilities": (U, len(CLASS_NAMES)), "scores": (U, len(SCORE_NAMES))}
