"""Tiny VGT (with patch nodes and two-frame clips) for the shared model tests."""

from __future__ import annotations

from tests.models.harness import VideoQATester, register_tester


@register_tester
class VGTTester(VideoQATester):
    model_type = "vgt"
    config = {"clip_len": 2, "patch_dim": VideoQATester.patch_dim, "max_patches": 4}
