"""Tiny Example for the shared model tests (``tests/models/harness.py``): all a new
backbone needs to get save/load, shapes and hidden-frame invariance checked."""

from __future__ import annotations

from tests.models.harness import VideoQATester, register_tester


@register_tester
class ExampleTester(VideoQATester):
    model_type = "example"
    config = {"num_layers": 1}
