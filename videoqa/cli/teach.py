"""``videoqa extract teacher``: SpARC's image-QA teacher (§3.1) over a split.

``teach`` runs a teacher once over every (video, question) of a split and stores the
per-frame answer probabilities, aligned with a feature store's sampled frames, in a
teacher store (:mod:`videoqa.features.teacher_store`). The feature teacher itself is
trained by ``videoqa train --recipe teacher`` (:mod:`videoqa.recipes.teacher`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from videoqa.batch import ErrorLog, ItemFailure, prepare_output, run_item
from videoqa.cli import _common
from videoqa.cli._common import (
    file_timeout_option,
    overwrite_option,
    print_json,
    resume_option,
    retry_errors_option,
    stderr,
    user_errors,
)

if TYPE_CHECKING:
    import numpy as np

    from videoqa.data.schema import Benchmark, QASample, VideoIndex
    from videoqa.features.store import FeatureStore
    from videoqa.features.teacher_store import TeacherProbs, TeacherWriter
    from videoqa.models.imageqa import ImageQATeacher

Advance = Callable[[int], None]


class TeachSummary(BaseModel):
    """What a ``teach`` run did.

    Attributes:
        questions: questions in the split.
        written: questions whose probabilities this run stored.
        already_done: questions found in the output file (or its shards) and skipped.
        missing_features: video ids not in the feature store (their questions skipped).
        bad_videos: ``"video_id: reason"`` of videos whose questions failed in this run
            (a video that cannot be decoded, an error of the teacher on it), also in
            :attr:`errors_file`.
        known_bad: videos not tried again: they failed with a video error on the same
            unchanged file before (``--retry-errors`` retries them).
        out: the teacher store file.
        errors_file: the JSON-lines error log, one line per failed video
            (:mod:`videoqa.batch`).
    """

    questions: int
    written: int = 0
    already_done: int = 0
    missing_features: list[str] = Field(default_factory=list)
    bad_videos: list[str] = Field(default_factory=list)
    known_bad: int = 0
    out: str
    errors_file: str = ""


def errors_path(out: Path) -> Path:
    """The error log of the teacher store ``out``: ``train.h5`` → ``train.errors.jsonl``."""
    return out.with_name(out.stem + ".errors.jsonl")


class _Failures:
    """Per-video failures of a teach run: summary lines and the error log."""

    def __init__(self, summary: TeachSummary, log: ErrorLog) -> None:
        self.summary, self.log = summary, log
        self.failed: set[str] = set()

    def add(self, failure: ItemFailure) -> None:
        self.failed.add(failure.video_id)
        self.summary.bad_videos.append(f"{failure.video_id}: {failure.reason}")
        self.log.record(failure)


def _by_video(samples: Sequence[QASample]) -> dict[str, list[QASample]]:
    groups: dict[str, list[QASample]] = defaultdict(list)
    for s in samples:
        groups[s.video_id].append(s)
    return groups


def _chunks(groups: dict[str, list[QASample]], size: int) -> Iterator[list[QASample]]:
    """Consecutive lists of about ``size`` questions, never splitting a video."""
    chunk: list[QASample] = []
    for samples in groups.values():
        chunk.extend(samples)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=False,
    )


def _record(sample: QASample, probs: np.ndarray) -> TeacherProbs:
    from videoqa.features.teacher_store import TeacherProbs

    return TeacherProbs(
        qid=sample.qid, video_id=sample.video_id, probs=probs, answer=int(sample.answer)
    )


def teach_features(
    teacher: ImageQATeacher,
    samples: Sequence[QASample],
    store: FeatureStore,
    writer: TeacherWriter,
    summary: TeachSummary,
    *,
    batch_questions: int,
    advance: Advance,
    failures: _Failures | None = None,
) -> None:
    """Run a features teacher over ``samples`` (grouped by video, ``batch_questions`` per
    forward batch) and write each question's ``(T, C)`` probabilities.

    When a batch fails, its videos are run one by one so that only the videos that fail
    are recorded (``failures``; without it the error propagates)."""
    groups = _by_video(samples)
    for vid in [v for v in groups if v not in store]:
        summary.missing_features.append(vid)
        advance(len(groups.pop(vid)))
    for chunk in _chunks(groups, batch_questions):
        if failures is None:
            summary.written += _teach_chunk(teacher, chunk, store, writer)
        else:
            result = run_item("batch", lambda c=chunk: _teach_chunk(teacher, c, store, writer))
            if isinstance(result, ItemFailure):
                for vid, group in _by_video(chunk).items():
                    one = run_item(vid, lambda g=group: _teach_chunk(teacher, g, store, writer))
                    if isinstance(one, ItemFailure):
                        failures.add(one)
                    else:
                        summary.written += one
            else:
                summary.written += result
        advance(len(chunk))


def _teach_chunk(
    teacher: ImageQATeacher, chunk: list[QASample], store: FeatureStore, writer: TeacherWriter
) -> int:
    """Answer the questions of ``chunk`` in one batch and write them (all or none)."""
    from videoqa.models.imageqa import FrameFeatures

    feats = {v: store.get(v) for v in dict.fromkeys(s.video_id for s in chunk)}
    frames = [
        FrameFeatures(vectors=feats[s.video_id].frames, patches=feats[s.video_id].patches)
        for s in chunk
    ]
    probs = teacher.answer_probs_many(
        frames, [s.question for s in chunk], [list(s.choices) for s in chunk]
    )
    records = [_record(s, p) for s, p in zip(chunk, probs, strict=True)]
    return writer.write_all(records)


def teach_pixels(
    teacher: ImageQATeacher,
    samples: Sequence[QASample],
    store: FeatureStore,
    videos: VideoIndex,
    writer: TeacherWriter,
    summary: TeachSummary,
    *,
    advance: Advance,
    failures: _Failures | None = None,
    timeout: float | None = None,
) -> None:
    """Run a pixels teacher: decode each video's frames at the store's ``times`` and
    answer every question of the video on them. Any failure of a video (no file,
    unreadable, over the ``timeout`` seconds of reading, an error of the teacher on it)
    is reported in ``summary.bad_videos`` and ``failures``, and the run goes on; the
    questions of a video are written together, after all of them were answered."""
    from videoqa.errors import VideoError
    from videoqa.video.reader import VideoReader

    for vid, group in _by_video(samples).items():
        entry = videos.entries.get(vid)
        if vid not in store:
            summary.missing_features.append(vid)
            advance(len(group))
            continue
        path = None if entry is None else entry.path

        def work(group: list[QASample] = group, path: Path | None = path, vid: str = vid) -> int:
            if path is None:
                raise VideoError(f"{vid}: no video file", None)
            with VideoReader(path) as reader:
                frames = reader.read_at(store.get(vid).times)
            records = [
                _record(s, teacher.answer_probs(frames, s.question, list(s.choices))) for s in group
            ]
            return writer.write_all(records)

        result = run_item(vid, work, path=path, timeout=timeout)
        if isinstance(result, ItemFailure):
            if failures is None:
                summary.bad_videos.append(f"{vid}: {result.reason}")
            else:
                failures.add(result)
        else:
            summary.written += result
        advance(len(group))


def _questions(
    dataset: str, annotations: Path, split: str, video_root: Path | None
) -> tuple[Benchmark, list[QASample]]:
    from videoqa.data import load_dataset
    from videoqa.errors import UsageError

    options: dict[str, object] = {"split": split}
    if video_root is not None:
        options["video_root"] = video_root
    bench = load_dataset(dataset, annotations, **options)
    samples = [s for s in bench.samples if s.choices is not None]
    if not samples:
        raise UsageError(f"{annotations}: split {split!r} holds no multiple-choice questions")
    return bench, samples


def teach_command(
    dataset: str = typer.Option("synthetic", "--dataset", help="Registered dataset name."),
    annotations: Path = typer.Option(..., "--annotations", help="Benchmark folder or file."),
    split: str = typer.Option("train", "--split", help="Split to run over."),
    features: Path = typer.Option(..., "--features", help="Feature store folder."),
    teacher_spec: str = typer.Option(
        ..., "--teacher", help="feature:<dir> (trained feature teacher) or blip:<hub id or dir>."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Teacher store file (.h5); --resume continues one."
    ),
    resume: bool = resume_option("teacher store"),
    overwrite: bool = overwrite_option("teacher store"),
    video_root: Path | None = typer.Option(None, "--video-root", help="Folder of the videos."),
    batch_questions: int = typer.Option(
        64, "--batch-size", help="Questions per forward pass of the teacher."
    ),
    device: str = typer.Option("cpu", "--device", help="Torch device."),
    file_timeout: float | None = file_timeout_option(),
    retry_errors: bool = retry_errors_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON only."),
) -> None:
    """Store a teacher's per-frame answer probabilities for every question of a split.

    A video whose questions fail is recorded in OUT's error log (``train.h5`` →
    ``train.errors.jsonl``, one line per video) and the run goes on.
    """
    from videoqa.batch import resolve_timeout
    from videoqa.features.store import FeatureStore
    from videoqa.features.teacher_store import TeacherMeta, TeacherWriter
    from videoqa.models.imageqa import load_teacher

    with user_errors():
        prepare_output(out, what="teacher store", resume=resume, overwrite=overwrite)
        if overwrite:
            errors_path(out).unlink(missing_ok=True)
        timeout = resolve_timeout(file_timeout)
        bench, samples = _questions(dataset, annotations, split, video_root)
        store = FeatureStore(features)
        teacher = load_teacher(teacher_spec, device=device)
        meta = TeacherMeta(
            teacher=teacher.name, dataset=dataset, split=split, features=store.meta.model_dump()
        )
        log = ErrorLog(errors_path(out))
        summary = TeachSummary(questions=len(samples), out=str(out), errors_file=str(log.path))
        failures = _Failures(summary, log)
        with TeacherWriter(out, meta) as writer, _progress() as progress:
            todo = [s for s in samples if s.qid not in writer.done]
            summary.already_done = len(samples) - len(todo)
            if not retry_errors:
                todo, known = _drop_known_bad(todo, log, bench.videos)
                summary.known_bad = len(known)
            task = progress.add_task(f"teach {split}", total=len(todo))

            def advance(n: int) -> None:
                progress.advance(task, n)

            try:
                if teacher.input_kind == "features":
                    teach_features(
                        teacher, todo, store, writer, summary,
                        batch_questions=batch_questions, advance=advance, failures=failures,
                    )  # fmt: skip
                else:
                    teach_pixels(
                        teacher, todo, store, bench.videos, writer, summary,
                        advance=advance, failures=failures, timeout=timeout,
                    )  # fmt: skip
            finally:
                done = {s.video_id for s in todo} - failures.failed
                if log.path.parent.is_dir():
                    log.compact(resolved=done)
    _print_summary(summary, as_json)


def _drop_known_bad(
    todo: list[QASample], log: ErrorLog, videos: VideoIndex
) -> tuple[list[QASample], list[ItemFailure]]:
    """Questions whose video did not fail before on its unchanged file, and those failures."""

    def key(sample: QASample) -> tuple[str, Path | None]:
        entry = videos.entries.get(sample.video_id)
        return sample.video_id, None if entry is None else entry.path

    keep, known = log.partition(todo, key)
    return keep, list({f.video_id: f for f in known}.values())


def _print_summary(summary: TeachSummary, as_json: bool) -> None:
    if as_json:
        print_json(summary)
        return
    table = Table(title=f"teacher probabilities → {summary.out}")
    columns = ("questions", "written", "already done", "missing features", "bad videos",
               "known bad")  # fmt: skip
    for col in columns:
        table.add_column(col)
    table.add_row(
        *(str(x) for x in (summary.questions, summary.written, summary.already_done)),
        str(len(summary.missing_features)),
        str(len(summary.bad_videos)),
        str(summary.known_bad),
    )
    Console().print(table)
    for line in summary.missing_features[:10]:
        stderr.print(f"no features: {line}", highlight=False)
    for line in summary.bad_videos[:10]:
        stderr.print(f"skipped: {line}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``extract teacher`` to the ``videoqa`` app."""
    _common.group(app, "extract").command("teacher")(teach_command)
