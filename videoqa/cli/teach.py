"""``videoqa teach``: SpARC's image-QA teacher (§3.1) over a split.

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

from videoqa.cli._common import print_json, stderr, user_errors

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
        bad_videos: ``"video_id: reason"`` of videos that could not be decoded (BLIP).
        out: the teacher store file.
    """

    questions: int
    written: int = 0
    already_done: int = 0
    missing_features: list[str] = Field(default_factory=list)
    bad_videos: list[str] = Field(default_factory=list)
    out: str


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
) -> None:
    """Run a features teacher over ``samples`` (grouped by video, ``batch_questions`` per
    forward batch) and write each question's ``(T, C)`` probabilities."""
    from videoqa.models.imageqa import FrameFeatures

    groups = _by_video(samples)
    for vid in [v for v in groups if v not in store]:
        summary.missing_features.append(vid)
        advance(len(groups.pop(vid)))
    for chunk in _chunks(groups, batch_questions):
        feats = {v: store.get(v) for v in dict.fromkeys(s.video_id for s in chunk)}
        frames = [
            FrameFeatures(vectors=feats[s.video_id].frames, patches=feats[s.video_id].patches)
            for s in chunk
        ]
        probs = teacher.answer_probs_many(
            frames, [s.question for s in chunk], [list(s.choices) for s in chunk]
        )
        summary.written += writer.write_all(
            _record(s, p) for s, p in zip(chunk, probs, strict=True)
        )
        advance(len(chunk))


def teach_pixels(
    teacher: ImageQATeacher,
    samples: Sequence[QASample],
    store: FeatureStore,
    videos: VideoIndex,
    writer: TeacherWriter,
    summary: TeachSummary,
    *,
    advance: Advance,
) -> None:
    """Run a pixels teacher: decode each video's frames at the store's ``times`` and
    answer every question of the video on them; unreadable videos are reported."""
    from videoqa.errors import VideoError
    from videoqa.video.reader import VideoReader

    for vid, group in _by_video(samples).items():
        entry = videos.entries.get(vid)
        if vid not in store:
            summary.missing_features.append(vid)
        elif entry is None or entry.path is None:
            summary.bad_videos.append(f"{vid}: no video file")
        else:
            try:
                with VideoReader(entry.path) as reader:
                    frames = reader.read_at(store.get(vid).times)
            except VideoError as err:
                summary.bad_videos.append(f"{vid}: {err}")
            else:
                for s in group:
                    probs = teacher.answer_probs(frames, s.question, list(s.choices))
                    summary.written += writer.write(_record(s, probs))
                    advance(1)
                continue
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
    out: Path = typer.Option(..., "--out", help="Teacher store file (.h5); resumed if present."),
    video_root: Path | None = typer.Option(None, "--video-root", help="Folder of the videos."),
    batch_questions: int = typer.Option(64, "--batch-questions", help="Questions per batch."),
    device: str = typer.Option("cpu", "--device", help="Torch device."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON only."),
) -> None:
    """Store a teacher's per-frame answer probabilities for every question of a split."""
    from videoqa.features.store import FeatureStore
    from videoqa.features.teacher_store import TeacherMeta, TeacherWriter
    from videoqa.models.imageqa import load_teacher

    with user_errors():
        bench, samples = _questions(dataset, annotations, split, video_root)
        store = FeatureStore(features)
        teacher = load_teacher(teacher_spec, device=device)
        meta = TeacherMeta(
            teacher=teacher.name, dataset=dataset, split=split, features=store.meta.model_dump()
        )
        summary = TeachSummary(questions=len(samples), out=str(out))
        with TeacherWriter(out, meta) as writer, _progress() as progress:
            todo = [s for s in samples if s.qid not in writer.done]
            summary.already_done = len(samples) - len(todo)
            task = progress.add_task(f"teach {split}", total=len(todo))

            def advance(n: int) -> None:
                progress.advance(task, n)

            if teacher.input_kind == "features":
                teach_features(
                    teacher, todo, store, writer, summary,
                    batch_questions=batch_questions, advance=advance,
                )  # fmt: skip
            else:
                teach_pixels(teacher, todo, store, bench.videos, writer, summary, advance=advance)
    _print_summary(summary, as_json)


def _print_summary(summary: TeachSummary, as_json: bool) -> None:
    if as_json:
        print_json(summary)
        return
    table = Table(title=f"teacher probabilities → {summary.out}")
    for col in ("questions", "written", "already done", "missing features", "bad videos"):
        table.add_column(col)
    table.add_row(
        *(str(x) for x in (summary.questions, summary.written, summary.already_done)),
        str(len(summary.missing_features)),
        str(len(summary.bad_videos)),
    )
    Console().print(table)
    for line in summary.missing_features[:10]:
        stderr.print(f"no features: {line}", highlight=False)
    for line in summary.bad_videos[:10]:
        stderr.print(f"skipped: {line}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``teach`` to the ``videoqa`` app."""
    app.command("teach")(teach_command)
