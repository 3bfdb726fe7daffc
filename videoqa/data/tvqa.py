"""TVQA: multiple-choice questions on TV-show clips, with subtitles (``tvqa``).

Source: Lei et al., "TVQA: Localized, Compositional Video Question Answering", EMNLP
2018, §3; the released ``tvqa_{train,val,test_public}.jsonl`` and ``tvqa_subtitles``
(one ``<vid_name>.srt`` per clip, read by :mod:`videoqa.data.subtitles`).

Format: JSON lines::

    {"qid": 7, "q": "What is Robin holding ...?", "a0": "...", ..., "a4": "...",
     "answer_idx": 4, "vid_name": "met_s06e22_seg01_clip_02", "ts": "1.21-8.49",
     "show_name": "How I Met You Mother"}

``ts`` is the ``start-end`` span in seconds within the clip that the question is about;
it becomes ``interval`` (a span that does not parse, e.g. ``"NaN-NaN"``, is dropped with
a warning). ``show_name`` and the raw ``ts`` stay in ``extras``. TVQA has no question
types; ``qtype`` is empty. The public test split has no ``answer_idx``: its rows are
issues. Subtitles, when given, are attached per clip as ``extras["subtitles"]``: a list
of ``{"start": s, "end": s, "text": str}``. Videos: ``<video_root>/<vid_name>.mp4``
(TVQA ships frames; point ``mapping`` at your own clip files).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from videoqa.data.readers import (
    Collector,
    Record,
    Row,
    iter_json_lines,
    load_benchmark,
    read_text,
)
from videoqa.data.registry import DATASETS
from videoqa.data.schema import Benchmark, QASample
from videoqa.data.subtitles import parse_subtitles, read_subtitles
from videoqa.errors import DataFormatError

NUM_CHOICES = 5
VIDEO_PATTERN = "{video_id}.mp4"
_USED = ("qid", "q", "vid_name", "answer_idx", *(f"a{i}" for i in range(NUM_CHOICES)))


def parse_srt(text: str) -> list[dict[str, Any]]:
    """Subtitle cues of an SRT file: ``[{"start": s, "end": s, "text": str}, ...]``,
    times in seconds, cue lines joined by a space, in file order (parsed by
    :func:`videoqa.data.subtitles.parse_subtitles`).

    Raises:
        DataFormatError: not a readable SRT text.
    """
    return [cue.model_dump() for cue in parse_subtitles(text, "srt", "<srt>")]


def parse_span(ts: str) -> tuple[float, float] | None:
    """``"1.21-8.49"`` → ``(1.21, 8.49)``; ``None`` when it does not parse to a finite,
    ordered span."""
    parts = ts.strip().split("-")
    if len(parts) != 2:
        return None
    try:
        start, end = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (math.isfinite(start) and math.isfinite(end)) or end < start or start < 0:
        return None
    return start, end


class _Subtitles:
    """Subtitle lookup: a folder of ``<vid_name>.srt`` or a JSON object by clip name."""

    def __init__(self, source: Path) -> None:
        self.folder = source if source.is_dir() else None
        self.table: dict[str, Any] = {}
        if self.folder is None:
            try:
                self.table = json.loads(read_text(source))
            except json.JSONDecodeError as err:
                raise DataFormatError(f"{source.name}:{err.lineno}: broken JSON") from None
            if not isinstance(self.table, dict):
                raise DataFormatError(f"{source.name}: expected a JSON object by clip name")

    def get(self, vid: str) -> list[dict[str, Any]] | None:
        if self.folder is not None and vid not in self.table:
            found = [self.folder / f"{vid}{ext}" for ext in (".srt", ".vtt")]
            path = next((p for p in found if p.is_file()), None)
            self.table[vid] = (
                None if path is None else [c.model_dump() for c in read_subtitles(path)]
            )
        return self.table.get(vid)


def _build(rec: Record, collector: Collector, subs: _Subtitles | None) -> QASample:
    row = Row(rec.value)
    qid = row.text("qid")
    vid = row.text("vid_name")
    extras = row.rest(*_USED)
    interval = parse_span(row.text("ts")) if row.has("ts") else None
    cues = subs.get(vid) if subs is not None else None
    if subs is not None:
        extras["subtitles"] = cues if cues is not None else []
    sample = QASample(
        qid=qid,
        video_id=vid,
        question=row.text("q"),
        choices=tuple(row.text(f"a{i}") for i in range(NUM_CHOICES)),
        answer=row.integer("answer_idx"),
        interval=interval,
        extras=extras,
    )
    sample = collector.with_unique_id(sample, rec.line)
    if interval is None:
        collector.warn(rec.line, f"time span {row.data.get('ts')!r} unusable, dropped", sample.qid)
    if subs is not None and cues is None:
        collector.warn(rec.line, f"no subtitles for {vid!r}", sample.qid)
    return sample


@DATASETS.register("tvqa")
def load_tvqa(
    annotations: Path,
    *,
    subtitles: Path | None = None,
    video_root: Path | None = None,
    mapping: Path | Mapping[str, str] | None = None,
    split: str | None = None,
) -> Benchmark[QASample]:
    """Load a TVQA split (format in the module docstring).

    Args:
        annotations: ``tvqa_<split>.jsonl``.
        subtitles: folder of ``<vid_name>.srt`` (or ``.vtt``) files, or a JSON object
            ``{vid_name: [{"start", "end", "text"}, ...]}``; optional.
        video_root: folder of the clip videos.
        mapping: clip name → relative path.
        split: split name (default: the file's stem).

    Returns:
        ``Benchmark[QASample]`` of 5-way multiple-choice samples. Rows without
        ``answer_idx`` or with missing fields are in ``issues``; unusable spans and
        clips without subtitles are ``warnings``.

    Raises:
        DataFormatError: missing file, or no line of it is JSON.
    """
    annotations = Path(annotations)
    subs = _Subtitles(Path(subtitles)) if subtitles is not None else None
    return load_benchmark(
        "tvqa",
        annotations,
        iter_json_lines(annotations),
        lambda rec, collector: _build(rec, collector, subs),
        sample_type=QASample,
        pattern=VIDEO_PATTERN,
        split=split,
        video_root=video_root,
        mapping=mapping,
        meta={"subtitles": subs is not None},
    )
