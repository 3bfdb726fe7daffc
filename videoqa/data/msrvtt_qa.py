"""MSRVTT-QA (``msrvtt-qa``), and the reader it shares with MSVD-QA.

Source: Xu et al., "Video Question Answering via Gradually Refined Attention over
Appearance and Motion", ACM Multimedia 2017, §4.1 (questions generated from the
MSR-VTT and MSVD captions); files of the authors' release (xudejing/video-question-
answering): ``{train,val,test}_qa.json``.

Format: a JSON array of ``{"id": 0, "video_id": 0, "question": "...", "answer": "man"}``
(MSRVTT-QA rows also carry ``category_id``, kept in ``extras``). Some re-releases name
the video field ``video``; both are accepted. Answers are single words, open-ended.

Question ids are the ``id`` as text. The question type is the question's first word
(``what who how when where``; anything else ``other``), the breakdown the paper reports.
An integer MSRVTT ``video_id`` ``N`` is the video ``videoN`` (file
``<video_root>/videoN.mp4``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from videoqa.data.readers import Collector, Record, Row, iter_json_list, load_benchmark
from videoqa.data.registry import DATASETS
from videoqa.data.schema import Benchmark, QASample

#: Question words of the MSRVTT-QA / MSVD-QA per-type breakdown.
QUESTION_WORDS: tuple[str, ...] = ("what", "who", "how", "when", "where")


def question_word_type(question: str) -> str:
    """The question's first word when it is one of :data:`QUESTION_WORDS`, else ``"other"``."""
    first = question.strip().split(" ", 1)[0].lower()
    return first if first in QUESTION_WORDS else "other"


def _build(rec: Record, collector: Collector, video_name: Callable[[object], str]) -> QASample:
    row = Row(rec.value)
    qid = row.text("id")
    question = row.text("question")
    sample = QASample(
        qid=qid,
        video_id=video_name(row.raw("video_id", "video")),
        question=question,
        answer=row.text("answer"),
        qtype=question_word_type(question),
        extras=row.rest("id", "video_id", "video", "question", "answer"),
    )
    return collector.with_unique_id(sample, rec.line)


def load_xu2017_qa(
    name: str,
    annotations: Path,
    *,
    video_name: Callable[[object], str],
    pattern: str,
    video_root: Path | None,
    mapping: Path | Mapping[str, str] | None,
    split: str | None,
) -> Benchmark[QASample]:
    """Load an MSRVTT-QA / MSVD-QA style JSON array (format in the module docstring).

    Args:
        name: dataset name.
        annotations: the split's JSON file.
        video_name: raw ``video_id`` / ``video`` value → video id (raises ``RowError``).
        pattern: relative video path pattern, ``{video_id}`` replaced.
        video_root, mapping, split: as for every loader.

    Raises:
        DataFormatError: missing file, broken JSON, not a JSON array.
    """
    annotations = Path(annotations)
    return load_benchmark(
        name,
        annotations,
        iter_json_list(annotations),
        lambda rec, collector: _build(rec, collector, video_name),
        sample_type=QASample,
        pattern=pattern,
        split=split,
        video_root=video_root,
        mapping=mapping,
    )


def prefixed_video_name(prefix: str) -> Callable[[object], str]:
    """Integer ids become ``f"{prefix}{N}"``; text ids are kept (``"7"`` → ``prefix + "7"``)."""

    def name(value: object) -> str:
        text = Row({"video_id": value}).text("video_id")
        return f"{prefix}{text}" if text.isdigit() else text

    return name


@DATASETS.register("msrvtt-qa")
def load_msrvtt_qa(
    annotations: Path,
    *,
    video_root: Path | None = None,
    mapping: Path | Mapping[str, str] | None = None,
    split: str | None = None,
) -> Benchmark[QASample]:
    """Load an MSRVTT-QA split: ``Benchmark[QASample]`` of open-ended samples; rows with
    missing fields are in ``issues``, repeated ids renamed ``"<id>#2"`` (warnings).

    Args:
        annotations: ``<split>_qa.json``.
        video_root: folder of the MSR-VTT videos (``video0.mp4`` …).
        mapping: video id (``"video0"``) → relative path.
        split: split name (default: the file's stem).

    Raises:
        DataFormatError: missing file, broken JSON, not a JSON array.
    """
    return load_xu2017_qa(
        "msrvtt-qa",
        annotations,
        video_name=prefixed_video_name("video"),
        pattern="{video_id}.mp4",
        video_root=video_root,
        mapping=mapping,
        split=split,
    )
