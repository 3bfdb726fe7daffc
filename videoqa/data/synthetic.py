"""Loader of the synthetic fine-grained benchmark written by ``videoqa synth``
(:mod:`videoqa.synth`), registered as ``synthetic``.

Files (see :mod:`videoqa.synth.generate`): ``DIR/qa/{train,val,test,comp}.jsonl`` (video
questions), ``DIR/frame_qa/{train,val}.jsonl`` (image questions), ``DIR/videos/<id>.mp4``,
``DIR/scene_graphs/<id>.json``, ``DIR/meta.json``. Each JSON line holds ``qid, video_id,
question, choices, answer`` (index), ``answer_text, qtype, interval`` (``[start, end]``
seconds) and ``causal_frames`` (frame indices), then ``family, group, program,
participants, novel_combo`` (and ``frame`` for image questions), all kept in ``extras``.
"""

from __future__ import annotations

import json
from pathlib import Path

from videoqa.data.readers import (
    Collector,
    Record,
    Row,
    RowError,
    iter_json_lines,
    split_name,
    video_index,
)
from videoqa.data.registry import DATASETS
from videoqa.data.schema import Benchmark, QASample
from videoqa.errors import DataFormatError

NUM_CHOICES = 5
VIDEO_PATTERN = "{video_id}.mp4"
_USED = ("qid", "video_id", "question", "choices", "answer", "qtype", "interval")


def _build(rec: Record, *, open_ended: bool) -> QASample:
    row = Row(rec.value)
    choices = row.raw("choices")
    if not isinstance(choices, list) or len(choices) != NUM_CHOICES:
        raise RowError(f"field 'choices' must be a list of {NUM_CHOICES} texts")
    if not all(isinstance(c, str) and c for c in choices):
        raise RowError("field 'choices' must hold non-empty texts")
    interval = row.raw("interval")
    if not (isinstance(interval, list) and len(interval) == 2):
        raise RowError("field 'interval' must be [start, end] in seconds")
    frames = row.raw("causal_frames")
    if not isinstance(frames, list) or not all(isinstance(f, int) and f >= 0 for f in frames):
        raise RowError("field 'causal_frames' must be a list of frame indices")
    answer = row.integer("answer")
    extras = row.rest(*_USED)
    extras.setdefault("answer_text", choices[answer] if 0 <= answer < len(choices) else None)
    return QASample(
        qid=row.text("qid"),
        video_id=row.text("video_id"),
        question=row.text("question"),
        choices=None if open_ended else tuple(choices),
        answer=row.text("answer_text") if open_ended else answer,
        qtype=row.text("qtype"),
        interval=(float(interval[0]), float(interval[1])),
        extras=extras,
    )


def _durations(root: Path | None, video_ids: list[str]) -> dict[str, float] | None:
    meta = root / "meta.json" if root is not None else None
    if meta is None or not meta.is_file():
        return None
    try:
        cfg = json.loads(meta.read_text(encoding="utf-8"))["config"]
        duration = float(cfg["frames"]) / float(cfg["fps"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise DataFormatError(f"meta.json: unreadable generator parameters ({err})") from None
    return dict.fromkeys(video_ids, duration)


@DATASETS.register("synthetic")
def load_synthetic(
    annotations: Path,
    *,
    video_root: Path | None = None,
    split: str | None = None,
    frame_qa: bool = False,
    open_ended: bool = False,
) -> Benchmark[QASample]:
    """Load one split of a synthetic benchmark.

    Args:
        annotations: the benchmark folder (``DIR``) or one of its JSON-lines files.
        video_root: folder of the videos; default ``DIR/videos``.
        split: with a folder, which split to load (default ``"test"``); with a file, the
            split name to record (default: the file's stem).
        frame_qa: with a folder, load ``frame_qa/<split>.jsonl`` (image questions).
        open_ended: return open-ended samples (``choices=None``, ``answer`` = the answer
            text) instead of multiple-choice ones.

    Returns:
        ``Benchmark[QASample]`` named ``"synthetic"``; rows with missing or malformed
        fields are in ``issues``. Video durations (s) come from ``meta.json`` when present.

    Raises:
        DataFormatError: missing file, a file that is not JSON lines, or a broken meta.json.
    """
    annotations = Path(annotations)
    if annotations.is_dir():
        root: Path | None = annotations
        split = split or "test"
        path = root / ("frame_qa" if frame_qa else "qa") / f"{split}.jsonl"
    else:
        path = annotations
        parent = path.parent
        root = parent.parent if parent.name in ("qa", "frame_qa") else None
        split = split_name(path, split)
    collector = Collector("synthetic", path)
    samples = collector.build(iter_json_lines(path), lambda rec: _build(rec, open_ended=open_ended))
    ids = list(dict.fromkeys(s.video_id for s in samples))
    if video_root is None and root is not None:
        video_root = root / "videos"
    videos = video_index(
        ids,
        video_root=Path(video_root) if video_root is not None else None,
        pattern=VIDEO_PATTERN,
        durations=_durations(root, ids),
    )
    return collector.benchmark(
        samples,
        sample_type=QASample,
        split=split,
        videos=videos,
        meta={"source": path.name, "frame_qa": frame_qa, "open_ended": open_ended},
    )
