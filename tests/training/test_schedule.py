"""The one learning-rate schedule: linear warm-up, then a cosine or linear decay."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from videoqa.errors import UsageError
from videoqa.recipes import find_config
from videoqa.training.config import SchedulerConfig, read_yaml
from videoqa.training.loop import warmup_cosine, warmup_schedule


def test_warmup_then_cosine_golden_values() -> None:
    f = warmup_schedule(10, 2, 0.0, "cosine")
    assert [f(0), f(1)] == pytest.approx([1 / 3, 2 / 3])  # (step + 1) / (w + 1)
    assert f(2) == pytest.approx(1.0)
    assert f(6) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))  # half way: 0.5
    assert f(10) == pytest.approx(0.0, abs=1e-12) and f(50) == pytest.approx(0.0, abs=1e-12)
    assert [warmup_cosine(10, 2)(s) for s in range(12)] == [f(s) for s in range(12)]


def test_warmup_then_linear_golden_values() -> None:
    f = warmup_schedule(10, 2, 0.0, "linear")
    assert [f(2), f(4), f(6), f(10)] == pytest.approx([1.0, 0.75, 0.5, 0.0])
    g = warmup_schedule(10, 0, 0.2, "linear")  # ends at min_ratio
    assert [g(0), g(5), g(10)] == pytest.approx([1.0, 0.6, 0.2])
    steps = [f(s) for s in range(2, 12)]
    assert all(a >= b for a, b in zip(steps, steps[1:], strict=False))  # never rises


def test_bad_schedules_are_refused() -> None:
    with pytest.raises(UsageError, match="unknown learning-rate decay"):
        warmup_schedule(10, 1, 0.0, "step")
    with pytest.raises(UsageError):
        warmup_schedule(-1, 0)
    with pytest.raises(ValidationError):
        SchedulerConfig(decay="exponential")


def test_the_released_mcg_settings_decay_linearly() -> None:
    for name in ("pretrain_webvid", "mcg_nextqa_oe"):
        raw = read_yaml(find_config(name))
        assert SchedulerConfig(**raw["scheduler"]).decay == "linear"
