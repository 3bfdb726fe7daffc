"""Tiny HGA for the shared model tests (:mod:`tests.models.harness`)."""

from __future__ import annotations

from tests.models.harness import VideoQATester, register_tester


@register_tester
class HGATester(VideoQATester):
    model_type = "hga"
    config = {"num_layers": 1}
