"""Tiny SGVLM and frame localizer for the shared model tests (:mod:`tests.models.harness`)."""

from __future__ import annotations

from typing import Any

import torch

from tests.models.harness import ModelTester, Outputs, register_tester
from videoqa.models.sgvlm.configuration import LocalizerSettings, QFormerSettings
from videoqa.models.sgvlm.llm import TinyLMConfig, create_tiny_llm
from videoqa.models.sgvlm.localizer import FrameLocalizer, LocalizerConfig
from videoqa.models.sgvlm.modeling import SGVLM, build_sgvlm
from videoqa.models.sgvlm.processing import SGVLMBatch

B, T, K, L, DF, DP, P, DSG, V = 2, 5, 3, 6, 10, 7, 4, 53, 30
TEXTS = [
    "question : what color is the small object ? answer :",
    "red blue green to the left of it above below",
]
CANDIDATES = [["red", "blue", "green"], ["above", "below", "red"]]


def _frame_mask() -> torch.Tensor:
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, 3:] = False
    return mask


def _perturbed(x: torch.Tensor, hidden: torch.Tensor, seed: int) -> torch.Tensor:
    """``x`` ``(B, T, ...)`` with new large values on the hidden frames."""
    g = torch.Generator().manual_seed(seed)
    out = x.clone()
    out[hidden] = 50 * torch.randn(out[hidden].shape, generator=g)
    return out


@register_tester
class FrameLocalizerTester(ModelTester):
    model_type = "sgvlm-localizer"

    def build(self, seed: int = 0) -> FrameLocalizer:
        torch.manual_seed(seed)
        config = LocalizerConfig(
            frame_dim=DF, sg_dim=DSG, vocab_size=V, hidden_size=16, num_heads=2,
            num_layers=1, temporal_layers=1, max_frames=T, max_text_len=L,
            max_sg_tokens=K, dropout=0.0,
        )  # fmt: skip
        return FrameLocalizer(config).eval()

    def inputs(self) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(3)
        question_mask = torch.ones(B, L, dtype=torch.bool)
        question_mask[1, 4:] = False
        return {
            "frames": torch.randn(B, T, DF, generator=g),
            "frame_mask": _frame_mask(),
            "question_ids": torch.randint(0, V, (B, L), generator=g),
            "question_mask": question_mask,
            "sg_tokens": torch.randn(B, T, K, DSG, generator=g),
            "sg_mask": torch.rand(B, T, K, generator=g) > 0.3,
            "times": (torch.arange(T) * 0.25 + 0.125).repeat(B, 1),
        }

    def run(self, model: FrameLocalizer, inputs: dict[str, torch.Tensor]) -> Outputs:
        with torch.no_grad():
            out = model(**inputs)
        return {"saliency": out.saliency, "foreground": out.foreground, "offsets": out.offsets}

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"saliency": (B, T), "foreground": (B, T), "offsets": (B, T, 2)}

    def perturb_hidden(self, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hidden = ~inputs["frame_mask"]
        return {
            **inputs,
            "frames": _perturbed(inputs["frames"], hidden, 4),
            "sg_tokens": _perturbed(inputs["sg_tokens"], hidden, 5),
        }

    def visible(self, outputs: Outputs, inputs: dict[str, torch.Tensor]) -> Outputs:
        keep = inputs["frame_mask"]
        return {name: value[keep] for name, value in outputs.items()}


@register_tester
class SGVLMTester(ModelTester):
    model_type = "sgvlm"

    def build(self, seed: int = 0) -> SGVLM:
        llm_dir = self.workdir / f"llm{seed}"
        if not llm_dir.is_dir():
            torch.manual_seed(seed)
            small = TinyLMConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)
            create_tiny_llm(TEXTS, llm_dir, small)
        fields: dict[str, Any] = dict(
            frame_dim=DF, patch_dim=DP, max_sg_tokens=K, max_frames=T, num_selected_frames=4,
            localizer=LocalizerSettings(
                hidden_size=16, num_heads=2, num_layers=1, temporal_layers=1, dropout=0.0
            ),
            qformer=QFormerSettings(
                hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32,
                num_queries=2, dropout=0.0,
            ),
        )  # fmt: skip
        torch.manual_seed(seed)
        return build_sgvlm(fields, llm_dir).eval()

    def inputs(self) -> dict[str, Any]:
        g = torch.Generator().manual_seed(2)
        return {
            "questions": ["what color is the small object ?", "what is to the left of it ?"],
            "frames": torch.randn(B, T, DF, generator=g),
            "patches": torch.randn(B, T, P, DP, generator=g),
            "sg_tokens": torch.rand(B, T, K, DSG, generator=g),
            "sg_mask": torch.rand(B, T, K, generator=g) > 0.3,
            "frame_mask": _frame_mask(),
        }

    def _batch(self, model: SGVLM, inputs: dict[str, Any]) -> SGVLMBatch:
        ids, mask = model.processor.questions(inputs["questions"])
        return SGVLMBatch(
            frames=inputs["frames"],
            frame_mask=inputs["frame_mask"],
            times=torch.arange(T).float().expand(B, T) * 0.5 + 0.25,
            question_ids=ids,
            question_mask=mask,
            prompts=model.processor.prompts(inputs["questions"]),
            patches=inputs["patches"],
            sg_tokens=inputs["sg_tokens"],
            sg_mask=inputs["sg_mask"],
        )

    def run(self, model: SGVLM, inputs: dict[str, Any]) -> Outputs:
        batch = self._batch(model, inputs)
        with torch.no_grad():
            saliency = model.localize(batch).saliency
        return {"loglikelihood": model.loglikelihood(batch, CANDIDATES), "saliency": saliency}

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"loglikelihood": (B, 3), "saliency": (B, T)}

    def perturb_hidden(self, inputs: dict[str, Any]) -> dict[str, Any]:
        hidden = ~inputs["frame_mask"]
        return {
            **inputs,
            "frames": _perturbed(inputs["frames"], hidden, 6),
            "patches": _perturbed(inputs["patches"], hidden, 7),
            "sg_tokens": _perturbed(inputs["sg_tokens"], hidden, 8),
        }

    def visible(self, outputs: Outputs, inputs: dict[str, Any]) -> Outputs:
        return {
            "loglikelihood": outputs["loglikelihood"],
            "saliency": outputs["saliency"][inputs["frame_mask"]],
        }
