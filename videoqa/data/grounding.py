"""Temporal grounding examples: a text query, its video and the moments that answer it.

The frame localizer of SGVLM (Dai et al., 2025, §3.5) is pretrained on moment retrieval
(UniVTG's objective, Lin et al., ICCV 2023, §3.3). Two kinds of benchmark supply such
examples, and this module turns both into one type, :class:`GroundingExample`:

- moment-retrieval benchmarks (:class:`~videoqa.data.schema.MomentSample`, e.g.
  ``qvhighlights``): the query with its ``relevant_windows`` (one or more) and the
  video's ``duration``;
- question-answering benchmarks whose questions carry the ``interval`` their answer is
  grounded in (:class:`~videoqa.data.schema.QASample`, e.g. ``synthetic``): the question
  as query, the interval as the one window, the duration from the benchmark's video
  index.

Samples without a moment (QVHighlights' test split, questions without an interval) are
not grounding examples and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from videoqa.data.schema import Benchmark, MomentSample, QASample
from videoqa.errors import DataFormatError


class GroundingExample(BaseModel):
    """One query to localize in one video.

    Attributes:
        qid: query / question id (unique within the split).
        video_id: the video.
        query: the query sentence (a question for QA benchmarks).
        duration: video length, seconds (> 0).
        windows: the ``(start, end)`` seconds of each moment that answers the query, at
            least one, each ``0 <= start <= end``.
    """

    model_config = ConfigDict(frozen=True)

    qid: str
    video_id: str
    query: str
    duration: float = Field(gt=0)
    windows: tuple[tuple[float, float], ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> GroundingExample:
        for start, end in self.windows:
            if not 0 <= start <= end:
                raise ValueError(f"{self.qid}: bad window ({start}, {end})")
        return self


def grounding_examples(
    benchmark: Benchmark, samples: Iterable[QASample | MomentSample] | None = None
) -> list[GroundingExample]:
    """The grounding examples of ``benchmark`` (or of the given subset of its samples),
    in sample order; samples without a moment are skipped.

    Args:
        benchmark: a loaded split (its video index gives the durations of QA samples).
        samples: the samples to convert (default: all of ``benchmark.samples``).

    Returns:
        One :class:`GroundingExample` per sample with at least one moment.

    Raises:
        DataFormatError: a QA sample with an interval whose video has no duration in
            the index (the message counts them and names one), or a window outside
            ``0 <= start <= end``.
    """
    out: list[GroundingExample] = []
    missing: list[str] = []
    for sample in benchmark.samples if samples is None else samples:
        if isinstance(sample, MomentSample):
            if not sample.relevant_windows:
                continue
            video, query, duration = sample.vid, sample.query, sample.duration
            windows = tuple(tuple(map(float, w)) for w in sample.relevant_windows)
        elif isinstance(sample, QASample):
            if sample.interval is None:
                continue
            entry = benchmark.videos.entries.get(sample.video_id)
            if entry is None or entry.duration is None:
                missing.append(sample.video_id)
                continue
            video, query, duration = sample.video_id, sample.question, entry.duration
            windows = (tuple(map(float, sample.interval)),)
        else:
            raise DataFormatError(
                f"{benchmark.name}: {type(sample).__name__} samples have no moments to localize"
            )
        try:
            out.append(
                GroundingExample(
                    qid=sample.qid, video_id=video, query=query, duration=duration, windows=windows
                )
            )
        except ValueError as err:
            raise DataFormatError(f"{benchmark.name}: {err}") from None
    if missing:
        videos = sorted(set(missing))
        raise DataFormatError(
            f"{benchmark.name}: {len(videos)} videos without a duration, e.g. {videos[0]}"
        )
    return out
