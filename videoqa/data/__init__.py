"""Benchmark datasets: one file per benchmark, all producing the schema of
:mod:`videoqa.data.schema`, registered in :data:`videoqa.data.registry.DATASETS`.

Importing this package registers every loader::

    from videoqa.data import list_datasets, load_dataset
    list_datasets()   # ['activitynet-qa', 'agqa', 'atp-hard', ...]
    bench = load_dataset("nextqa-mc", "val.csv", video_root="NExTVideo")
"""

from videoqa.data import (  # noqa: F401  (imported to register the loaders)
    activitynet_qa,
    agqa,
    atp_hard,
    moma_qa,
    mos,
    msrvtt_qa,
    msvd_qa,
    nextqa,
    qvhighlights,
    star,
    synthetic,
    tvqa,
)
from videoqa.data.registry import DATASETS, list_datasets, load_dataset
from videoqa.data.schema import Benchmark, MomentSample, QASample, QualitySample, RowIssue
from videoqa.data.vocabulary import (
    MultipleChoiceConversion,
    answer_vocabulary,
    to_multiple_choice,
)

__all__ = [
    "DATASETS",
    "Benchmark",
    "MomentSample",
    "MultipleChoiceConversion",
    "QASample",
    "QualitySample",
    "RowIssue",
    "answer_vocabulary",
    "list_datasets",
    "load_dataset",
    "to_multiple_choice",
]
