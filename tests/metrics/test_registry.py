"""The metrics registry."""

from __future__ import annotations

import pytest

from videoqa.errors import DuplicateNameError, UnknownNameError
from videoqa.metrics import (
    METRICS,
    list_metrics,
    multiple_choice_accuracy,
    qvhighlights_metrics,
    wups,
)


def test_registered_names() -> None:
    names = list_metrics()
    assert names == sorted(names)
    assert {"mc_accuracy", "oe_accuracy", "wups", "nextoe_wups", "qvhighlights"} <= set(names)
    assert METRICS.get("wups") is wups
    assert METRICS.get("mc_accuracy") is multiple_choice_accuracy
    assert METRICS.get("qvhighlights") is qvhighlights_metrics


def test_registry_errors() -> None:
    with pytest.raises(DuplicateNameError):
        METRICS.register("wups", wups)
    with pytest.raises(UnknownNameError, match="registered"):
        METRICS.get("bleu")
