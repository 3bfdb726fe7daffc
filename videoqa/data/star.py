"""STAR: situated reasoning in real-world videos (``star``).

Source: Wu et al., "STAR: A Benchmark for Situated Reasoning in Real-World Videos",
NeurIPS 2021 (datasets track), §3; the released ``STAR_{train,val,test}.json`` files
(schema documented in the STAR repository, csbobby/STAR_Benchmark).

Format: a JSON array of questions::

    {"question_id": "Interaction_T1_13", "question": "...", "video_id": "6H78U",
     "start": 11.1, "end": 19.6, "answer": "The clothes.",
     "question_program": [...],
     "choices": [{"choice_id": 0, "choice": "The clothes.", "choice_program": [...]}, ...],
     "situations": {"<frame id>": {"rel_pairs": ..., "rel_labels": ..., "actions": ...,
                                   "bbox": ..., "bbox_labels": ...}, ...}}

``answer`` is the text of the correct choice (it becomes its index; choices are ordered by
``choice_id``). The question type is the id's first part (Interaction, Sequence,
Prediction, Feasibility) and the template its second (``extras["template"]``); the
question programs, choice programs and situation graphs are kept in ``extras``.
``(start, end)`` (seconds in the Charades video) is the sample's ``interval``. The test
split has no answers: its rows are reported as issues. Videos are Charades
``<video_root>/<video_id>.mp4``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from videoqa.data.readers import (
    Collector,
    Record,
    Row,
    RowError,
    iter_json_list,
    load_benchmark,
)
from videoqa.data.registry import DATASETS
from videoqa.data.schema import Benchmark, QASample

#: STAR question types (§3.1 of the paper).
STAR_TYPES: tuple[str, ...] = ("Interaction", "Sequence", "Prediction", "Feasibility")
VIDEO_PATTERN = "{video_id}.mp4"
_USED = ("question_id", "question", "video_id", "start", "end", "answer", "choices")


def _choices(row: Row) -> tuple[tuple[str, ...], list[object]]:
    raw = row.raw("choices")
    if not isinstance(raw, list) or len(raw) < 2:
        raise RowError("field 'choices' must be a list of at least 2 choices")
    items = [Row(c) for c in raw]
    ids = [c.integer("choice_id") if c.has("choice_id") else i for i, c in enumerate(items)]
    if sorted(ids) != list(range(len(items))):
        raise RowError(f"choice ids {ids} are not 0..{len(items) - 1}")
    order = sorted(range(len(items)), key=ids.__getitem__)
    texts = tuple(items[i].text("choice") for i in order)
    programs = [items[i].data.get("choice_program") for i in order]
    return texts, programs


def _build(rec: Record, collector: Collector) -> QASample:
    row = Row(rec.value)
    base_qid = row.text("question_id")
    choices, programs = _choices(row)
    if not row.has("answer"):
        raise RowError("no answer (unlabelled split?)")
    answer = row.text("answer")
    matches = [i for i, c in enumerate(choices) if c == answer]
    if len(matches) != 1:
        found = "not among" if not matches else "more than once among"
        raise RowError(f"answer {answer!r} is {found} the choices")
    parts = base_qid.split("_")
    extras = row.rest(*_USED)
    extras["template"] = parts[1] if len(parts) > 2 else ""
    extras["choice_programs"] = programs
    sample = QASample(
        qid=base_qid,
        video_id=row.text("video_id"),
        question=row.text("question"),
        choices=choices,
        answer=matches[0],
        qtype=parts[0],
        interval=(row.number("start"), row.number("end")),
        extras=extras,
    )
    sample = collector.with_unique_id(sample, rec.line)
    if sample.qtype not in STAR_TYPES:
        collector.warn(rec.line, f"unknown question type {sample.qtype!r}, kept as is", sample.qid)
    return sample


@DATASETS.register("star")
def load_star(
    annotations: Path,
    *,
    video_root: Path | None = None,
    mapping: Path | Mapping[str, str] | None = None,
    split: str | None = None,
) -> Benchmark[QASample]:
    """Load a STAR split (format in the module docstring).

    Args:
        annotations: ``STAR_<split>.json``.
        video_root: folder of the Charades videos.
        mapping: video id → relative path (without extension, or with a video suffix).
        split: split name (default: the file's stem).

    Returns:
        ``Benchmark[QASample]`` of 4-way multiple-choice samples with ``interval`` set.
        Rows without an answer, with an answer matching no (or several) choices, or with
        missing fields are in ``issues``.

    Raises:
        DataFormatError: missing file, broken JSON, not a JSON array.
    """
    annotations = Path(annotations)
    return load_benchmark(
        "star",
        annotations,
        iter_json_list(annotations),
        _build,
        sample_type=QASample,
        pattern=VIDEO_PATTERN,
        split=split,
        video_root=video_root,
        mapping=mapping,
    )
