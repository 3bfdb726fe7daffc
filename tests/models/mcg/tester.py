"""Tiny MCG for the shared model tests (:mod:`tests.models.harness`): 2 blocks, width
32, 16-pixel frames of 4 patches, a WordPiece tokenizer trained here."""

from __future__ import annotations

from typing import Any

import torch

from tests.models.harness import ModelTester, Outputs, register_tester
from videoqa.models.mcg import MCG, MCGBatch, build_mcg, train_wordpiece_tokenizer

B, T, S = 2, 3, 16
TEXTS = [
    "what color is the small cube after it collides with the sphere ?",
    "how many objects enter the scene before the red cylinder stops ?",
    "the blue sphere bounces off the wall and leaves",
    "red blue green yellow cube sphere cylinder zero one two three",
]
QUESTIONS = ["what color is the small cube ?", "how many objects enter ?"]
CANDIDATES = [["red", "blue", "green"], ["two", "three", "zero"]]
TINY: dict[str, Any] = {
    "video": {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64,
              "image_size": S, "patch_size": 8, "num_frames": T},
    "text": {"hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64,
             "fusion_layers": 1, "decoder_layers": 1, "max_positions": 64},
    "embed_dim": 16,
    "num_frames": T,
}  # fmt: skip


def tiny_tokenizer():
    """The tester's tokenizer (deterministic; small vocabulary, so some words split)."""
    return train_wordpiece_tokenizer(TEXTS, vocab_size=60)


def tiny_mcg(seed: int = 0, **fields: Any) -> MCG:
    """A tiny MCG with weights drawn from ``seed``, in eval mode."""
    torch.manual_seed(seed)
    return build_mcg({**TINY, **fields}, tiny_tokenizer()).eval()


@register_tester
class MCGTester(ModelTester):
    model_type = "mcg"

    def build(self, seed: int = 0) -> MCG:
        return tiny_mcg(seed)

    def inputs(self) -> dict[str, Any]:
        g = torch.Generator().manual_seed(5)
        return {
            "pixels": torch.randn(B, T, 3, S, S, generator=g),
            "times": torch.tensor([[0.5, 1.5, 2.5], [0.25, 0.75, 1.25]]),
            "pad_fill": None,
        }

    def _batch(self, model: MCG, inputs: dict[str, Any]) -> MCGBatch:
        text = model.processor.text(QUESTIONS)
        assert not bool(text.attention_mask.all()), "the questions must differ in length"
        if inputs["pad_fill"] is not None:  # other ids (and token types) on the padding
            pad = ~text.attention_mask
            text.input_ids[pad] = inputs["pad_fill"]
            text.token_type_ids[pad] = 1
        return MCGBatch(inputs["pixels"], inputs["times"], text)

    def run(self, model: MCG, inputs: dict[str, Any]) -> Outputs:
        batch = self._batch(model, inputs)
        with torch.no_grad():
            _, frames = model.alignment(batch)
        return {"loglikelihood": model.loglikelihood(batch, CANDIDATES), "frame_weights": frames}

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"loglikelihood": (B, 3), "frame_weights": (B, T)}

    def perturb_hidden(self, inputs: dict[str, Any]) -> dict[str, Any]:
        return {**inputs, "pad_fill": 7}
