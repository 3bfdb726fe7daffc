"""In-memory data for SGVLM fine-tuning and evaluation: the questions of one split, the
frame features of their videos (:class:`~videoqa.features.store.FeatureStore`) and,
optionally, their scene-graph tokens
(:class:`~videoqa.perception.scene_graph.store.SceneGraphStore`, aligned frame by
frame with the features).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from videoqa.data.schema import QASample
from videoqa.errors import DataFormatError
from videoqa.features.store import FeatureStore
from videoqa.models.sgvlm.processing import SGVLMBatch, SGVLMProcessor


class SceneGraphFramesLike(Protocol):
    """What this module reads from a scene-graph store entry."""

    tokens: np.ndarray  # (T, K, Dsg)
    token_mask: np.ndarray  # (T, K)
    frame_indices: np.ndarray  # (T,)


class SceneGraphSource(Protocol):
    """A scene-graph store: ``get(video_id)``."""

    def get(self, video_id: str) -> SceneGraphFramesLike: ...


class SGVLMData:
    """One split ready to batch.

    Args:
        samples: multiple-choice questions (same number of candidates not required).
        features: frame features of every video of ``samples`` (same T for all).
        processor: the model's processor (tokenizes prompts and questions).
        scene_graphs: scene-graph tokens aligned with ``features``, or None.
        use_patches: also load the store's patch/region tokens.

    Raises:
        DataFormatError: no questions, an open-ended question, videos with different T,
            or scene graphs not aligned with the features (other frame indices).
        FeatureNotFoundError: a video is missing from a store.
    """

    def __init__(
        self,
        samples: Sequence[QASample],
        features: FeatureStore,
        processor: SGVLMProcessor,
        scene_graphs: SceneGraphSource | None = None,
        use_patches: bool = True,
    ) -> None:
        if not samples:
            raise DataFormatError("no questions")
        if any(s.choices is None for s in samples):
            raise DataFormatError("SGVLM training data must be multiple choice")
        self.samples = list(samples)
        self.videos = sorted({s.video_id for s in samples})
        row = {v: i for i, v in enumerate(self.videos)}
        self.video_row = torch.tensor([row[s.video_id] for s in samples])
        self._load_features(features, use_patches)
        self.sg_tokens = self.sg_mask = None
        if scene_graphs is not None:
            self._load_scene_graphs(scene_graphs)
        texts = [s.question for s in samples]
        self.prompts = processor.prompts(texts)
        self.question_ids, self.question_mask = processor.questions(texts)
        self.candidates = [list(s.choices or ()) for s in samples]
        self.answers = torch.tensor([int(s.answer) for s in samples])
        self.answer_texts = [s.choices[int(s.answer)] for s in samples]
        self.intervals = torch.tensor(
            [s.interval if s.interval is not None else (math.nan, math.nan) for s in samples],
            dtype=torch.float32,
        )
        self.qtypes = [s.qtype for s in samples]

    def _load_features(self, store: FeatureStore, use_patches: bool) -> None:
        items = [store.get(v) for v in self.videos]
        lengths = {it.frames.shape[0] for it in items}
        if len(lengths) != 1:
            raise DataFormatError(f"videos have different frame counts: {sorted(lengths)}")
        self.frame_indices = [np.asarray(it.frame_indices) for it in items]
        self.frames = torch.from_numpy(np.stack([it.frames for it in items])).float()
        self.times = torch.from_numpy(np.stack([it.times for it in items])).float()
        # uniform sampling: frame i stands for [i·c, (i+1)·c) with c = span / (T - 1)
        t = self.times.shape[1]
        span = float((self.times[:, -1] - self.times[:, 0]).median()) if t > 1 else 0.0
        self.clip_length = span / (t - 1) if span > 0 else 1.0
        self.durations = [self.clip_length * t] * len(self.videos)
        self.patches = None
        if use_patches:
            if any(it.patches is None for it in items):
                raise DataFormatError("use_patches is set but the feature store has no patches")
            self.patches = torch.from_numpy(np.stack([it.patches for it in items])).float()

    def _load_scene_graphs(self, source: SceneGraphSource) -> None:
        tokens, masks = [], []
        for video, indices in zip(self.videos, self.frame_indices, strict=True):
            sg = source.get(video)
            if not np.array_equal(np.asarray(sg.frame_indices), indices):
                raise DataFormatError(
                    f"{video}: scene graphs are not aligned with the frame features "
                    f"(frame indices {list(sg.frame_indices)[:4]}… vs {list(indices)[:4]}…)"
                )
            tokens.append(sg.tokens)
            masks.append(sg.token_mask)
        self.sg_tokens = torch.from_numpy(np.stack(tokens)).float()
        self.sg_mask = torch.from_numpy(np.stack(masks)).bool()

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def frame_dim(self) -> int:
        """D of the frame vectors."""
        return int(self.frames.shape[-1])

    @property
    def patch_dim(self) -> int | None:
        """Dp of the patch tokens, None without patches."""
        return None if self.patches is None else int(self.patches.shape[-1])

    @property
    def num_frames(self) -> int:
        """T."""
        return int(self.frames.shape[1])

    def batch(self, index: Tensor) -> SGVLMBatch:
        """The :class:`SGVLMBatch` of questions ``index`` ``(B,)``."""
        rows = self.video_row[index]
        q_ids = self.question_ids[index]
        width = max(1, int(self.question_mask[index].sum(dim=1).max()))
        return SGVLMBatch(
            frames=self.frames[rows],
            frame_mask=torch.ones(self.frames[rows].shape[:2], dtype=torch.bool),
            times=self.times[rows],
            question_ids=q_ids[:, :width],
            question_mask=self.question_mask[index][:, :width],
            prompts=[self.prompts[i] for i in index.tolist()],
            patches=None if self.patches is None else self.patches[rows],
            sg_tokens=None if self.sg_tokens is None else self.sg_tokens[rows],
            sg_mask=None if self.sg_mask is None else self.sg_mask[rows],
            intervals=self.intervals[index],
            video_index=rows,
            clip_length=self.clip_length,
        )
