"""The one typed schema every benchmark loader produces.

A benchmark (:class:`Benchmark`) is a list of samples — :class:`QASample` for question
answering, :class:`MomentSample` for moment retrieval, :class:`QualitySample` for quality
(MOS) tables — plus a :class:`VideoIndex` mapping video ids to files and the list of
rows that could not be loaded (:class:`RowIssue`). Multiple-choice samples carry
``choices`` and an integer ``answer`` (index into ``choices``); open-ended samples carry
``choices=None`` and a text ``answer``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator


class QASample(BaseModel):
    """One question about one video.

    Attributes:
        qid: unique question id within the dataset (e.g. NExT-QA ``f"{video}_{qid}"``).
        video_id: the video the question is about.
        question: question text.
        choices: candidate answers for multiple choice, ``None`` for open-ended.
        answer: index into ``choices`` (multiple choice) or the answer text (open-ended).
        qtype: question type code of the benchmark (e.g. ``"CW"``, ``"TN"``).
        interval: optional ``(start, end)`` in seconds where the answer is grounded.
        extras: benchmark-specific fields kept verbatim (never needed by the metrics).
    """

    model_config = ConfigDict(frozen=True)

    qid: str
    video_id: str
    question: str
    choices: tuple[str, ...] | None = None
    answer: int | str
    qtype: str = ""
    interval: tuple[float, float] | None = None
    extras: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_answer(self) -> QASample:
        if self.choices is not None:
            if not isinstance(self.answer, int):
                raise ValueError(f"{self.qid}: multiple-choice answer must be an index")
            if not 0 <= self.answer < len(self.choices):
                raise ValueError(
                    f"{self.qid}: answer index {self.answer} outside {len(self.choices)} choices"
                )
        elif not isinstance(self.answer, str):
            raise ValueError(f"{self.qid}: open-ended answer must be text")
        if self.interval is not None and self.interval[1] < self.interval[0]:
            raise ValueError(f"{self.qid}: interval end before start: {self.interval}")
        return self

    @property
    def is_multiple_choice(self) -> bool:
        """Whether the sample has candidate answers (``choices``)."""
        return self.choices is not None

    @property
    def answer_text(self) -> str:
        """The answer as text (the chosen option for multiple choice)."""
        if self.choices is not None:
            return self.choices[int(self.answer)]
        return str(self.answer)


class VideoEntry(BaseModel):
    """A video of a benchmark: where its file is and, when known, its duration (s)."""

    model_config = ConfigDict(frozen=True)

    video_id: str
    path: Path | None = None
    duration: float | None = None


class VideoIndex(BaseModel):
    """Video id → :class:`VideoEntry`."""

    entries: dict[str, VideoEntry] = Field(default_factory=dict)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self.entries

    def __getitem__(self, video_id: str) -> VideoEntry:
        return self.entries[video_id]

    def __len__(self) -> int:
        return len(self.entries)


class RowIssue(BaseModel):
    """A row of an annotation or prediction file that was not loaded as is.

    Attributes:
        source: the file's name (no directory, so reports stay free of absolute paths).
        line: 1-based line of the file where the row starts (CSV records, JSON lines, and
            the elements of JSON documents alike).
        key: the row's id when it could be read (question id, video id, JSON key).
        reason: why the row was not loaded, or what was changed while loading it.
    """

    model_config = ConfigDict(frozen=True)

    source: str
    line: int = Field(ge=1)
    key: str | None = None
    reason: str

    def __str__(self) -> str:
        key = f" [{self.key}]" if self.key is not None else ""
        return f"{self.source}:{self.line}{key}: {self.reason}"


class MomentSample(BaseModel):
    """One natural-language query of a moment retrieval / highlight detection benchmark.

    The layout is QVHighlights' (Lei et al., NeurIPS 2021, "QVHighlights: Detecting
    Moments and Highlights in Videos via Natural Language Queries", §3): videos are cut
    into consecutive 2-second clips, clip ``i`` covering ``[2 i, 2 i + 2)`` seconds.

    Attributes:
        qid: query id (QVHighlights' integer ``qid`` as text).
        query: the query sentence.
        vid: video id, e.g. ``"NUsG9BgSes0_210.0_360.0"``.
        duration: video length in seconds.
        relevant_windows: ``(start, end)`` seconds of each moment that matches the query;
            empty when the split carries no labels (the test split).
        relevant_clip_ids: indices of the 2-second clips inside the relevant windows.
        saliency_scores: for each relevant clip (same order as ``relevant_clip_ids``) the
            scores of the 3 annotators, integers 0 (very bad) to 4 (very good).
        extras: other fields of the row, kept verbatim.
    """

    model_config = ConfigDict(frozen=True)

    CLIP_SECONDS: ClassVar[float] = 2.0

    qid: str
    query: str
    vid: str
    duration: float = Field(gt=0)
    relevant_windows: tuple[tuple[float, float], ...] = ()
    relevant_clip_ids: tuple[int, ...] = ()
    saliency_scores: tuple[tuple[int, int, int], ...] = ()
    extras: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> MomentSample:
        for start, end in self.relevant_windows:
            if not 0 <= start <= end:
                raise ValueError(f"{self.qid}: bad window ({start}, {end})")
        if len(self.saliency_scores) != len(self.relevant_clip_ids):
            raise ValueError(
                f"{self.qid}: {len(self.saliency_scores)} saliency scores for "
                f"{len(self.relevant_clip_ids)} relevant clips"
            )
        if any(not 0 <= s <= 4 for scores in self.saliency_scores for s in scores):
            raise ValueError(f"{self.qid}: saliency scores must lie in 0..4")
        if any(c < 0 for c in self.relevant_clip_ids):
            raise ValueError(f"{self.qid}: negative clip id")
        return self

    @property
    def num_clips(self) -> int:
        """Number of 2-second clips of the video, ``ceil(duration / 2)``."""
        return math.ceil(self.duration / self.CLIP_SECONDS)


class QualitySample(BaseModel):
    """One video of a perceptual-quality table (KoNViD-1k, LIVE-VQC, LSVQ, YouTube-UGC).

    Attributes:
        video_id: the table's video name (e.g. KoNViD-1k's ``flickr_id``).
        mos: mean opinion score on the table's own scale (1–5 for KoNViD-1k, 0–100 for
            LIVE-VQC and LSVQ); not rescaled.
        std: standard deviation of the opinion scores, same scale, when the table has it.
        extras: the row's other columns, verbatim (text).
    """

    model_config = ConfigDict(frozen=True)

    video_id: str
    mos: float = Field(allow_inf_nan=False)
    std: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    extras: dict[str, Any] = Field(default_factory=dict)


SampleT = TypeVar("SampleT", QASample, MomentSample, QualitySample)


class Benchmark(BaseModel, Generic[SampleT]):
    """What every dataset loader returns: the samples of one split of one benchmark.

    Every record of the source file(s) is accounted for: it is either a sample or an
    entry of ``issues`` (``len(samples) + len(issues) == records``). Rows that loaded
    but were changed on the way (a duplicate id renamed, an unusable time span dropped)
    are listed in ``warnings``.

    Attributes:
        name: registered dataset name, e.g. ``"nextqa-mc"``.
        split: split name, by default the annotation file's stem (``"val"``).
        samples: the loaded samples, in file order.
        videos: video id → file (``video_root / relative path``; the relative path alone
            when no video root was given). Building it never touches the disk.
        issues: rows that could not be loaded, with their line numbers.
        warnings: rows that loaded with a change, with their line numbers.
        records: number of records read from the annotation file(s).
        meta: loader details (sources, options, counts), JSON-serialisable.
    """

    name: str
    split: str
    samples: list[SampleT]
    videos: VideoIndex = Field(default_factory=VideoIndex)
    issues: list[RowIssue] = Field(default_factory=list)
    warnings: list[RowIssue] = Field(default_factory=list)
    records: int = Field(ge=0)
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_accounting(self) -> Benchmark:
        if len(self.samples) + len(self.issues) != self.records:
            raise ValueError(
                f"{self.name}: {len(self.samples)} samples + {len(self.issues)} issues "
                f"!= {self.records} records read"
            )
        ids = [_sample_id(s) for s in self.samples]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.name}: sample ids are not unique")
        return self

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def ids(self) -> list[str]:
        """Sample ids in order (``qid``, or ``video_id`` for quality tables)."""
        return [_sample_id(s) for s in self.samples]

    def by_id(self) -> dict[str, SampleT]:
        """Sample id → sample."""
        return {_sample_id(s): s for s in self.samples}

    def missing_videos(self) -> list[str]:
        """Ids of indexed videos whose file does not exist (this checks the disk).

        Videos without a path, or with a relative path (no video root), are listed too.
        """
        return [
            vid
            for vid, entry in self.videos.entries.items()
            if entry.path is None or not entry.path.is_absolute() or not entry.path.is_file()
        ]


def _sample_id(sample: QASample | MomentSample | QualitySample) -> str:
    return sample.video_id if isinstance(sample, QualitySample) else sample.qid
