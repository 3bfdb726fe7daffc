"""QVHighlights: moment retrieval and highlight detection from text queries (``qvhighlights``).

Source: Lei et al., "QVHighlights: Detecting Moments and Highlights in Videos via Natural
Language Queries", NeurIPS 2021, §3; format of the released
``highlight_{train,val,test}_release.jsonl`` (jayleicn/moment_detr, ``data/README``).

Format: JSON lines::

    {"qid": 2579, "query": "A girl and her mother cooked ...", "duration": 150,
     "vid": "NUsG9BgSes0_210.0_360.0", "relevant_windows": [[82, 150]],
     "relevant_clip_ids": [41, 42, ...], "saliency_scores": [[1, 1, 2], ...]}

Times are seconds; clip ``i`` is the 2-second clip ``[2 i, 2 i + 2)``; each relevant clip
has the saliency scores of 3 annotators (0–4). The test split has only ``qid``,
``query``, ``duration``, ``vid``: its samples have empty labels. The loader checks what
the format promises — one score triple per relevant clip, windows inside the video,
clip ids below ``ceil(duration / 2)`` — and reports rows that break it. Videos:
``<video_root>/<vid>.mp4``, with their duration in the index.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from videoqa.data.readers import (
    Collector,
    Record,
    Row,
    RowError,
    iter_json_lines,
    load_benchmark,
)
from videoqa.data.registry import DATASETS
from videoqa.data.schema import Benchmark, MomentSample

VIDEO_PATTERN = "{video_id}.mp4"
_USED = ("qid", "query", "vid", "duration", "relevant_windows", "relevant_clip_ids")
_USED_TOO = ("saliency_scores",)


def _list(row: Row, name: str) -> list:
    value = row.data.get(name, [])
    if not isinstance(value, list):
        raise RowError(f"field {name!r} must be a list, got {type(value).__name__}")
    return value


def _build(rec: Record, collector: Collector, durations: dict[str, float]) -> MomentSample:
    row = Row(rec.value)
    sample = MomentSample(
        qid=row.text("qid"),
        query=row.text("query"),
        vid=row.text("vid"),
        duration=row.number("duration"),
        relevant_windows=_list(row, "relevant_windows"),
        relevant_clip_ids=_list(row, "relevant_clip_ids"),
        saliency_scores=_list(row, "saliency_scores"),
        extras=row.rest(*_USED, *_USED_TOO),
    )
    if any(end > sample.duration for _, end in sample.relevant_windows):
        raise RowError(f"a relevant window ends after the video ({sample.duration} s)")
    if any(c >= sample.num_clips for c in sample.relevant_clip_ids):
        raise RowError(f"a clip id is beyond the {sample.num_clips} clips of the video")
    sample = collector.with_unique_id(sample, rec.line)
    known = durations.setdefault(sample.vid, sample.duration)
    if known != sample.duration:
        collector.warn(rec.line, f"duration {sample.duration} s, elsewhere {known} s", sample.qid)
    return sample


@DATASETS.register("qvhighlights")
def load_qvhighlights(
    annotations: Path,
    *,
    video_root: Path | None = None,
    mapping: Path | Mapping[str, str] | None = None,
    split: str | None = None,
) -> Benchmark[MomentSample]:
    """Load a QVHighlights split (format in the module docstring).

    Args:
        annotations: ``highlight_<split>_release.jsonl``.
        video_root: folder of the clips (``<vid>.mp4``).
        mapping: video id → relative path.
        split: split name (default: the file's stem).

    Returns:
        ``Benchmark[MomentSample]``; rows that break the format (see above), are not
        JSON, or miss fields are ``issues``. The index records each video's duration
        (the first one seen; a different one later is a warning).

    Raises:
        DataFormatError: missing file, or no line of it is JSON.
    """
    annotations = Path(annotations)
    durations: dict[str, float] = {}  # filled by _build, row by row
    return load_benchmark(
        "qvhighlights",
        annotations,
        iter_json_lines(annotations),
        lambda rec, collector: _build(rec, collector, durations),
        sample_type=MomentSample,
        pattern=VIDEO_PATTERN,
        split=split,
        video_root=video_root,
        mapping=mapping,
        durations=durations,
    )
