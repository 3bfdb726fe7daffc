"""Zero-shot video question answering with an image–text dual encoder.

The pipeline is the training-free form of two ideas the project implements in full
elsewhere:

* **frame localization** — frames are scored by their relevance to the question and the
  top-k become the *causal frames* the answer rests on (the zero-shot counterpart of
  SGVLM's question-conditioned frame localizer and of SpARC's causal frames
  V_c = {f_k | p_k,a > t}, SpARC §3.1);
* **hypothesis scoring** — each candidate answer is turned into a hypothesis
  ``"{question} {answer}"`` and matched against the localized frames (CLIP-style
  zero-shot classification, Radford et al. 2021 §3.1.2).

Optionally an N×N grid of uniformly sampled frames (top-down grid VLM) adds a global
view whose logits are averaged with the localized ones.

Stages (``AskResult.timings`` keys): ``probe``, ``sample``, ``decode``,
``encode_frames``, ``encode_text``, ``localize``, ``answer``, ``total``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, Field

from videoqa.encoders.base import ImageTextEncoder
from videoqa.errors import UsageError, VideoNotFoundError
from videoqa.pipelines.schema import (
    AskResult,
    Evidence,
    GridCellInfo,
    GridInfo,
    ModelInfo,
)
from videoqa.pipelines.vocabulary import load_answer_vocabulary
from videoqa.video.grid import GridImage, compose_grid
from videoqa.video.reader import VideoReader
from videoqa.video.samplers import VideoTiming, sample_times
from videoqa.video.types import FrameBatch, VideoInfo


class AskConfig(BaseModel):
    """Options of the zero-shot ``ask`` pipeline (the CLI flags map onto these).

    Attributes:
        frames: number of frames to sample.
        sampler: sampler registry name (``uniform``, ``head-tail``, ``fps``, ``clips``).
        sampler_options: extra keyword options of the sampler (e.g. ``{"rate": 1.0}``).
        top_k: number of localized frames the answer is computed from (the evidence).
        grid: N of an N×N grid view (0: no grid).
        grid_size: side of the grid image, pixels.
        grid_weight: weight of the grid view's logits when a grid is used, in [0, 1].
        max_side: frames are decoded with their longer side at most this many pixels.
        hypothesis_template: how a question and a candidate become one text.
        open_ended_template: text for a vocabulary answer in open-ended mode (answer
            embeddings do not depend on the question, so they are computed once).
        answer_top_k: how many vocabulary answers an open-ended result lists.
        batch_size: frames per encoder forward pass.
    """

    frames: int = Field(16, ge=1, le=1024)
    sampler: str = "uniform"
    sampler_options: dict[str, float | int] = Field(default_factory=dict)
    top_k: int = Field(4, ge=1)
    grid: int = Field(0, ge=0, le=8)
    grid_size: int = Field(336, ge=32)
    grid_weight: float = Field(0.5, ge=0.0, le=1.0)
    max_side: int = Field(640, ge=32)
    hypothesis_template: str = "{question} {answer}"
    open_ended_template: str = "{answer}"
    answer_top_k: int = Field(5, ge=1)
    batch_size: int = Field(32, ge=1)


@dataclass(frozen=True)
class AskRun:
    """What one ``ask`` produced: the typed result plus the pixels behind its evidence.

    Attributes:
        result: the answer with its evidence.
        frames: the sampled frames, ``(T, H, W, 3)`` uint8, aligned with
            ``result.sampled_times``.
        grid_image: the composed grid view, when ``AskConfig.grid > 0``.
    """

    result: AskResult
    frames: FrameBatch
    grid_image: GridImage | None


@dataclass(frozen=True)
class PreparedVideo:
    """A video decoded and encoded once, ready for any number of questions.

    Attributes:
        info: the probe (exact frame count).
        frames: the sampled frames, ``(T, H, W, 3)`` uint8 with their times (s).
        grid_image: the grid view, when ``AskConfig.grid > 0``.
        frame_embeddings: ``(T, D)`` L2-normalised frame embeddings.
        grid_embedding: ``(1, D)`` embedding of the grid view, or ``None``.
    """

    info: VideoInfo
    frames: FrameBatch
    grid_image: GridImage | None
    frame_embeddings: torch.Tensor
    grid_embedding: torch.Tensor | None


@dataclass(frozen=True)
class _Scores:
    """Intermediate scores: ``probs`` (C,), ``top`` (k,) frame rows, ``saliency`` and
    ``relevance`` (T,), ``frame_probs`` (k, C)."""

    probs: torch.Tensor
    top: torch.Tensor
    saliency: torch.Tensor
    relevance: torch.Tensor
    frame_probs: torch.Tensor


# Called with a stage's name when it starts, in the current context (thread): how a
# caller that runs a pipeline (the server's job workers) reports stage progress.
_STAGE_LISTENER: ContextVar[Callable[[str], None] | None] = ContextVar(
    "videoqa_stage_listener", default=None
)


@contextmanager
def watch_stages(listener: Callable[[str], None]) -> Iterator[None]:
    """Call ``listener(stage_name)`` whenever a :class:`StageTimer` stage starts inside
    this block, in this thread (e.g. ``probe``, ``decode``, ``encode_frames``)."""
    token = _STAGE_LISTENER.set(listener)
    try:
        yield
    finally:
        _STAGE_LISTENER.reset(token)


class StageTimer:
    """Seconds spent per named stage (``with timer.stage("decode"): ...``), summed over
    repeated stages; each start is reported to the listener of :func:`watch_stages`."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        listener = _STAGE_LISTENER.get()
        if listener is not None:
            listener(name)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


def decode_size(info: VideoInfo, max_side: int) -> tuple[int, int] | None:
    """Output ``(width, height)`` in pixels so that the longer displayed side is at most
    ``max_side`` (even sizes, aspect kept); ``None`` when the video is already small.
    Rotation (90/270) swaps the displayed sides."""
    width, height = info.width, info.height
    if info.rotation % 180 == 90:
        width, height = height, width
    longer = max(width, height)
    if longer <= max_side:
        return None
    scale = max_side / longer
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


class AskPipeline:
    """Answer questions about videos with an image–text encoder, zero-shot.

    Args:
        encoder: any :class:`~videoqa.encoders.base.ImageTextEncoder`.
        config: pipeline options.
        answer_vocabulary: open-ended candidates; ``None`` loads the bundled list.
        cache_size: how many prepared videos (decoded frames + embeddings) to keep, so
            several questions about one video decode and encode it once (0: no cache).
        warnings: what the user must be told about this model (e.g. a fallback to an
            untrained preset); copied into every result.

    Attributes:
        name: the encoder's name (what results and prediction files record).
        pretrained: whether the encoder has real pretrained weights.

    Raises (from :meth:`__call__`):
        VideoNotFoundError, UnsupportedVideoError, CorruptVideoError: bad video input.
        UsageError: empty question, fewer than two choices, duplicate choices.
    """

    def __init__(
        self,
        encoder: ImageTextEncoder,
        config: AskConfig | None = None,
        answer_vocabulary: Sequence[str] | None = None,
        cache_size: int = 8,
        warnings: Sequence[str] = (),
    ) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.pretrained = encoder.pretrained
        self.warnings = list(warnings)
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, int, int], PreparedVideo] = OrderedDict()
        self.config = config or AskConfig()
        self._vocabulary = list(answer_vocabulary) if answer_vocabulary is not None else None
        self._vocab_embeddings: torch.Tensor | None = None

    @property
    def vocabulary(self) -> list[str]:
        """Open-ended candidate answers (the bundled list unless one was given)."""
        if self._vocabulary is None:
            self._vocabulary = load_answer_vocabulary()
        return self._vocabulary

    @property
    def settings(self) -> dict[str, object]:
        """JSON-ready options that change the answers (all of :class:`AskConfig` but the
        batch size), e.g. for a prediction file's settings line."""
        return self.config.model_dump(mode="json", exclude={"batch_size"})

    def __call__(
        self, video: str | Path, question: str, choices: Sequence[str] | None = None
    ) -> AskRun:
        """Answer ``question`` about ``video``; multiple choice when ``choices`` is given.

        Returns:
            :class:`AskRun` with the :class:`AskResult` and the sampled frames.
        """
        question, choices = check_inputs(question, choices)
        timer = StageTimer()
        start = time.perf_counter()
        prepared = self.prepare(video, timer)
        result = self._answer(question, choices, prepared, timer)
        result.timings["total"] = time.perf_counter() - start
        return AskRun(result=result, frames=prepared.frames, grid_image=prepared.grid_image)

    def prepare(self, video: str | Path, timer: StageTimer | None = None) -> PreparedVideo:
        """Probe, sample, decode and encode ``video`` once; later questions about the same
        unchanged file (same path, size and modification time) reuse the result from an
        LRU cache of ``cache_size`` videos.

        Raises:
            VideoNotFoundError, UnsupportedVideoError, CorruptVideoError: bad video input.
        """
        timer = timer or StageTimer()
        key = file_key(video)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        prepared = self._prepare(video, timer)
        if self.cache_size > 0:
            self._cache[key] = prepared
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return prepared

    def _prepare(self, video: str | Path, timer: StageTimer) -> PreparedVideo:
        cfg, enc = self.config, self.encoder
        with VideoReader(video) as reader:
            with timer.stage("probe"):
                reader.frame_times()
                info = reader.info
            with timer.stage("sample"):
                timing = VideoTiming.from_info(info)
                times = sample_times(cfg.sampler, timing, cfg.frames, **cfg.sampler_options)
                grid_times = (
                    sample_times("uniform", timing, cfg.grid * cfg.grid) if cfg.grid else None
                )
            with timer.stage("decode"):
                batch, grid_batch = _decode(
                    reader, times, grid_times, decode_size(info, cfg.max_side)
                )
        grid_image = grid_emb = None
        if grid_batch is not None:
            with timer.stage("grid"):
                grid_image = compose_grid(
                    grid_batch.frames, grid_batch.times, grid=cfg.grid, size=cfg.grid_size
                )
        with timer.stage("encode_frames"):
            frame_emb = enc.encode_images(batch.frames, batch_size=cfg.batch_size)
            if grid_image is not None:
                grid_emb = enc.encode_images(grid_image.image[None])
        return PreparedVideo(info, batch, grid_image, frame_emb, grid_emb)

    def _answer(
        self,
        question: str,
        choices: list[str] | None,
        prepared: PreparedVideo,
        timer: StageTimer,
    ) -> AskResult:
        cfg, enc = self.config, self.encoder
        frame_emb, grid_emb = prepared.frame_embeddings, prepared.grid_embedding
        with timer.stage("encode_text"):
            question_emb = enc.encode_texts([question])
            candidates, cand_emb = self._candidates(question, choices)
        with timer.stage("localize"):
            relevance = enc.similarity_logits(frame_emb, question_emb)[:, 0]
            saliency = torch.softmax(relevance, dim=0)
            k = min(cfg.top_k, len(prepared.frames))
            top = torch.topk(saliency, k).indices
            weights = saliency[top] / saliency[top].sum()
        with timer.stage("answer"):
            per_frame = enc.similarity_logits(frame_emb[top], cand_emb)  # (k, C)
            logits = (weights[:, None] * per_frame).sum(dim=0)
            if grid_emb is not None:
                grid_logits = enc.similarity_logits(grid_emb, cand_emb)[0]
                logits = (1 - cfg.grid_weight) * logits + cfg.grid_weight * grid_logits
            probs = torch.softmax(logits, dim=0)
            frame_probs = torch.softmax(per_frame, dim=1)
        scores = _Scores(probs, top, saliency, relevance, frame_probs)
        return self._build_result(question, choices, candidates, scores, prepared, timer)

    def _candidates(
        self, question: str, choices: list[str] | None
    ) -> tuple[list[str], torch.Tensor]:
        cfg, enc = self.config, self.encoder
        if choices is not None:
            texts = [cfg.hypothesis_template.format(question=question, answer=c) for c in choices]
            return choices, enc.encode_texts(texts)
        if self._vocab_embeddings is None:
            texts = [cfg.open_ended_template.format(answer=a) for a in self.vocabulary]
            self._vocab_embeddings = enc.encode_texts(texts)
        return self.vocabulary, self._vocab_embeddings

    def _build_result(
        self,
        question: str,
        choices: list[str] | None,
        candidates: list[str],
        scores: _Scores,
        prepared: PreparedVideo,
        timer: StageTimer,
    ) -> AskResult:
        cfg, batch = self.config, prepared.frames
        probs, saliency, relevance = scores.probs, scores.saliency, scores.relevance
        if choices is not None:
            shown = list(range(len(candidates)))
        else:
            shown = torch.topk(probs, min(cfg.answer_top_k, len(candidates))).indices.tolist()
        shown_t = torch.tensor(shown)
        shown_choices = [candidates[i] for i in shown]
        best = int(torch.argmax(probs[shown_t]))
        evidence = []
        for row, frame in enumerate(scores.top.tolist()):
            fp = scores.frame_probs[row, shown_t]
            favoured = int(torch.argmax(fp))
            facts = [
                f"saliency {float(saliency[frame]):.3f}, rank {row + 1} of {len(batch)} "
                "sampled frames for the question",
                f"alone, this frame favours {shown_choices[favoured]!r} (p={float(fp[favoured]):.2f})",
            ]
            evidence.append(
                Evidence(
                    time=float(batch.times[frame]),
                    score=float(saliency[frame]),
                    frame_index=int(batch.indices[frame]),
                    relevance=float(relevance[frame]),
                    choice_probabilities=[float(p) for p in fp],
                    supports=shown_choices[favoured],
                    facts=facts,
                )
            )
        evidence.sort(key=lambda e: e.score, reverse=True)
        enc = self.encoder
        return AskResult(
            question=question,
            answer=shown_choices[best],
            answer_index=best,
            choices=shown_choices,
            probabilities=[float(p) for p in probs[shown_t]],
            open_ended=choices is None,
            evidence=evidence,
            sampled_times=[float(t) for t in batch.times],
            video=prepared.info,
            model=ModelInfo(
                name=enc.name,
                arch=type(enc).__name__,
                pretrained=enc.pretrained,
                embed_dim=enc.embed_dim,
            ),
            pretrained=enc.pretrained,
            sampler=cfg.sampler,
            grid=_grid_info(prepared.grid_image, cfg.grid_size),
            timings=dict(timer.timings),
            warnings=list(self.warnings),
        )


def check_inputs(question: str, choices: Sequence[str] | None) -> tuple[str, list[str] | None]:
    """The question and choices stripped of surrounding blanks.

    Raises:
        UsageError: an empty question or choice, fewer than two choices, duplicates.
    """
    question = question.strip()
    if not question:
        raise UsageError("the question is empty")
    if choices is None:
        return question, None
    cleaned = [c.strip() for c in choices]
    if len(cleaned) < 2:
        raise UsageError("multiple choice needs at least two choices")
    if any(not c for c in cleaned):
        raise UsageError("a choice is empty")
    if len(set(cleaned)) != len(cleaned):
        raise UsageError(f"duplicate choices: {cleaned}")
    return question, cleaned


def file_key(video: str | Path) -> tuple[str, int, int]:
    """Cache key of a video file: resolved path, size (bytes), modification time (ns).

    Raises:
        VideoNotFoundError: the file does not exist.
    """
    path = Path(video)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise VideoNotFoundError(f"video not found: {path}", str(path)) from None
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def _decode(
    reader: VideoReader,
    times: np.ndarray,
    grid_times: np.ndarray | None,
    size: tuple[int, int] | None,
) -> tuple[FrameBatch, FrameBatch | None]:
    """Decode the sampled frames and the grid frames in one pass over the file."""
    if grid_times is None:
        return reader.read_at(times, size=size), None
    both = reader.read_at(np.concatenate([times, grid_times]), size=size)
    n = len(times)
    head = FrameBatch(both.frames[:n], both.times[:n], both.indices[:n])
    tail = FrameBatch(both.frames[n:], both.times[n:], both.indices[n:])
    return head, tail


def _grid_info(grid_image: GridImage | None, size: int) -> GridInfo | None:
    if grid_image is None:
        return None
    cells = [
        GridCellInfo(index=c.index, row=c.row, col=c.col, time=float(c.time))
        for c in grid_image.cells
    ]
    return GridInfo(grid=grid_image.grid, size=size, cells=cells)
