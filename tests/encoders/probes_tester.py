"""Tiny CNN probe heads for the shared model tests (:mod:`tests.models.harness`)."""

from __future__ import annotations

import torch

from tests.models.harness import ModelTester, Outputs, register_tester
from videoqa.encoders.cnn_probes import ProbeHeads, ProbeHeadsConfig

B, D, P, DP, V = 3, 6, 4, 5, 7


@register_tester
class ProbeHeadsTester(ModelTester):
    model_type = "videoqa-cnn-probes"

    def build(self, seed: int = 0) -> ProbeHeads:
        torch.manual_seed(seed)
        config = ProbeHeadsConfig(embed_dim=D, patch_dim=DP, num_labels=V, max_count=4)
        return ProbeHeads(config).eval()

    def inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(1)
        return torch.randn(B, D, generator=g), torch.randn(B, P, DP, generator=g)

    def run(self, model: ProbeHeads, inputs: tuple[torch.Tensor, torch.Tensor]) -> Outputs:
        with torch.no_grad():
            return dict(model(*inputs))

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"presence": (B, V), "count": (B, 5), "centroid": (B, V, 2), "occupancy": (B, P, V)}
