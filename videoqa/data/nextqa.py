"""NExT-QA multiple choice (``nextqa-mc``) and open-ended (``nextqa-oe``) loaders.

Source: Xiao et al., "NExT-QA: Next Phase of Question-Answering to Explaining Temporal
Actions", CVPR 2021, §3; files of the official repository (doc-doc/NExT-QA,
``dataset/nextqa/{train,val,test}.csv`` and ``nextoe/{train,val,test}.csv``).

Format (CSV with a header row):

* multiple choice: ``video,frame_count,width,height,question,answer,qid,type,a0,a1,a2,a3,a4``
  with ``answer`` the index (0–4) of the correct option among ``a0..a4``;
* open-ended: the same columns without ``a0..a4``; ``answer`` is the answer text.

Question ids are ``f"{video}_{qid}"`` (the keys of the official prediction files). The
question type is kept raw (``CW CH TN TP TC DC DL DO``, plus ``DB`` — yes/no — in the
open-ended files); the official evaluator folds ``TP`` into ``TN``, which is the metrics'
business, not the loader's. ``frame_count``, ``width``, ``height`` go into ``extras``.

Videos are ``<video_root>/<video>.mp4``; the official release stores them in folders
(``1010/4010069381.mp4``): pass its ``map_vid_vidorID.json`` as ``mapping``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videoqa.data.readers import (
    Collector,
    Record,
    Row,
    iter_csv,
    load_benchmark,
    require_columns,
)
from videoqa.data.registry import DATASETS
from videoqa.data.schema import Benchmark, QASample

#: NExT-QA question types (§3.2 of the paper): code → meaning.
NEXTQA_TYPES: dict[str, str] = {
    "CW": "causal why",
    "CH": "causal how",
    "TN": "temporal next",
    "TP": "temporal previous",
    "TC": "temporal concurrent",
    "DC": "descriptive count",
    "DL": "descriptive location",
    "DO": "descriptive other",
    "DB": "descriptive yes/no (open-ended only)",
}

NUM_CHOICES = 5
VIDEO_PATTERN = "{video_id}.mp4"
_META_COLUMNS = ("frame_count", "width", "height")


def nextqa_key(value: Any) -> str | None:
    """``f"{video}_{qid}"`` of a raw CSV row, when both cells are there."""
    if isinstance(value, Mapping) and value.get("video") and value.get("qid"):
        return f"{str(value['video']).strip()}_{str(value['qid']).strip()}"
    return None


def _build(rec: Record, collector: Collector, *, multiple_choice: bool) -> QASample:
    row = Row(rec.value)
    video = row.text("video")
    qid = f"{video}_{row.text('qid')}"
    extras = {c: row.integer(c) for c in _META_COLUMNS if c in row.data}
    if multiple_choice:
        choices: tuple[str, ...] | None = tuple(row.text(f"a{i}") for i in range(NUM_CHOICES))
        answer: int | str = row.integer("answer")
    else:
        choices, answer = None, row.text("answer")
    qtype = row.text("type")
    sample = QASample(
        qid=qid,
        video_id=video,
        question=row.text("question"),
        choices=choices,
        answer=answer,
        qtype=qtype,
        extras=extras,
    )
    sample = collector.with_unique_id(sample, rec.line)
    if qtype not in NEXTQA_TYPES or (multiple_choice and qtype == "DB"):
        collector.warn(rec.line, f"unknown question type {qtype!r}, kept as is", sample.qid)
    return sample


def load_nextqa(
    name: str,
    annotations: Path,
    *,
    multiple_choice: bool,
    video_root: Path | None = None,
    mapping: Path | Mapping[str, str] | None = None,
    split: str | None = None,
) -> Benchmark[QASample]:
    """Load a NExT-QA CSV (see the module docstring for the format).

    Args:
        name: dataset name recorded in the benchmark.
        annotations: the split's CSV file.
        multiple_choice: ``True`` for the MC files (``a0..a4``, index answers), ``False``
            for NExT-OE (text answers).
        video_root: folder of the videos.
        mapping: video id → relative path without extension (``map_vid_vidorID.json``).
        split: split name (default: the file's stem).

    Returns:
        ``Benchmark[QASample]``; rows with a missing/empty field, a non-integer or
        out-of-range answer, or the wrong number of cells are in ``issues``; duplicate
        ``video_qid`` ids are renamed ``"<id>#2"`` … and listed in ``warnings``.

    Raises:
        DataFormatError: missing file or missing columns.
    """
    annotations = Path(annotations)
    header, records = iter_csv(annotations)
    required = ["video", "question", "answer", "qid", "type"]
    if multiple_choice:
        required += [f"a{i}" for i in range(NUM_CHOICES)]
    require_columns(header, required, annotations)
    return load_benchmark(
        name,
        annotations,
        records,
        lambda rec, collector: _build(rec, collector, multiple_choice=multiple_choice),
        sample_type=QASample,
        pattern=VIDEO_PATTERN,
        split=split,
        video_root=video_root,
        mapping=mapping,
        key=nextqa_key,
        meta={"multiple_choice": multiple_choice},
    )


@DATASETS.register("nextqa-mc")
def load_nextqa_mc(
    annotations: Path,
    *,
    video_root: Path | None = None,
    mapping: Path | Mapping[str, str] | None = None,
    split: str | None = None,
) -> Benchmark[QASample]:
    """NExT-QA multiple choice (5 options) — see :func:`load_nextqa`."""
    return load_nextqa(
        "nextqa-mc",
        annotations,
        multiple_choice=True,
        video_root=video_root,
        mapping=mapping,
        split=split,
    )


@DATASETS.register("nextqa-oe")
def load_nextqa_oe(
    annotations: Path,
    *,
    video_root: Path | None = None,
    mapping: Path | Mapping[str, str] | None = None,
    split: str | None = None,
) -> Benchmark[QASample]:
    """NExT-OE, NExT-QA's open-ended task (text answers) — see :func:`load_nextqa`."""
    return load_nextqa(
        "nextqa-oe",
        annotations,
        multiple_choice=False,
        video_root=video_root,
        mapping=mapping,
        split=split,
    )
