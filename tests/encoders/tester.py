"""Tiny CNN frame encoder for the shared model tests (:mod:`tests.models.harness`)."""

from __future__ import annotations

import torch

from tests.models.harness import ModelTester, Outputs, register_tester
from videoqa.encoders.cnn import CNNConfig, CNNFrameEncoder

B, S = 2, 32
CONFIG = CNNConfig(image_size=S, channels=(4, 4, 8, 8), patch_dim=5, embed_dim=6)


@register_tester
class CNNFrameEncoderTester(ModelTester):
    model_type = "videoqa-cnn"

    def build(self, seed: int = 0) -> CNNFrameEncoder:
        torch.manual_seed(seed)
        model = CNNFrameEncoder(CONFIG)
        with torch.no_grad():  # batch-norm statistics are saved too: make them non-default
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.running_mean.normal_()
                    module.running_var.uniform_(0.5, 2.0)
        return model.eval()

    def inputs(self) -> torch.Tensor:
        return torch.randn(B, 3, S, S, generator=torch.Generator().manual_seed(1))

    def run(self, model: CNNFrameEncoder, inputs: torch.Tensor) -> Outputs:
        with torch.no_grad():
            frame, patches = model(inputs)
        return {"frame": frame, "patches": patches}

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"frame": (B, 6), "patches": (B, (S // 16) ** 2, 5)}
