"""Tiny feature image-QA teacher for the shared model tests (:mod:`tests.models.harness`)."""

from __future__ import annotations

import numpy as np
import torch

from tests.models.harness import ModelTester, Outputs, register_tester
from videoqa.models.imageqa.base import FrameFeatures
from videoqa.models.imageqa.feature import FeatureTeacher, FeatureTeacherConfig, FeatureTeacherModel
from videoqa.models.text import WordTokenizer

D, P, DP = 8, 4, 6
QUESTIONS = ["what color is the cube", "how many balls"]
CANDIDATES = [["red", "blue", "green"], ["1", "2"]]


@register_tester
class FeatureTeacherTester(ModelTester):
    model_type = "feature_teacher"

    def build(self, seed: int = 0) -> FeatureTeacher:
        torch.manual_seed(seed)
        tokenizer = WordTokenizer.build(QUESTIONS + [c for cands in CANDIDATES for c in cands])
        config = FeatureTeacherConfig(
            feature_dim=D, patch_dim=DP, num_patches=P, vocab_size=tokenizer.vocab_size,
            hidden_size=16, dropout=0.0,
        )  # fmt: skip
        model = FeatureTeacherModel(config)
        # non-trivial input statistics, so the buffers' round trip is checked too
        model.set_input_stats(torch.randn(20, D) * 3 + 1, torch.randn(20, P, DP) + 2)
        return FeatureTeacher(model, tokenizer)  # the default batch size, as loaded

    def inputs(self) -> list[FrameFeatures]:
        rng = np.random.default_rng(0)
        return [
            FrameFeatures(
                rng.standard_normal((k, D)).astype(np.float32),
                rng.standard_normal((k, P, DP)).astype(np.float32),
            )
            for k in (4, 2)
        ]

    def run(self, model: FeatureTeacher, inputs: list[FrameFeatures]) -> Outputs:
        probs = model.answer_probs_many(inputs, QUESTIONS, CANDIDATES)
        return {f"probs_{i}": p for i, p in enumerate(probs)}

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"probs_0": (4, 3), "probs_1": (2, 2)}
