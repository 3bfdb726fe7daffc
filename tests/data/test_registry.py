"""Dataset registry: names, load_dataset, option checking."""

from __future__ import annotations

import pytest

from videoqa.data import DATASETS, list_datasets, load_dataset
from videoqa.errors import UnknownNameError, UsageError

NAMES = [
    "activitynet-qa",
    "agqa",
    "atp-hard",
    "moma-qa",
    "mos-csv",
    "msrvtt-qa",
    "msvd-qa",
    "nextqa-mc",
    "nextqa-oe",
    "qvhighlights",
    "star",
    "tvqa",
]


def test_every_benchmark_is_registered():
    assert set(NAMES) <= set(list_datasets())
    assert list_datasets() == sorted(list_datasets())


def test_loaders_share_the_signature():
    import inspect

    for name in NAMES:
        params = inspect.signature(DATASETS.get(name)).parameters
        first = next(iter(params.values()))
        assert first.name == "annotations", name
        assert params["video_root"].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert params["video_root"].default is None, name


def test_load_dataset_accepts_text_paths(fixtures):
    bench = load_dataset("nextqa-mc", str(fixtures / "nextqa" / "val.csv"), split="dev")
    assert bench.split == "dev" and len(bench) == 3


def test_load_dataset_rejects_unknown_names_and_options(fixtures):
    with pytest.raises(UnknownNameError, match="unknown dataset 'nope'"):
        load_dataset("nope", fixtures / "nextqa" / "val.csv")
    with pytest.raises(UsageError, match=r"takes no option\(s\) \['answers'\]"):
        load_dataset("nextqa-mc", fixtures / "nextqa" / "val.csv", answers="x")
