"""Oracle perception: frame features read from the synthetic benchmark's ground-truth
scene graphs instead of pixels.

With them a VideoQA model sees perfect object attributes and positions, so an
experiment measures the *reasoning and training method* (e.g. SpARC's guidance) and not
the quality of a frame encoder — the "ground-truth perception" setting of CLEVRER (Yi
et al., ICLR 2020, §4, oracle object annotations) and of object-centric VideoQA probes.
Pixel features come from ``videoqa extract`` (frozen CLIP/SigLIP, or the small CNN of
:mod:`videoqa.encoders.cnn`); both write the same :class:`~videoqa.features.store.FeatureStore`.

One token per object slot (slot ``j`` = object id ``j``, so a slot follows its object
through time), ``TOKEN_DIM`` values: one-hot size, colour, material and shape
(:data:`videoqa.synth.vocab.ATTRIBUTE_VALUES`), centre x and y and radius divided by
the frame width, velocity x and y in frame widths per second, and a presence flag
(all zeros when the object is not in the frame). The frame vector is the slots
concatenated, ``(SLOTS · TOKEN_DIM,)``, which keeps attribute binding and identity.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from videoqa.errors import DataFormatError
from videoqa.features.store import FeatureWriter, StoreMeta, VideoFeatures
from videoqa.synth.vocab import ATTRIBUTE_VALUES
from videoqa.video.samplers import VideoTiming, sample_times

__all__ = ["ENCODER_NAME", "SLOTS", "TOKEN_DIM", "frame_tokens", "write_scene_graph_store"]

#: Store ``meta.encoder`` of oracle features.
ENCODER_NAME = "scene-graph-oracle"
#: Object slots per frame (the generator places at most 10 objects; 8 by default cap).
SLOTS = 10
_OFFSETS: dict[str, int] = {}
_offset = 0
for _attr, _values in ATTRIBUTE_VALUES.items():
    _OFFSETS[_attr] = _offset
    _offset += len(_values)
_GEOMETRY = _offset  # cx, cy, radius, vx, vy, present
#: Values per object token.
TOKEN_DIM = _GEOMETRY + 6


def frame_tokens(frame: dict, width: float) -> np.ndarray:
    """Object tokens of one scene-graph frame.

    Args:
        frame: one entry of a scene graph's ``frames`` list (``objects`` with ``id``,
            attribute values, ``center`` and ``velocity`` in pixels and pixels/s,
            ``radius`` in pixels).
        width: frame width in pixels (positions are divided by it).

    Returns:
        ``(SLOTS, TOKEN_DIM)`` float32; slot ``id`` holds object ``id``.

    Raises:
        DataFormatError: an object id outside ``[0, SLOTS)`` or an unknown attribute value.
    """
    out = np.zeros((SLOTS, TOKEN_DIM), dtype=np.float32)
    for obj in frame["objects"]:
        slot = int(obj["id"])
        if not 0 <= slot < SLOTS:
            raise DataFormatError(f"object id {slot} outside the {SLOTS} slots")
        for attr, values in ATTRIBUTE_VALUES.items():
            try:
                out[slot, _OFFSETS[attr] + values.index(obj[attr])] = 1.0
            except ValueError:
                raise DataFormatError(f"unknown {attr} {obj[attr]!r}") from None
        cx, cy = obj["center"]
        vx, vy = obj["velocity"]
        geometry = (cx / width, cy / width, obj["radius"] / width, vx / width, vy / width, 1.0)
        out[slot, _GEOMETRY:] = geometry
    return out


def _video_features(graph: dict, sampler: str, frames: int) -> VideoFeatures:
    fps, count = float(graph["fps"]), int(graph["num_frames"])
    timing = VideoTiming(duration=count / fps, fps=fps, num_frames=count)
    times = sample_times(sampler, timing, frames)
    indices = np.minimum(np.floor(times * fps + 1e-6).astype(np.int64), count - 1)
    by_index = {int(f["index"]): f for f in graph["frames"]}
    width = float(graph["width"])
    tokens = np.stack([frame_tokens(by_index[int(i)], width) for i in indices])
    return VideoFeatures(
        video_id=graph["video_id"],
        frames=tokens.reshape(len(indices), -1),
        times=indices / fps,
        frame_indices=indices,
        patches=tokens,
    )


def _graphs(benchmark_dir: Path, video_ids: Sequence[str]) -> Iterator[dict]:
    for video_id in video_ids:
        path = benchmark_dir / "scene_graphs" / f"{video_id}.json"
        try:
            yield json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise DataFormatError(f"{path}: unreadable scene graph ({err})") from None


def write_scene_graph_store(
    benchmark_dir: Path,
    out_dir: Path,
    *,
    frames: int = 16,
    sampler: str = "uniform",
    splits: Sequence[str] = ("train", "val", "test", "comp"),
) -> int:
    """Write oracle features of every video of ``splits`` into a feature store.

    Args:
        benchmark_dir: a ``videoqa synth`` folder (``qa/<split>.jsonl``, ``scene_graphs/``).
        out_dir: the store folder (resumable like any :class:`FeatureWriter` store).
        frames: frames per video, chosen by ``sampler`` exactly as ``videoqa extract``
            would choose them (times snapped to the frame that is showing).
        sampler: a :data:`videoqa.video.samplers.SAMPLERS` name.
        splits: splits whose videos are written.

    Returns:
        Number of videos written by this call (finished ones are skipped).

    Raises:
        DataFormatError: a missing split file or an unreadable scene graph.
    """
    from videoqa.features.extract import videos_from_benchmark

    benchmark_dir = Path(benchmark_dir)
    for split in splits:
        if not (benchmark_dir / "qa" / f"{split}.jsonl").is_file():
            raise DataFormatError(f"{benchmark_dir / 'qa' / split}.jsonl: no such split file")
    ids = [job.video_id for job in videos_from_benchmark("synthetic", benchmark_dir, splits=splits)]
    meta = StoreMeta(
        encoder=ENCODER_NAME,
        sampler=sampler,
        frames=frames,
        dim=SLOTS * TOKEN_DIM,
        patch_dim=TOKEN_DIM,
        num_patches=SLOTS,
        dataset="synthetic",
        extra={"splits": list(splits)},
    )
    with FeatureWriter(out_dir, meta) as writer:
        todo = [v for v in ids if v not in writer.done_ids]
        for graph in _graphs(benchmark_dir, todo):
            writer.add(_video_features(graph, sampler, frames))
    return len(todo)
