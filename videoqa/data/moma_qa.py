"""MOMA-QA: fine-grained questions on multi-object multi-actor activity videos (``moma-qa``).

Source: Dai et al., "Towards Fine-Grained Video Question Answering" (arXiv:2503.06820,
2025), §3: open-ended question–answer pairs generated from the MOMA-LRG annotations
(Luo et al., NeurIPS 2022), each grounded in a temporal interval of its video (a
sub-activity) and in that interval's ground-truth scene graph (actors, objects, their
relationships), of three kinds: relationship, motion and description questions. The
paper evaluates accuracy and WUPS on the open answers.

No file layout was published with the paper that we could reach, so this loader
implements the following one (write your export in it):

* a JSON array of records, or JSON lines, one record per question::

    {"qid": "q000123",              # or "question_id"; text or integer
     "video_id": "-49z-lj8eYQ",
     "question": "When the cashier is scanning items, what is the customer holding?",
     "answer": "credit card",       # open-ended text
     "type": "relationship",        # relationship | motion | description (kept raw)
     "interval": [12.0, 31.5],      # or "start"/"end": seconds in the video
     "scene_graph": {...},          # optional: actors, objects, relationships, verbatim
     "activity": "...", "sub_activity": "..."}   # optional, kept in extras

Everything else in a record goes into ``extras`` unchanged (``scene_graph`` included).
Videos: ``<video_root>/<video_id>.mp4``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from videoqa.data.readers import (
    Collector,
    Record,
    Row,
    RowError,
    iter_json_records,
    load_benchmark,
)
from videoqa.data.registry import DATASETS
from videoqa.data.schema import Benchmark, QASample

#: The question kinds of the paper (kept raw; others load with a warning).
MOMA_QA_TYPES: tuple[str, ...] = ("relationship", "motion", "description")
VIDEO_PATTERN = "{video_id}.mp4"
_USED = ("qid", "question_id", "video_id", "question", "answer", "type", "interval")
_USED_SPAN = ("start", "end")


def _interval(row: Row) -> tuple[tuple[float, float], bool]:
    """The interval and whether it came from ``start``/``end`` fields."""
    if row.has("interval"):
        span = row.raw("interval")
        if not isinstance(span, list | tuple) or len(span) != 2:
            raise RowError(f"field 'interval' must be [start, end] seconds, got {span!r}")
        pair = Row({"start": span[0], "end": span[1]})
        return (pair.number("start"), pair.number("end")), False
    return (row.number("start"), row.number("end")), True


def _build(rec: Record, collector: Collector) -> QASample:
    row = Row(rec.value)
    qid = row.text("qid", "question_id")
    interval, from_fields = _interval(row)
    if interval[0] < 0:
        raise RowError(f"interval starts before 0 s: {interval}")
    qtype = row.text("type")
    sample = QASample(
        qid=qid,
        video_id=row.text("video_id"),
        question=row.text("question"),
        answer=row.text("answer"),
        qtype=qtype,
        interval=interval,
        extras=row.rest(*_USED, *(_USED_SPAN if from_fields else ())),
    )
    sample = collector.with_unique_id(sample, rec.line)
    if qtype not in MOMA_QA_TYPES:
        collector.warn(rec.line, f"unknown question type {qtype!r}, kept as is", sample.qid)
    return sample


@DATASETS.register("moma-qa")
def load_moma_qa(
    annotations: Path,
    *,
    video_root: Path | None = None,
    mapping: Path | Mapping[str, str] | None = None,
    split: str | None = None,
) -> Benchmark[QASample]:
    """Load a MOMA-QA split in the layout of the module docstring.

    Args:
        annotations: JSON array or JSON-lines file of questions.
        video_root: folder of the MOMA videos.
        mapping: video id → relative path.
        split: split name (default: the file's stem).

    Returns:
        ``Benchmark[QASample]`` of open-ended samples with ``interval`` set; records
        without an interval, with a reversed one, or with missing fields are ``issues``.

    Raises:
        DataFormatError: missing file, broken JSON array, or no JSON line.
    """
    annotations = Path(annotations)
    return load_benchmark(
        "moma-qa",
        annotations,
        iter_json_records(annotations),
        _build,
        sample_type=QASample,
        pattern=VIDEO_PATTERN,
        split=split,
        video_root=video_root,
        mapping=mapping,
    )
