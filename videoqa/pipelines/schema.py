"""Typed results of the ``ask`` pipeline.

Every answer carries the evidence it rests on: the times (seconds) and frame indices
of the localized frames, how strongly each supports each candidate answer, and, when a
grid view was used, which grid cell shows which moment.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from videoqa.video.types import VideoInfo


class Evidence(BaseModel):
    """One localized moment the answer rests on.

    Attributes:
        time: presentation time of the frame, seconds from the start of the video.
        score: saliency of the frame for the question, in [0, 1] (softmax over the
            sampled frames of the frame–question relevance); the list is sorted by it.
        frame_index: display index of the frame in the video.
        relevance: the raw frame–question logit the score was computed from.
        choice_probabilities: per-candidate probabilities from this frame alone,
            aligned with :attr:`AskResult.choices`.
        supports: the candidate this frame alone favours.
        facts: human-readable facts the frame contributes (e.g. a measured quality
            feature, a scene-graph triplet).
        image: path of the saved frame, when evidence was saved.
        modality: what the evidence is read from: ``"visual"`` (frames), ``"speech"``
            (a transcript or subtitle segment) or ``"quality"`` (quality perception).
        start: start of the evidence's time span, seconds (``None`` for a single
            frame, whose time is :attr:`time`).
        end: end of the time span, seconds (``None`` for a single frame).
        words: the words said in the span, for speech evidence.
        weight_map: per-region weights over the frame (e.g. token-level attention
            pooled over patches or grid cells), row-major, ``(rows, cols)`` nested
            lists in [0, 1]; empty when the path gives none.
    """

    time: float
    score: float
    modality: str = "visual"
    start: float | None = None
    end: float | None = None
    words: list[str] = Field(default_factory=list)
    weight_map: list[list[float]] = Field(default_factory=list)
    frame_index: int | None = None
    relevance: float | None = None
    choice_probabilities: list[float] = Field(default_factory=list)
    supports: str | None = None
    facts: list[str] = Field(default_factory=list)
    image: str | None = None


class GridCellInfo(BaseModel):
    """Cell ``index`` (row-major) of the grid view shows the frame at ``time`` seconds."""

    index: int
    row: int
    col: int
    time: float


class GridInfo(BaseModel):
    """The N×N grid view of the video (top-down grid paper) and its cell → time map."""

    grid: int
    size: int
    cells: list[GridCellInfo]
    image: str | None = None


class QualityPoint(BaseModel):
    """The quality of one second of the video (VQA²'s per-second unit): ``start`` to
    ``end`` seconds, overall ``score`` on the 1–5 MOS scale (5 excellent)."""

    start: float
    end: float
    score: float


class ModelInfo(BaseModel):
    """Which model answered: its name (the ``--model`` spec: registry name, hub id,
    directory or ``arch:DIR``), architecture, whether real pretrained weights were
    loaded, and, for a model that reads cached frame features (a trained backbone or
    SGVLM), the frame encoder those features come from."""

    name: str
    arch: str
    pretrained: bool
    embed_dim: int | None = None
    frame_encoder: str | None = None


class AskResult(BaseModel):
    """The answer to one question about one video.

    Attributes:
        question: the question as asked.
        answer: the chosen answer text.
        answer_index: index of ``answer`` in ``choices``.
        explanation: a sentence stating the answer in context, when the path that
            answered phrases one (e.g. ``"fair (3.04 / 5)"`` for a quality rating).
        choices: the candidates scored: the user's choices for multiple choice, the
            top-k answers of the answer vocabulary for open-ended questions.
        probabilities: aligned with ``choices``. For multiple choice they sum to 1; for
            open-ended questions they are the softmax over the whole vocabulary,
            reported for the top-k only.
        open_ended: whether the question was answered against an answer vocabulary.
        route: which path answered: ``"visual"`` (image–text relevance),
            ``"quality"`` (video quality perception, VQA²) or ``"speech"``
            (transcript / subtitles).
        evidence: localized moments, sorted by score (descending).
        sampled_times: all sampled frame times, seconds.
        video: the probe of the video.
        model: the model that answered.
        pretrained: ``True`` only when real pretrained weights answered.
        sampler: the frame sampler used.
        grid: the grid view, when one was composed.
        timings: seconds spent per stage (``probe``, ``decode``, ``encode_frames``, …).
        warnings: anything the user should know (e.g. a fallback to an untrained model).
        uncertain: ``True`` when the answer is not a real decision (a tie, or choices
            the answering path cannot map onto its outputs); the reason is in
            :attr:`uncertain_reason`.
        uncertain_reason: why the answer is uncertain.
        quality_curve: for the quality route, the overall quality of every second of
            the video (the curve under the player); empty on other routes.
    """

    model_config = ConfigDict(extra="forbid")

    question: str
    answer: str
    answer_index: int
    explanation: str | None = None
    choices: list[str]
    probabilities: list[float]
    open_ended: bool
    route: str = "visual"
    evidence: list[Evidence]
    sampled_times: list[float]
    video: VideoInfo
    model: ModelInfo
    pretrained: bool
    sampler: str
    grid: GridInfo | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    uncertain: bool = False
    uncertain_reason: str | None = None
    quality_curve: list[QualityPoint] = Field(default_factory=list)
