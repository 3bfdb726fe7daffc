"""Frames and ground-truth frame scene graphs of the synthetic benchmark, for training
and evaluating the scene-graph predictor.

A benchmark folder holds ``videos/<video_id>.mp4`` and ``scene_graphs/<video_id>.json``
(:class:`videoqa.synth.scene_graph.SceneGraph`, boxes in pixels). Frames are decoded
with :class:`videoqa.video.reader.VideoReader` (PyAV, frame-exact) at the chosen display
indices; boxes are normalised by the frame width/height.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from videoqa.errors import DataFormatError
from videoqa.perception.scene_graph.config import ATTRIBUTES, PREDICATE_NAMES
from videoqa.synth.scene_graph import FrameGraph, SceneGraph
from videoqa.synth.vocab import ATTRIBUTE_VALUES
from videoqa.video.reader import VideoReader

__all__ = [
    "FrameSet",
    "benchmark_scene_graphs",
    "frame_targets",
    "load_frame_set",
    "sample_frame_indices",
]


@dataclass(frozen=True)
class FrameSet:
    """Decoded frames with their ground-truth scene graphs (``N`` frames, ``R`` slots).

    Attributes:
        frames: ``(N, H, W, 3)`` uint8 RGB.
        boxes: ``(N, R, 4)`` float32 normalised xyxy (zeros where masked).
        object_mask: ``(N, R)`` bool.
        labels: ``(N, R, 4)`` int64 (shape, colour, size, material) indices, -1 pad.
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
        boxes ``(B, R, 4)``, mask ``(B, R)``, labels ``(B, R, 4)``, relations ``(B, R, R, P)``."""
        images = torch.from_numpy(self.frames[index]).permute(0, 3, 1, 2).float().div_(255)
        return (
            images,
            torch.from_numpy(self.boxes[index]),
            torch.from_numpy(self.object_mask[index]),
            torch.from_numpy(self.labels[index]),
            torch.from_numpy(self.relations[index]),
        )


def benchmark_scene_graphs(bench_dir: Path, splits: Sequence[str]) -> list[SceneGraph]:
    """The ground-truth scene graphs of the videos of ``splits``, sorted by video id.

    Raises:
        DataFormatError: no ``scene_graphs`` folder, or an invalid file.
    """
    folder = Path(bench_dir) / "scene_graphs"
    if not folder.is_dir():
        raise DataFormatError(f"not a synthetic benchmark (no scene_graphs/): {bench_dir}")
    wanted = set(splits)
    out: list[SceneGraph] = []
    for path in sorted(folder.glob("*.json")):
        if not any(path.name.startswith(f"{split}_") for split in wanted):
            continue
        try:
            graph = SceneGraph.model_validate_json(path.read_text(encoding="utf-8"))
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
    graph: FrameGraph, width: int, height: int, slots: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Targets of one frame graph, objects in the graph's order (first ``slots`` kept).

    Returns:
        boxes ``(slots, 4)`` float32 normalised, mask ``(slots,)`` bool, labels
        ``(slots, 4)`` int64 (-1 pad), relations ``(slots, slots, P)`` float32.
    """
    boxes = np.zeros((slots, 4), np.float32)
    mask = np.zeros(slots, bool)
    labels = np.full((slots, len(ATTRIBUTES)), -1, np.int64)
    relations = np.zeros((slots, slots, len(PREDICATE_NAMES)), np.float32)
    slot_of: dict[int, int] = {}
    scale = np.array([width, height, width, height], np.float32)
    for slot, obj in enumerate(graph.objects[:slots]):
        slot_of[obj.id] = slot
        boxes[slot] = np.asarray(obj.bbox, np.float32) / scale
        mask[slot] = True
        labels[slot] = [ATTRIBUTE_VALUES[name].index(obj.attribute(name)) for name in ATTRIBUTES]
    for subject, predicate, obj_id in graph.relations:
        if subject in slot_of and obj_id in slot_of:
            relations[slot_of[subject], slot_of[obj_id], PREDICATE_NAMES.index(predicate)] = 1.0
    return boxes, mask, labels, relations


def load_frame_set(
    bench_dir: Path,
    splits: Sequence[str],
    frames_per_video: int,
    *,
    seed: int | None = 0,
    max_videos: int | None = None,
    slots: int = 10,
    on_video: Callable[[int, int], None] | None = None,
) -> FrameSet:
    """Decode ``frames_per_video`` frames of every video of ``splits`` with their targets.

    Args:
        bench_dir: the synthetic benchmark folder.
        splits: e.g. ``["train"]``.
        frames_per_video: frames per video (segment sampling, see
            :func:`sample_frame_indices`).
        seed: random frame within each segment (per-video generator from ``seed``), or
            ``None`` for segment centres (evaluation).
        max_videos: use only the first videos (by id).
        slots: ``R``, object slots per frame (more objects are dropped).
        on_video: progress callback ``(done, total)``.

    Raises:
        DataFormatError: missing scene graphs. VideoError: a video cannot be decoded.
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
        targets = [
            frame_targets(by_index[int(i)], graph.width, graph.height, slots) for i in wanted
        ]
        parts.append((batch.frames, *(np.stack(t) for t in zip(*targets, strict=True)), wanted))
        ids.extend([graph.video_id] * len(wanted))
        if on_video is not None:
            on_video(n + 1, len(graphs))
    frames, boxes, mask, labels, relations, indices = (
        np.concatenate(p) for p in zip(*parts, strict=True)
    )
    r = max(1, int(mask.sum(1).max()))  # drop slots no frame uses
    return FrameSet(
        frames, boxes[:, :r], mask[:, :r], labels[:, :r], relations[:, :r, :r], tuple(ids), indices
    )
