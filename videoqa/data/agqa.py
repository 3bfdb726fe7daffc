"""AGQA 2.0 balanced, open-ended compositional questions on Charades videos (``agqa``).

Source: Grunde-McLaughlin et al., "AGQA: A Benchmark for Compositional Spatio-Temporal
Reasoning", CVPR 2021, §3–4, and "AGQA 2.0: An Updated Benchmark for Compositional
Spatio-Temporal Reasoning" (arXiv:2204.06105); format as documented on the AGQA
download page (balanced ``train_balanced.txt`` / ``test_balanced.txt``, JSON despite the
suffix).

Format: one JSON object keyed by question id::

    {"<question id>": {"question": "Did they contact a blanket?", "answer": "No",
                       "video_id": "YSKX3", "ans_type": "binary",
                       "global": ["exists", "obj-rel"], "local": "yes-no-o4",
                       "steps": 1, "semantic": "object", "structural": "verify",
                       "novel_comp": 0, "more_steps": 0, "program": "...",
                       "sg_grounding": {...}, ...}, ...}

Every question is open-ended (text answer). ``ans_type`` — ``"binary"`` (yes/no,
before/after) or ``"open"`` — becomes ``qtype``; all other fields (program, reasoning
types, semantic and structural classes, the test splits' generalisation flags, groundings)
are kept in ``extras``. Videos are Charades ``<video_root>/<video_id>.mp4``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from videoqa.data.readers import Collector, Record, Row, RowError, iter_json_dict, load_benchmark
from videoqa.data.registry import DATASETS
from videoqa.data.schema import Benchmark, QASample

#: AGQA answer types: binary (two possible answers) or open.
AGQA_ANSWER_TYPES: tuple[str, ...] = ("binary", "open")
VIDEO_PATTERN = "{video_id}.mp4"
_USED = ("question", "answer", "video_id", "ans_type")


def _build(rec: Record, collector: Collector) -> QASample:
    row = Row(rec.value)
    ans_type = row.text("ans_type")
    if ans_type not in AGQA_ANSWER_TYPES:
        raise RowError(f"ans_type {ans_type!r} is not one of {list(AGQA_ANSWER_TYPES)}")
    sample = QASample(
        qid=str(rec.key),
        video_id=row.text("video_id"),
        question=row.text("question"),
        answer=row.text("answer"),
        qtype=ans_type,
        extras=row.rest(*_USED),
    )
    return collector.with_unique_id(sample, rec.line)


@DATASETS.register("agqa")
def load_agqa(
    annotations: Path,
    *,
    video_root: Path | None = None,
    mapping: Path | Mapping[str, str] | None = None,
    split: str | None = None,
) -> Benchmark[QASample]:
    """Load an AGQA 2.0 balanced split (format in the module docstring).

    Args:
        annotations: the split's JSON object file (e.g. ``test_balanced.txt``).
        video_root: folder of the Charades videos.
        mapping: video id → relative path.
        split: split name (default: the file's stem).

    Returns:
        ``Benchmark[QASample]`` of open-ended samples, ``qtype`` ``"binary"``/``"open"``.
        Entries with missing fields or an unknown ``ans_type`` are in ``issues``; a key
        repeated in the object is renamed ``"<key>#2"`` (warning).

    Raises:
        DataFormatError: missing file, broken JSON, not a JSON object.
    """
    annotations = Path(annotations)
    return load_benchmark(
        "agqa",
        annotations,
        iter_json_dict(annotations),
        _build,
        sample_type=QASample,
        pattern=VIDEO_PATTERN,
        split=split,
        video_root=video_root,
        mapping=mapping,
    )
