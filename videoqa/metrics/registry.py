"""The metrics registry: name → metric function.

Every module of :mod:`videoqa.metrics` registers its public metric functions here when
the package is imported, so ``METRICS.get("wups")`` works after ``import videoqa.metrics``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from videoqa.registry import Registry

#: Metric name → function (``"mc_accuracy"``, ``"wups"``, ``"qvhighlights"``, …).
METRICS: Registry[Callable[..., Any]] = Registry("metric")


def list_metrics() -> list[str]:
    """Sorted names of the registered metrics."""
    import videoqa.metrics  # noqa: F401  (registers every metric module)

    return METRICS.names()
