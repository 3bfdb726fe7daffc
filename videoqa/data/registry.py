"""The dataset registry: benchmark name → loader.

A loader is a callable ``loader(annotations: Path, *, video_root: Path | None = None,
**options) -> Benchmark`` registered with ``@DATASETS.register("name")``. Importing
:mod:`videoqa.data` imports every loader module, so that all names are registered.

Example::

    from videoqa.data import load_dataset
    bench = load_dataset("nextqa-mc", "data/nextqa/val.csv", video_root="videos")
    print(len(bench), bench.issues[:3])
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from videoqa.data.schema import Benchmark
from videoqa.errors import UsageError
from videoqa.registry import Registry

DATASETS: Registry = Registry("dataset")


def list_datasets() -> list[str]:
    """Names of the registered datasets, sorted."""
    return DATASETS.names()


def load_dataset(name: str, annotations: str | Path, **options: Any) -> Benchmark:
    """Load one split of a registered benchmark.

    Args:
        name: a registered dataset name (see :func:`list_datasets`), e.g. ``"nextqa-mc"``.
        annotations: the annotation file of the split.
        **options: the loader's keyword options (``video_root``, ``mapping``, ``split``,
            and loader-specific ones — see each loader's docstring). Path-like options
            may be given as text.

    Returns:
        The :class:`~videoqa.data.schema.Benchmark`: samples, video index, and the rows
        that could not be loaded.

    Raises:
        UnknownNameError: ``name`` is not registered.
        UsageError: an option the loader does not take.
        DataFormatError: the annotation file cannot be read as that benchmark's format.
    """
    loader = DATASETS.get(name)
    params = inspect.signature(loader).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    known = [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(known))
    if unknown and not accepts_any:
        raise UsageError(f"dataset {name!r} takes no option(s) {unknown}; options: {known}")
    return loader(Path(annotations), **options)
