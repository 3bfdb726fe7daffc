"""The dataset registry: benchmark name → loader.

A loader is a callable ``loader(annotations: Path, *, video_root: Path | None = None,
**options) -> Benchmark`` registered with ``@DATASETS.register("name")``.
"""

from __future__ import annotations

from videoqa.registry import Registry

DATASETS: Registry = Registry("dataset")


def list_datasets() -> list[str]:
    """Names of the registered datasets."""
    return DATASETS.names()
