"""Answer every question of a benchmark with a model and write the predictions, resumably.

:func:`run_predictions` calls an answerer — :class:`~videoqa.pipelines.ask.AskPipeline`
or anything with its call signature — on each question and appends one JSON line per
answered question to the output file, flushed at once, so an interrupted run loses at
most the question in flight. Rerunning with the same file skips the questions already
in it. A question whose video is missing or cannot be decoded is recorded as an error
(:class:`RunError`) and the run goes on; other questions of that video are not retried.

Each line (:class:`PredictionRecord`) is readable by
:func:`~videoqa.eval.predictions.read_predictions`: ``{"qid", "prediction"}`` (the option
index for multiple choice, the answer text for open-ended questions) plus the answer
text, the probabilities, and the evidence times (seconds) the answer rests on.

The settings that produced the answers (model, frames, sampler, …: whatever the caller
passes as ``settings``) are the file's first line, ``{"videoqa_settings": {...}}``; a
rerun with other settings is refused instead of silently mixing answers of two setups.

Cost: questions are answered grouped by video (stable order within a video), and
:class:`~videoqa.pipelines.ask.AskPipeline` keeps recently prepared videos (decoded
frames and their embeddings) in an LRU cache, so a video with ``q`` questions is decoded
and encoded once, not ``q`` times (NExT-QA val: 4,996 questions over 570 videos). An
answerer with a ``lookahead`` method (:class:`~videoqa.eval.lookahead.LookaheadAnswerer`)
is shown the current and the next videos with their questions before each video's
questions are asked, so it can batch the texts of many questions into one encoder pass
and decode the next video while the current one is encoded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from videoqa.data.schema import Benchmark, QASample
from videoqa.errors import DataFormatError, UsageError, VideoError
from videoqa.eval.predictions import SETTINGS_KEY
from videoqa.pipelines.schema import AskResult

#: How many videos (the current one included) a ``lookahead`` answerer is shown.
LOOKAHEAD_VIDEOS = 8


class AskRunLike(Protocol):
    """What an answerer returns: an object with an :class:`AskResult` ``result``."""

    result: AskResult


class Answerer(Protocol):
    """``answerer(video_path, question, choices_or_None) -> AskRun`` (AskPipeline's call).

    An answerer may also have ``lookahead(upcoming)``: ``upcoming`` is a list of
    ``(video path, questions)`` for the video about to be asked and the next ones (at most
    :data:`LOOKAHEAD_VIDEOS`), called before the first question of each video.
    """

    def __call__(
        self, video: str | Path, question: str, choices: Sequence[str] | None = None
    ) -> AskRunLike: ...


class EvidenceTime(BaseModel):
    """A localized moment: ``time`` in seconds and its saliency ``score`` in [0, 1]."""

    model_config = ConfigDict(frozen=True)

    time: float
    score: float


class PredictionRecord(BaseModel):
    """One line of the predictions file a model run writes.

    Attributes:
        qid: question id.
        video_id: the question's video.
        prediction: option index into the question's choices (multiple choice) or the
            answer text (open-ended).
        prediction_text: the chosen answer as text.
        candidates: the candidates scored (the choices, or the top vocabulary answers).
        probabilities: aligned with ``candidates``.
        evidence: localized frames, best first (seconds, saliency).
        model: the model's name; pretrained: whether real pretrained weights answered.
        seconds: wall time spent on the question.
    """

    model_config = ConfigDict(frozen=True)

    qid: str
    video_id: str
    prediction: int | str
    prediction_text: str
    candidates: list[str]
    probabilities: list[float]
    evidence: list[EvidenceTime]
    model: str
    pretrained: bool
    seconds: float = Field(ge=0)


class RunError(BaseModel):
    """A question that could not be answered: its id, video, and why."""

    model_config = ConfigDict(frozen=True)

    qid: str
    video_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.qid} ({self.video_id}): {self.reason}"


class RunSummary(BaseModel):
    """What a model run did.

    Attributes:
        total: questions in the benchmark (after any limit).
        skipped: questions already in the output file (not asked again).
        written: predictions written by this run.
        errors: questions that could not be answered.
        repaired: whether an incomplete last line (an interrupted write) was removed.
        seconds: wall time of the run.
    """

    total: int
    skipped: int
    written: int
    errors: list[RunError] = Field(default_factory=list)
    repaired: bool = False
    seconds: float = 0.0


@dataclass
class _Resume:
    done: set[str] = field(default_factory=set)
    repaired: bool = False
    settings: dict | None = None  # the file's settings line, if any
    rows: int = 0  # prediction rows in the file


def _repair_tail(path: Path) -> bool:
    """Make the file end with a newline; drop an incomplete last line. True if dropped."""
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return False
    cut = data.rfind(b"\n") + 1
    try:
        json.loads(data[cut:])
    except (json.JSONDecodeError, UnicodeDecodeError):
        with path.open("r+b") as fh:
            fh.truncate(cut)
        return True
    with path.open("ab") as fh:
        fh.write(b"\n")
    return False


def read_done(
    path: Path, model: str, *, id_key: str = "qid", value_key: str = "prediction"
) -> _Resume:
    """Ids already done in the JSON-lines file ``path`` (by ``model``); repairs a cut
    last line. A row counts when it holds ``id_key`` and ``value_key`` (question runs:
    ``qid``/``prediction``; quality runs: ``video_id``/``score``); a settings line
    (``{"videoqa_settings": {...}}``) is returned as ``settings``.

    Raises:
        UsageError: the file holds predictions written by another model.
        DataFormatError: the file is not UTF-8 text.
    """
    resume = _Resume()
    if not path.is_file():
        return resume
    resume.repaired = _repair_tail(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{path.name}: not UTF-8 text ({err.reason})") from None
    for line in lines:
        try:
            row = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            continue  # reported as malformed when the file is scored
        if isinstance(row, dict) and set(row) == {SETTINGS_KEY}:
            resume.settings = row[SETTINGS_KEY] if resume.settings is None else resume.settings
            continue
        if not isinstance(row, dict) or id_key not in row or value_key not in row:
            continue
        other = row.get("model")
        if other is not None and other != model:
            raise UsageError(
                f"{path.name} holds predictions of model {other!r}, not {model!r}; "
                "choose another --out to keep both"
            )
        resume.done.add(str(row[id_key]))
        resume.rows += 1
    return resume


def _describe(settings: dict) -> str:
    return ", ".join(f"{k}={json.dumps(v, sort_keys=True)}" for k, v in settings.items())


def check_settings(path: Path, resume: _Resume, settings: dict | None) -> None:
    """Refuse to add predictions made with ``settings`` to a file made with others.

    Raises:
        UsageError: the file's settings line differs from ``settings`` (the message names
            the settings that differ), or the file holds predictions but no settings line.
    """
    if settings is None or (resume.settings is None and not resume.rows):
        return
    if resume.settings is None:
        raise UsageError(
            f"{path} holds {resume.rows} predictions but does not say which settings made "
            "them; choose another --out (or delete the file) to run with these settings"
        )
    keys = [k for k in {**resume.settings, **settings} if resume.settings.get(k) != settings.get(k)]
    if keys:
        was = _describe({k: resume.settings.get(k) for k in keys})
        now = _describe({k: settings.get(k) for k in keys})
        raise UsageError(
            f"{path} holds predictions made with {was}, not {now}; choose another --out "
            "(or delete the file) to run with these settings"
        )


def _unique_choices(choices: Sequence[str]) -> tuple[list[str], list[int]]:
    """Distinct choices (stripped) and, for each, the first original index holding it."""
    unique: dict[str, int] = {}
    for i, choice in enumerate(choices):
        unique.setdefault(choice.strip(), i)
    return list(unique), list(unique.values())


def answer_one(answerer: Answerer, sample: QASample, video: Path) -> PredictionRecord:
    """Ask one question and build its prediction line.

    Options with identical text are asked once; the prediction is then the first index
    holding the chosen text.

    Raises:
        VideoError: the video is missing or cannot be decoded.
        UsageError: the question or its choices cannot be asked (empty texts).
    """
    start = time.perf_counter()
    if sample.choices is not None:
        asked, origin = _unique_choices(sample.choices)
        result = answerer(video, sample.question, asked).result
        prediction: int | str = origin[result.answer_index]
    else:
        result = answerer(video, sample.question, None).result
        prediction = result.answer
    return PredictionRecord(
        qid=sample.qid,
        video_id=sample.video_id,
        prediction=prediction,
        prediction_text=result.answer,
        candidates=list(result.choices),
        probabilities=list(result.probabilities),
        evidence=[EvidenceTime(time=e.time, score=e.score) for e in result.evidence],
        model=result.model.name,
        pretrained=result.pretrained,
        seconds=time.perf_counter() - start,
    )


def _by_video(samples: list[QASample]) -> list[tuple[str, list[QASample]]]:
    """The questions grouped by video, videos in order of their first question."""
    groups: dict[str, list[QASample]] = {}
    for sample in samples:
        groups.setdefault(sample.video_id, []).append(sample)
    return list(groups.items())


def _video_path(benchmark: Benchmark, video_id: str) -> Path | None:
    entry = benchmark.videos.entries.get(video_id)
    return None if entry is None else entry.path


def run_predictions(
    benchmark: Benchmark,
    answerer: Answerer,
    out: Path,
    *,
    model: str,
    settings: dict | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> RunSummary:
    """Answer the benchmark's questions not yet in ``out`` and append their predictions.

    Args:
        benchmark: question-answering benchmark (multiple choice or open-ended).
        answerer: e.g. an :class:`~videoqa.pipelines.ask.AskPipeline` (loaded once), or
            a :class:`~videoqa.eval.lookahead.LookaheadAnswerer` around one.
        out: JSON-lines predictions file; created if absent, appended to otherwise.
        model: the model's name, written in each line and checked when resuming.
        settings: JSON-ready settings of the run (model, frames, sampler, …), written as
            the file's first line and checked against it when resuming.
        on_step: called as ``on_step(done, total)`` after each question.

    Returns:
        :class:`RunSummary` (skipped, written, errors).

    Raises:
        UsageError: the benchmark holds no questions, or ``out`` holds another model's
            predictions or predictions made with other settings.
    """
    from videoqa.batch import default_file_timeout, is_job_failure
    from videoqa.video.reader import time_limit

    start = time.perf_counter()
    timeout = default_file_timeout()  # reading per question: $VIDEOQA_FILE_TIMEOUT
    if not all(isinstance(s, QASample) for s in benchmark.samples):
        raise UsageError(f"{benchmark.name}: a model run answers questions; this is not a QA set")
    resume = read_done(out, model)
    check_settings(out, resume, settings)
    groups = _by_video([s for s in benchmark.samples if s.qid not in resume.done])
    total = len(benchmark.samples)
    todo = sum(len(questions) for _, questions in groups)
    errors: list[RunError] = []
    bad_videos: dict[str, str] = {}
    written = step = 0
    lookahead = getattr(answerer, "lookahead", None)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as fh:
        if settings is not None and resume.settings is None:
            fh.write(json.dumps({SETTINGS_KEY: settings}) + "\n")
            fh.flush()
        for index, (video_id, questions) in enumerate(groups):
            if lookahead is not None:
                upcoming = [
                    (path, qs)
                    for vid, qs in groups[index : index + LOOKAHEAD_VIDEOS]
                    if (path := _video_path(benchmark, vid)) is not None
                ]
                lookahead(upcoming)
            for sample in questions:
                step += 1
                reason = bad_videos.get(video_id)
                if reason is None:
                    try:
                        with time_limit(timeout):
                            record = _answer(answerer, sample, benchmark)
                        fh.write(record.model_dump_json() + "\n")
                        fh.flush()
                        written += 1
                    except VideoError as err:
                        reason = bad_videos[video_id] = str(err)
                    except UsageError as err:
                        reason = str(err)
                    except Exception as err:  # any other failure of one question: recorded
                        if is_job_failure(err):
                            raise
                        reason = f"{type(err).__name__}: {err}"
                if reason is not None:
                    errors.append(RunError(qid=sample.qid, video_id=video_id, reason=reason))
                if on_step is not None:
                    on_step(total - todo + step, total)
    return RunSummary(
        total=total,
        skipped=total - todo,
        written=written,
        errors=errors,
        repaired=resume.repaired,
        seconds=time.perf_counter() - start,
    )


def _answer(answerer: Answerer, sample: QASample, benchmark: Benchmark) -> PredictionRecord:
    path = _video_path(benchmark, sample.video_id)
    if path is None:
        raise VideoError(f"no video file is known for {sample.video_id!r}")
    return answer_one(answerer, sample, path)
