"""Export the distorted set as VQA²-style instruction data for a later VLM fine-tune.

VQA² (Jia et al. 2024, §3.2-3.3) trains LLaVA-OneVision on conversations in the LLaVA
instruction format: one JSON list of records ``{"id", "video", "conversations": [{"from":
"human", "value": "<video>\\n..."}, {"from": "gpt", "value": ...}, ...]}``. The records
written here follow that format, built from the *known* labels of the synthesized videos
(distortion kind and level), with the VQA² question types: a quality rating (stage 2),
the dominant distortion, a yes/no question about one distortion and a dimension rating
(stage 3). Each record also lists its 1 fps keyframe times and the motion spans between
them, and ``<video>`` can be expanded into the interleaved
``<keyframe><motion><keyframe><motion>...`` placeholders (:mod:`.tokens`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from videoqa.perception.quality.assess import DISTORTION_DESCRIPTIONS, quality_label
from videoqa.perception.quality.dataset import LabeledVideo, read_manifest, score_targets
from videoqa.perception.quality.distort import DISTORTION_KINDS, DistortionKind
from videoqa.perception.quality.features import unit_bounds
from videoqa.perception.quality.model import DIMENSIONS
from videoqa.perception.quality.motion import nominal_frame_duration
from videoqa.perception.quality.questions import dimension_of
from videoqa.perception.quality.tokens import VIDEO_PLACEHOLDER, placeholder_text
from videoqa.video.reader import VideoReader
from videoqa.video.samplers import VideoTiming, sample_times

SEVERITY = ("slight", "mild", "moderate", "strong", "severe")
"""Words for distortion levels 1-5."""


def _describe(video: LabeledVideo) -> str:
    if video.kind is DistortionKind.NONE:
        return "no visible distortion"
    return f"{SEVERITY[video.level - 1]} {DISTORTION_DESCRIPTIONS[video.kind.value]}"


def conversation(video: LabeledVideo, rng: np.random.Generator) -> list[dict[str, str]]:
    """The question/answer turns of one labeled video (without the ``<video>`` prefix).

    Returns:
        Alternating ``{"from": "human"|"gpt", "value": str}`` turns: rating, dominant
        distortion, a yes/no question (about its own distortion or, half of the time,
        another one), and the rating of one dimension.
    """
    targets = score_targets(video.kind, video.level)
    label = quality_label(float(targets[0]))
    turns = [
        (
            "How would you rate the overall quality of this video?",
            f"The quality of the video is {label}.",
        ),
        (
            "What distortion is most visible in the video?",
            f"The most visible problem is {_describe(video)}."
            if video.kind is not DistortionKind.NONE
            else "There is no visible distortion; the video looks clean.",
        ),
    ]
    others = [k for k in DISTORTION_KINDS if k is not video.kind]
    asked = (
        video.kind
        if video.kind is not DistortionKind.NONE and rng.uniform() < 0.5
        else others[int(rng.integers(len(others)))]
    )
    yes = asked is video.kind
    turns.append(
        (
            f"Does the video show {DISTORTION_DESCRIPTIONS[asked.value]}?",
            f"Yes, there is {_describe(video)}." if yes else "No.",
        )
    )
    names = list(DIMENSIONS)
    dim = dimension_of(video.kind.value) or names[int(rng.integers(len(names)))]
    dim_score = float(targets[1 + names.index(dim)])
    name = dim.replace("_", " ")
    turns.append(
        (
            f"How would you rate the video in terms of {name}?",
            f"In terms of {name}, the video is {quality_label(dim_score)}.",
        )
    )
    out = []
    for q, a in turns:
        out.extend([{"from": "human", "value": q}, {"from": "gpt", "value": a}])
    return out


def instruction_record(
    video: LabeledVideo, video_root: Path, rng: np.random.Generator, interleave: bool = False
) -> dict:
    """One VQA²/LLaVA instruction record for a labeled video.

    Args:
        video: the labeled video.
        video_root: paths in the record are relative to this folder.
        rng: random source of the yes/no question choice.
        interleave: expand ``<video>`` into ``<keyframe><motion>`` per keyframe.

    Returns:
        ``{"id", "video", "keyframe_times", "motion_spans", "label", "conversations"}``.

    Raises:
        VideoNotFoundError, UnsupportedVideoError, CorruptVideoError: unreadable video.
    """
    with VideoReader(video.path) as reader:
        times = reader.frame_times()
        info = reader.info
        ticks = sample_times("fps", VideoTiming.from_info(info), 0, rate=1.0)
        keys = times[reader.index_at(ticks)]
    bounds = unit_bounds(keys, nominal_frame_duration(times, info.fps), info.duration)
    keys = keys[: len(bounds) - 1]
    turns = conversation(video, rng)
    prefix = placeholder_text(len(keys)) if interleave else VIDEO_PLACEHOLDER
    turns[0] = {"from": "human", "value": f"{prefix}\n{turns[0]['value']}"}
    rel = (
        video.path.relative_to(video_root) if video.path.is_relative_to(video_root) else video.path
    )
    return {
        "id": video.path.stem,
        "video": str(rel),
        "keyframe_times": [round(float(t), 4) for t in keys],
        "motion_spans": [
            [round(float(a), 4), round(float(b), 4)]
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ],
        "label": {"kind": video.kind.value, "level": video.level, "source": video.source},
        "conversations": turns,
    }


def export_instructions(
    work_dir: Path, out: Path, *, interleave: bool = False, seed: int = 0
) -> int:
    """Write the instruction JSON for every video of a training work folder.

    Args:
        work_dir: folder holding ``manifest.json`` and the videos (see :mod:`.dataset`).
        out: output ``.json`` path; ``video`` fields are relative to ``work_dir``.
        interleave: expand ``<video>`` into keyframe/motion placeholders.
        seed: seed of the yes/no question choice.

    Returns:
        The number of records written.

    Raises:
        DataFormatError: no manifest in ``work_dir``.
    """
    videos = read_manifest(work_dir)
    rng = np.random.default_rng(seed)
    records = [instruction_record(v, work_dir, rng, interleave) for v in videos if v.path.is_file()]
    out.write_text(json.dumps(records, indent=1) + "\n")
    return len(records)
