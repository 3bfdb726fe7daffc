"""Frames and ground-truth frame scene graphs, for training and evaluating the
scene-graph predictor.

A benchmark folder holds ``videos/<video_id>.mp4`` and ``scene_graphs/<video_id>.json``,
one JSON object per video (the synthetic benchmark writes them; any dataset converted to
this form trains the predictor)::

    {"video_id": "train_00001", "split": "train", "num_frames": 64,
     "width": 112, "height": 112,
     "frames": [{"index": 0,
                 "objects": [{"id": 3, "bbox": [x1, y1, x2, y2], "shape": "circle", ...}],
                 "relations": [[3, "left_of", 5], ...]}, ...]}

Boxes are in pixels; every attribute of the label space
(:class:`~videoqa.perception.scene_graph.config.SceneGraphLabels`) is a key of each
object, and every predicate is one of its predicates; other keys are ignored. Frames are
decoded with :class:`videoqa.video.reader.VideoReader` (PyAV, frame-exact) at the chosen
display indices; boxes are normalised by the frame width/height.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from videoqa.errors import DataFormatError
from videoqa.perception.scene_graph.config import SceneGraphLabels
from videoqa.video.reader import VideoReader

__all__ = [
    "FrameAnnotation",
    "FrameSet",
    "VideoAnnotation",
    "benchmark_scene_graphs",
    "frame_targets",
    "load_frame_set",
    "sample_frame_indices",
]


class FrameAnnotation(BaseModel):
    """The ground-truth scene graph of one frame.

    Attributes:
        index: 0-based display index of the frame in its video.
        objects: one mapping per visible object: ``id`` (int), ``bbox`` (pixels xyxy)
            and one value per attribute of the label space.
        relations: ``(subject id, predicate, object id)`` triplets.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    index: int = Field(ge=0)
    objects: list[dict[str, Any]]
    relations: list[tuple[int, str, int]] = Field(default_factory=list)


class VideoAnnotation(BaseModel):
    """The ground-truth scene graphs of one video (``scene_graphs/<video_id>.json``).

    Attributes:
        video_id, split: ids; num_frames: frames of the video; width, height: pixels.
        frames: :class:`FrameAnnotation` of (at least) every frame that is sampled.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    video_id: str
    split: str
    num_frames: int = Field(ge=1)
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    frames: list[FrameAnnotation]


@dataclass(frozen=True)
class FrameSet:
    """Decoded frames with their ground-truth scene graphs (``N`` frames, ``R`` slots).

    Attributes:
        frames: ``(N, H, W, 3)`` uint8 RGB.
        boxes: ``(N, R, 4)`` float32 normalised xyxy (zeros where masked).
        object_mask: ``(N, R)`` bool.
        labels: ``(N, R, n_attributes)`` int64 value indices of each attribute of the
            label space (its order), -1 pad.
        relations: ``(N, R, R, P)`` float32 1 where predicate ``p`` holds from slot ``i``
            to slot ``j`` (multi-label).
        video_ids: ``N`` ids of the source videos.
        frame_indices: ``(N,)`` int64 display indices in the source videos.
    """

    frames: np.ndarray
    boxes: np.ndarray
    object_mask: np.ndarray
    labels: np.ndarray
    relations: np.ndarray
    video_ids: tuple[str, ...]
    frame_indices: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    def batch(self, index: np.ndarray | slice) -> tuple[torch.Tensor, ...]:
        """Tensors of the frames at ``index``: images ``(B, 3, H, W)`` float in [0, 1],
        boxes ``(B, R, 4)``, mask ``(B, R)``, labels ``(B, R, n_attributes)``, relations
        ``(B, R, R, P)``."""
        images = torch.from_numpy(self.frames[index]).permute(0, 3, 1, 2).float().div_(255)
        return (
            images,
            torch.from_numpy(self.boxes[index]),
            torch.from_numpy(self.object_mask[index]),
            torch.from_numpy(self.labels[index]),
            torch.from_numpy(self.relations[index]),
        )


def benchmark_scene_graphs(bench_dir: Path, splits: Sequence[str]) -> list[VideoAnnotation]:
    """The ground-truth scene graphs of the videos of ``splits``, sorted by video id
    (files named ``<split>_*.json``).

    Raises:
        DataFormatError: no ``scene_graphs`` folder, or an invalid file (named).
    """
    folder = Path(bench_dir) / "scene_graphs"
    if not folder.is_dir():
        raise DataFormatError(f"no scene_graphs/ folder in {bench_dir}")
    wanted = set(splits)
    out: list[VideoAnnotation] = []
    for path in sorted(folder.glob("*.json")):
        if not any(path.name.startswith(f"{split}_") for split in wanted):
            continue
        try:
            graph = VideoAnnotation.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise DataFormatError(f"{path}: not a scene graph ({err})") from err
        if graph.split in wanted:
            out.append(graph)
    return out


def sample_frame_indices(
    num_frames: int, count: int, rng: np.random.Generator | None
) -> np.ndarray:
    """``count`` frame indices, one per equal segment of ``[0, num_frames)``: the segment
    centre when ``rng`` is ``None``, else a uniformly random frame of the segment (TSN-style
    segment sampling, Wang et al., ECCV 2016, §3.2).

    Returns:
        ``(min(count, num_frames),)`` int64, ascending.
    """
    count = min(count, num_frames)
    edges = np.linspace(0, num_frames, count + 1)
    if rng is None:
        picks = (edges[:-1] + edges[1:]) / 2
    else:
        picks = edges[:-1] + rng.random(count) * (edges[1:] - edges[:-1])
    return np.clip(np.floor(picks), 0, num_frames - 1).astype(np.int64)


def frame_targets(
    graph: FrameAnnotation, width: int, height: int, slots: int, labels: SceneGraphLabels
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Targets of one frame graph, objects in the graph's order (first ``slots`` kept).

    Returns:
        boxes ``(slots, 4)`` float32 normalised, mask ``(slots,)`` bool, labels
        ``(slots, n_attributes)`` int64 (-1 pad), relations ``(slots, slots, P)`` float32.

    Raises:
        DataFormatError: an object lacks ``id``/``bbox``/an attribute, or a value or
            predicate is outside ``labels``.
    """
    names = labels.attribute_names
    boxes = np.zeros((slots, 4), np.float32)
    mask = np.zeros(slots, bool)
    target = np.full((slots, len(names)), -1, np.int64)
    relations = np.zeros((slots, slots, len(labels.predicates)), np.float32)
    slot_of: dict[int, int] = {}
    scale = np.array([width, height, width, height], np.float32)
    try:
        for slot, obj in enumerate(graph.objects[:slots]):
            slot_of[int(obj["id"])] = slot
            boxes[slot] = np.asarray(obj["bbox"], np.float32) / scale
            mask[slot] = True
            target[slot] = [labels.value_index(name, obj[name]) for name in names]
        for subject, predicate, obj_id in graph.relations:
            if subject in slot_of and obj_id in slot_of:
                p = labels.predicates.index(predicate) if predicate in labels.predicates else -1
                if p < 0:
                    raise KeyError(f"predicate {predicate!r} is not in the label space")
                relations[slot_of[subject], slot_of[obj_id], p] = 1.0
    except (KeyError, TypeError, ValueError) as err:
        raise DataFormatError(f"frame {graph.index}: bad scene-graph annotation ({err})") from err
    return boxes, mask, target, relations


def load_frame_set(
    bench_dir: Path,
    splits: Sequence[str],
    frames_per_video: int,
    labels: SceneGraphLabels,
    *,
    seed: int | None = 0,
    max_videos: int | None = None,
    slots: int = 10,
    on_video: Callable[[int, int], None] | None = None,
) -> FrameSet:
    """Decode ``frames_per_video`` frames of every video of ``splits`` with their targets.

    Args:
        bench_dir: a benchmark folder (``videos/``, ``scene_graphs/``, see the module
            docstring).
        splits: e.g. ``["train"]``.
        labels: the label space the targets are indexed in.
        frames_per_video: frames per video (segment sampling, see
            :func:`sample_frame_indices`).
        seed: random frame within each segment (per-video generator from ``seed``), or
            ``None`` for segment centres (evaluation).
        max_videos: use only the first videos (by id).
        slots: ``R``, object slots per frame (more objects are dropped).
        on_video: progress callback ``(done, total)``.

    Raises:
        DataFormatError: missing scene graphs, a frame without its annotation, or labels
            outside ``labels``. VideoError: a video cannot be decoded.
    """
    graphs = benchmark_scene_graphs(bench_dir, splits)[:max_videos]
    if not graphs:
        raise DataFormatError(f"no scene graphs of splits {list(splits)} in {bench_dir}")
    parts: list[tuple[np.ndarray, ...]] = []
    ids: list[str] = []
    for n, graph in enumerate(graphs):
        rng = None if seed is None else np.random.default_rng([seed, n])
        wanted = sample_frame_indices(graph.num_frames, frames_per_video, rng)
        with VideoReader(Path(bench_dir) / "videos" / f"{graph.video_id}.mp4") as reader:
            batch = reader.read_indices(wanted)
        by_index = {fg.index: fg for fg in graph.frames}
        missing = [int(i) for i in wanted if int(i) not in by_index]
        if missing:
            raise DataFormatError(f"{graph.video_id}: no scene graph of frames {missing[:5]}")
        try:
            targets = [
                frame_targets(by_index[int(i)], graph.width, graph.height, slots, labels)
                for i in wanted
            ]
        except DataFormatError as err:
            raise DataFormatError(f"{graph.video_id}: {err}") from err
        parts.append((batch.frames, *(np.stack(t) for t in zip(*targets, strict=True)), wanted))
        ids.extend([graph.video_id] * len(wanted))
        if on_video is not None:
            on_video(n + 1, len(graphs))
    frames, boxes, mask, values, relations, indices = (
        np.concatenate(p) for p in zip(*parts, strict=True)
    )
    r = max(1, int(mask.sum(1).max()))  # drop slots no frame uses
    return FrameSet(
        frames, boxes[:, :r], mask[:, :r], values[:, :r], relations[:, :r, :r], tuple(ids), indices
    )
