"""In-memory data of the frame localizer (SGVLM stage 2): grounding examples with the
frame features of their videos and, optionally, their scene-graph tokens.

SGVLM (Dai et al., 2025, §3.5) pretrains its question-conditioned localizer on temporal
grounding before VideoQA fine-tuning. The examples are
:class:`~videoqa.data.grounding.GroundingExample` (a query, its video, one or more
moments), made from any benchmark of :mod:`videoqa.data` that has moments: QVHighlights'
``relevant_windows``, or the ``interval`` of a QA benchmark's questions (the synthetic
benchmark). The frame features come from a
:class:`~videoqa.features.store.FeatureStore` (``frames (T, Df)``, ``times (T,)``) and
the scene-graph tokens from a scene-graph store aligned with it frame by frame.

Videos with fewer frames than the longest are padded (``frame_mask`` False), so stores
with one feature per fixed-length clip (QVHighlights' 2-second clips) work as well as
uniformly sampled ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor
from transformers import PreTrainedTokenizerBase

from videoqa.data.grounding import GroundingExample
from videoqa.errors import DataFormatError
from videoqa.models.sgvlm.localizer import FrameLocalizer, LocalizerOutput


class FeatureSource(Protocol):
    """What the data reads frame features from (a :class:`FeatureStore`)."""

    def get(self, video_id: str) -> Any:
        """The video's features (``frames (T, Df)``, ``times (T,)``, ``frame_indices (T,)``)."""


class SceneGraphSource(Protocol):
    """What the data reads scene-graph tokens from (a ``SceneGraphStore``)."""

    def get(self, video_id: str) -> Any:
        """The video's ``tokens (T, K, Dsg)``, ``token_mask (T, K)``, ``frame_indices (T,)``."""


@dataclass
class LocalizerData:
    """A split as tensors (``Q`` queries over ``V`` videos of at most ``T`` frames).

    Attributes:
        examples: the ``Q`` grounding examples, in order.
        frames: ``(V, T, Df)``; times: ``(V, T)`` seconds; frame_mask: ``(V, T)`` bool
            (False on the padding of videos with fewer frames).
        durations: ``(V,)`` seconds.
        sg_tokens: ``(V, T, K, Dsg)`` or ``None``; sg_mask: ``(V, T, K)`` or ``None``.
        question_ids, question_mask: ``(Q, L)`` long / bool.
        windows: ``(Q, W, 2)`` seconds, NaN rows padding queries with fewer than ``W``
            moments; video_index: ``(Q,)`` row of each query's video.
    """

    examples: list[GroundingExample]
    frames: Tensor
    times: Tensor
    frame_mask: Tensor
    durations: Tensor
    sg_tokens: Tensor | None
    sg_mask: Tensor | None
    question_ids: Tensor
    question_mask: Tensor
    windows: Tensor
    video_index: Tensor

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def frame_dim(self) -> int:
        """``Df``."""
        return int(self.frames.shape[-1])

    @property
    def sg_dim(self) -> int | None:
        """``Dsg`` of the scene-graph tokens, None without them."""
        return None if self.sg_tokens is None else int(self.sg_tokens.shape[-1])


@dataclass
class LocalizerBatch:
    """The model inputs and targets of ``B`` queries (rows follow the indices).

    Attributes:
        qids: query ids; frames ``(B, T, Df)``; frame_mask, times ``(B, T)``;
        durations ``(B,)`` seconds; sg_tokens ``(B, T, K, Dsg)`` / sg_mask ``(B, T, K)``
        or None; question_ids / question_mask ``(B, L)`` (cut to the longest query);
        windows ``(B, W, 2)`` seconds (NaN pads); video_index ``(B,)``.
    """

    qids: list[str]
    frames: Tensor
    frame_mask: Tensor
    times: Tensor
    durations: Tensor
    sg_tokens: Tensor | None
    sg_mask: Tensor | None
    question_ids: Tensor
    question_mask: Tensor
    windows: Tensor
    video_index: Tensor

    @property
    def size(self) -> int:
        """``B``."""
        return len(self.qids)

    def to(self, device: torch.device | str, **_: object) -> LocalizerBatch:
        """The batch on ``device`` (extra keyword arguments such as ``non_blocking``
        are accepted and ignored, for ``accelerate``)."""
        moved = {
            f.name: getattr(self, f.name).to(device)
            for f in fields(self)
            if isinstance(getattr(self, f.name), Tensor)
        }
        return replace(self, **moved)

    def forward(self, model: FrameLocalizer) -> LocalizerOutput:
        """Run ``model`` on this batch; returns its :class:`LocalizerOutput`."""
        return model(
            self.frames, self.frame_mask, self.question_ids, self.question_mask,
            self.sg_tokens, self.sg_mask, self.times,
        )  # fmt: skip


def _pad(arrays: Sequence[np.ndarray], length: int, dtype: Any) -> np.ndarray:
    """Stack arrays of ``(T_i, ...)`` into ``(N, length, ...)``, zero-padded."""
    out = np.zeros((len(arrays), length, *arrays[0].shape[1:]), dtype=dtype)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def _scene_graph_arrays(
    source: SceneGraphSource, ids: Sequence[str], frame_indices: Sequence[np.ndarray], length: int
) -> tuple[Tensor, Tensor]:
    tokens, masks = [], []
    for vid, index in zip(ids, frame_indices, strict=True):
        sg = source.get(vid)
        if not np.array_equal(np.asarray(sg.frame_indices), np.asarray(index)):
            raise DataFormatError(f"{vid}: scene-graph frames are not aligned with the features")
        tokens.append(np.asarray(sg.tokens, dtype=np.float32))
        masks.append(np.asarray(sg.token_mask, dtype=bool))
    if len({t.shape[1:] for t in tokens}) != 1:
        raise DataFormatError("videos have scene-graph tokens of different shapes (K, Dsg)")
    return (
        torch.from_numpy(_pad(tokens, length, np.float32)),
        torch.from_numpy(_pad(masks, length, bool)),
    )


def build_localizer_data(
    examples: Sequence[GroundingExample],
    features: FeatureSource,
    tokenizer: PreTrainedTokenizerBase,
    max_text_len: int,
    scene_graphs: SceneGraphSource | None = None,
) -> LocalizerData:
    """Stack the features (and scene-graph tokens) of the videos of ``examples`` and
    tokenize the queries (padded/truncated to ``max_text_len`` tokens).

    Args:
        examples: the grounding examples of one split.
        features: frame features of their videos; every video has the same ``Df`` and
            at least one frame (shorter videos are padded to the longest).
        tokenizer: the LLM tokenizer whose ids the localizer embeds.
        max_text_len: most query tokens kept.
        scene_graphs: scene-graph tokens aligned with ``features`` (same
            ``frame_indices``), or None (NoSG).

    Raises:
        DataFormatError: no example, a video without frames, feature sizes that differ,
            scene graphs not aligned with the features or of different shapes.
        FeatureNotFoundError: a video missing from a store.
    """
    if not examples:
        raise DataFormatError("no query with a moment to localize")
    ids = sorted({e.video_id for e in examples})
    row = {vid: i for i, vid in enumerate(ids)}
    duration = {}
    for e in examples:
        duration.setdefault(e.video_id, e.duration)
    feats = [features.get(vid) for vid in ids]
    frames = [np.asarray(f.frames, dtype=np.float32) for f in feats]
    if len({f.shape[1:] for f in frames}) != 1 or any(f.ndim != 2 for f in frames):
        raise DataFormatError("videos have frame features of different sizes")
    if any(len(f) == 0 for f in frames):
        raise DataFormatError("a video has no frame features")
    length = max(len(f) for f in frames)
    sg_tokens = sg_mask = None
    if scene_graphs is not None:
        sg_tokens, sg_mask = _scene_graph_arrays(
            scene_graphs, ids, [f.frame_indices for f in feats], length
        )
    enc = tokenizer(
        [e.query for e in examples], padding="max_length", truncation=True,
        max_length=max_text_len, return_tensors="pt",
    )  # fmt: skip
    width = max(len(e.windows) for e in examples)
    windows = torch.full((len(examples), width, 2), float("nan"))
    for i, e in enumerate(examples):
        windows[i, : len(e.windows)] = torch.tensor(e.windows, dtype=torch.float32)
    mask = np.zeros((len(ids), length), dtype=bool)
    for i, f in enumerate(frames):
        mask[i, : len(f)] = True
    times = [np.asarray(f.times, dtype=np.float32) for f in feats]
    return LocalizerData(
        examples=list(examples),
        frames=torch.from_numpy(_pad(frames, length, np.float32)),
        times=torch.from_numpy(_pad(times, length, np.float32)),
        frame_mask=torch.from_numpy(mask),
        durations=torch.tensor([duration[vid] for vid in ids], dtype=torch.float32),
        sg_tokens=sg_tokens,
        sg_mask=sg_mask,
        question_ids=enc["input_ids"].long(),
        question_mask=enc["attention_mask"].bool(),
        windows=windows,
        video_index=torch.tensor([row[e.video_id] for e in examples], dtype=torch.long),
    )


def make_batch(data: LocalizerData, index: Tensor) -> LocalizerBatch:
    """Gather the queries ``index`` ``(B,)``; query tokens are cut to the longest real
    query of the batch."""
    vids = data.video_index[index]
    qmask = data.question_mask[index]
    length = max(1, int(qmask.sum(1).max()))
    return LocalizerBatch(
        qids=[data.examples[int(i)].qid for i in index],
        frames=data.frames[vids],
        frame_mask=data.frame_mask[vids],
        times=data.times[vids],
        durations=data.durations[vids],
        sg_tokens=None if data.sg_tokens is None else data.sg_tokens[vids],
        sg_mask=None if data.sg_mask is None else data.sg_mask[vids],
        question_ids=data.question_ids[index, :length],
        question_mask=qmask[:, :length],
        windows=data.windows[index],
        video_index=vids,
    )


def clip_length_of(data: LocalizerData) -> float:
    """Median spacing of consecutive real frame times, seconds (the median duration
    when no video has two frames)."""
    gaps = torch.diff(data.times.double(), dim=1)
    real = data.frame_mask[:, 1:] & data.frame_mask[:, :-1]
    if not bool(real.any()):
        return float(data.durations.median())
    return float(gaps[real].median())
