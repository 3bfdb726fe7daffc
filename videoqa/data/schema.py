"""The one typed schema every benchmark loader produces.

A benchmark is a list of :class:`QASample` plus a :class:`VideoIndex` mapping video ids
to files. Multiple-choice samples carry ``choices`` and an integer ``answer`` (index
into ``choices``); open-ended samples carry ``choices=None`` and a text ``answer``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
