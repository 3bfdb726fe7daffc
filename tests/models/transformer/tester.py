"""Tiny single-stream transformer baseline for the shared model tests."""

from __future__ import annotations

from tests.models.harness import VideoQATester, register_tester


@register_tester
class TransformerTester(VideoQATester):
    model_type = "transformer"
    config = {"num_layers": 1}
