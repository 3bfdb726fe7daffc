"""Parameters of the synthetic benchmark generator and the split plan."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from videoqa.synth.vocab import IID_RULE, OPEN_RULE, CompositionRule

#: bumped whenever the same seed would give different files.
GENERATOR_VERSION = "1.0.0"

#: split name → index used in the per-video seed (``SeedSequence(seed, spawn_key=(i, n))``).
SPLITS: tuple[str, ...] = ("train", "val", "test", "comp")
SPLIT_INDEX: dict[str, int] = {name: i for i, name in enumerate(SPLITS)}
#: splits that get frame-level (image) questions.
FRAME_QA_SPLITS: tuple[str, ...] = ("train", "val")


class EventRates(BaseModel):
    """Probability, per object and video, that each scripted behaviour is scheduled.

    Collisions and wall bounces are not scripted: they follow from the motion.
    """

    model_config = ConfigDict(frozen=True)

    enter: float = Field(0.3, ge=0, le=1)
    exit: float = Field(0.3, ge=0, le=1)
    stop: float = Field(0.3, ge=0, le=1)
    color_change: float = Field(0.3, ge=0, le=1)
    size_change: float = Field(0.25, ge=0, le=1)


class SynthConfig(BaseModel):
    """Everything the output depends on (with the generator version).

    Attributes:
        videos: total number of videos over all splits.
        seed: base seed; video ``n`` of split ``s`` uses ``SeedSequence(seed, spawn_key=(s, n))``
            so splits come from disjoint seed streams.
        frames: frames per video.
        size: frame width = height in pixels (even, for H.264 4:2:0).
        fps: frames per second (time of frame ``k`` is ``k / fps`` seconds).
        min_objects, max_objects: objects per scene (entering ones included).
        split_fractions: share of the videos in train / val / test / comp.
        questions_per_group: at most this many candidate questions per video and
            question group before balancing.
        frame_questions: at most this many frame-level candidates per video and group.
        speed: (min, max) object speed in frame widths per second.
        rates: probabilities of the scripted behaviours.
    """

    model_config = ConfigDict(frozen=True)

    videos: int = Field(100, ge=1)
    seed: int = Field(0, ge=0)
    frames: int = Field(64, ge=20, le=2000)
    size: int = Field(112, ge=48, le=1024)
    fps: float = Field(16.0, gt=0, le=120)
    min_objects: int = Field(2, ge=2)
    max_objects: int = Field(6, le=10)
    split_fractions: tuple[float, float, float, float] = (0.7, 0.1, 0.1, 0.1)
    questions_per_group: int = Field(2, ge=1)
    frame_questions: int = Field(1, ge=0)
    speed: tuple[float, float] = (0.22, 0.45)
    rates: EventRates = Field(default_factory=EventRates)

    @model_validator(mode="after")
    def _check(self) -> SynthConfig:
        if self.size % 2:
            raise ValueError(f"size must be even (H.264 4:2:0), got {self.size}")
        if self.min_objects > self.max_objects:
            raise ValueError("min_objects > max_objects")
        if any(f < 0 for f in self.split_fractions) or sum(self.split_fractions) <= 0:
            raise ValueError(f"bad split fractions {self.split_fractions}")
        if not 0 < self.speed[0] <= self.speed[1]:
            raise ValueError(f"bad speed range {self.speed}")
        return self

    @property
    def fps_fraction(self) -> Fraction:
        """The frame rate as a fraction (for the video container)."""
        return Fraction(self.fps).limit_denominator(1001)

    def split_counts(self) -> dict[str, int]:
        """Videos per split: largest-remainder rounding of ``split_fractions``; every split
        with a positive fraction gets at least one video when there are enough videos."""
        fr = np.asarray(self.split_fractions, dtype=float) / sum(self.split_fractions)
        raw = fr * self.videos
        counts = np.floor(raw).astype(int)
        order = np.argsort(-(raw - counts), kind="stable")
        for i in order[: self.videos - counts.sum()]:
            counts[i] += 1
        wanted = [i for i in range(len(SPLITS)) if fr[i] > 0]
        if self.videos >= len(wanted):
            for i in wanted:
                while counts[i] == 0:
                    donor = int(np.argmax(counts))
                    counts[donor] -= 1
                    counts[i] += 1
        return {name: int(n) for name, n in zip(SPLITS, counts, strict=True)}


#: the long-video split (MCG, arXiv:2410.09379, is about long-term VideoQA): 320 frames
#: at 8 fps = 40 s per video. The scripted events are scheduled over fractions of the
#: whole video (enter up to 60 %, exits 25-80 %, stops 10-70 %, changes anywhere), so
#: they, and the questions about them, fall in both halves.
LONG_VIDEO: dict[str, float | int] = {"frames": 320, "fps": 8.0}


def long_video_config(**fields: object) -> SynthConfig:
    """The :data:`LONG_VIDEO` generator config (``fields`` override any field); on the
    command line: ``videoqa data synth --frames 320 --fps 8``."""
    return SynthConfig(**{**LONG_VIDEO, **fields})


def split_rule(split: str) -> CompositionRule:
    """The composition rule of a split: the ``comp`` split allows the held-out pairs."""
    return OPEN_RULE if split == "comp" else IID_RULE


def video_seed(seed: int, split: str, index: int) -> np.random.SeedSequence:
    """The seed sequence of video ``index`` of ``split`` (disjoint streams per split)."""
    return np.random.SeedSequence(seed, spawn_key=(SPLIT_INDEX[split], index))


def video_id(split: str, index: int) -> str:
    """``f"{split}_{index:05d}"``, e.g. ``"train_00012"``."""
    return f"{split}_{index:05d}"
