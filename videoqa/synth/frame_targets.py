"""Per-frame probe targets of the CNN frame encoder from the benchmark's scene graphs.

The label space is the benchmark's closed vocabulary: ``V = 19`` ``(attribute, value)``
labels (2 sizes, 8 colours, 3 materials, 6 shapes, in :data:`ATTRIBUTE_VALUES` order).
:func:`frame_targets` turns one frame's ground-truth objects into
:class:`~videoqa.encoders.cnn_probes.FrameTargets`; :func:`load_split_frames` decodes a
few frames of every video of a split (``DIR/videos/<id>.mp4``) with the targets of their
scene graphs (``DIR/scene_graphs/<id>.json``). The frame encoder recipe
(:mod:`videoqa.recipes.frame_encoder`) hands both to the library.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from videoqa.encoders.cnn_probes import FrameTargets
from videoqa.errors import DataFormatError, UsageError
from videoqa.synth.vocab import ATTRIBUTE_VALUES
from videoqa.video.reader import VideoReader

__all__ = [
    "ATTRIBUTE_GROUPS",
    "ATTRIBUTE_LABELS",
    "MAX_COUNT",
    "frame_targets",
    "frame_width",
    "load_split_frames",
    "split_videos",
]

#: ``(attribute, value)`` of each of the ``V`` labels, in :data:`ATTRIBUTE_VALUES` order.
ATTRIBUTE_LABELS: tuple[tuple[str, str], ...] = tuple(
    (attr, value) for attr, values in ATTRIBUTE_VALUES.items() for value in values
)
#: attribute → its label columns (``probe_metrics`` reports presence per attribute).
ATTRIBUTE_GROUPS: dict[str, list[int]] = {
    attr: [i for i, (a, _) in enumerate(ATTRIBUTE_LABELS) if a == attr] for attr in ATTRIBUTE_VALUES
}
#: counts above this are clipped (count classes ``0..MAX_COUNT``).
MAX_COUNT = 10
_LABEL_INDEX = {label: i for i, label in enumerate(ATTRIBUTE_LABELS)}


def frame_targets(
    objects: list[dict], width: float, height: float, grid: int, max_count: int = MAX_COUNT
) -> FrameTargets:
    """Targets of one frame from its scene-graph objects.

    Args:
        objects: the frame's objects (``color, shape, material, size, center`` [x, y] px).
        width, height: frame size in pixels.
        grid: ``G``, side of the patch grid.
        max_count: counts above it are clipped.

    Returns:
        :class:`FrameTargets` with ``N = 1``: presence ``(1, V)``, count ``(1,)``,
        centroid ``(1, V, 2)`` in [0, 1], occupancy ``(1, G², V)``.

    Raises:
        DataFormatError: an object without one of the attributes or a centre.
    """
    v = len(ATTRIBUTE_LABELS)
    presence = np.zeros((1, v), np.float32)
    sums = np.zeros((v, 2), np.float64)
    occupancy = np.zeros((1, grid * grid, v), np.float32)
    counts = np.zeros(v)
    for obj in objects:
        try:
            labels = [_LABEL_INDEX[(attr, obj[attr])] for attr in ATTRIBUTE_VALUES]
            x, y = float(obj["center"][0]) / width, float(obj["center"][1]) / height
        except (KeyError, TypeError, IndexError, ValueError) as err:
            raise DataFormatError(f"scene graph object without attributes/centre: {err}") from err
        cell = min(max(int(y * grid), 0), grid - 1) * grid + min(max(int(x * grid), 0), grid - 1)
        for label in labels:
            presence[0, label] = 1.0
            sums[label] += (x, y)
            counts[label] += 1
            occupancy[0, cell, label] = 1.0
    centroid = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], 0.0)
    return FrameTargets(
        presence=presence,
        count=np.array([min(len(objects), max_count)], np.int64),
        centroid=centroid[None].astype(np.float32),
        occupancy=occupancy,
    )


def split_videos(root: Path, split: str, limit: int | None = None) -> list[str]:
    """Video ids of a split: ``scene_graphs/<split>_*.json`` stems, sorted, at most
    ``limit``.

    Raises:
        UsageError: no scene graph of that split.
    """
    ids = sorted(p.stem for p in (Path(root) / "scene_graphs").glob(f"{split}_*.json"))
    if not ids:
        raise UsageError(f"no scene graphs of split {split!r} under {Path(root) / 'scene_graphs'}")
    return ids[:limit] if limit else ids


def _read_graph(path: Path) -> dict:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataFormatError(f"{path}: unreadable scene graph ({err})") from None


def frame_width(root: Path, split: str) -> float:
    """Frame width in pixels of the first video of ``split`` (all share one size).

    Raises:
        UsageError: no scene graph of that split. DataFormatError: unreadable.
    """
    first = split_videos(root, split, 1)[0]
    return float(_read_graph(Path(root) / "scene_graphs" / f"{first}.json")["width"])


def load_split_frames(
    root: Path,
    split: str,
    *,
    frames_per_video: int,
    image_size: int,
    grid: int,
    rng: np.random.Generator,
    max_videos: int | None = None,
    max_count: int = MAX_COUNT,
) -> tuple[np.ndarray, FrameTargets]:
    """``frames_per_video`` frames of each video of ``split`` (drawn without
    replacement with ``rng``, in video order), decoded at ``image_size × image_size``,
    and their targets.

    Returns:
        ``(frames (N, S, S, 3) uint8, targets)``.

    Raises:
        UsageError: no scene graph of the split. VideoError: a video cannot be decoded.
        DataFormatError: a malformed scene graph.
    """
    root = Path(root)
    frames, targets = [], []
    for video_id in split_videos(root, split, max_videos):
        graph = _read_graph(root / "scene_graphs" / f"{video_id}.json")
        try:
            per_frame, width, height = graph["frames"], graph["width"], graph["height"]
        except (KeyError, TypeError) as err:
            raise DataFormatError(f"{video_id}: scene graph without {err}") from None
        count = min(frames_per_video, len(per_frame))
        chosen = np.sort(rng.choice(len(per_frame), size=count, replace=False))
        with VideoReader(root / "videos" / f"{video_id}.mp4") as reader:
            batch = reader.read_indices(chosen, size=(image_size, image_size))
        frames.append(batch.frames)
        for k in chosen:
            objects = per_frame[int(k)]["objects"]
            targets.append(frame_targets(objects, width, height, grid, max_count))
    return np.concatenate(frames), FrameTargets.stack(targets)
