"""Stage 2: the quality report of a video (overall score, dimensions, per second).

Scores are on the 1-5 absolute category rating scale of ITU-T P.910 (5 excellent,
4 good, 3 fair, 2 poor, 1 bad). Each per-second unit gets a score from the model; the
video's score is the mean of its unit scores (plain temporal average pooling), each
dimension likewise. The video's distortion probabilities are the mean of the unit
probabilities; a distortion's *visible* probability is its mean over the third of the
seconds where it is highest (:func:`visible_probability`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from videoqa.perception.quality.features import VideoQualityFeatures, extract_quality_features
from videoqa.perception.quality.model import (
    CLASS_NAMES,
    DIMENSIONS,
    QualityModel,
    load_default_model,
)

RATING_LABELS: tuple[str, ...] = ("bad", "poor", "fair", "good", "excellent")
"""ACR labels of scores 1..5 (ITU-T P.910 §6.1)."""

DISTORTION_DESCRIPTIONS: dict[str, str] = {
    "none": "no visible distortion",
    "blur": "blur",
    "noise": "noise",
    "compression": "compression artifacts",
    "low_resolution": "low resolution (upscaled)",
    "underexposure": "underexposure (too dark)",
    "overexposure": "overexposure (too bright)",
    "stutter": "stutter (dropped or repeated frames)",
    "flicker": "flicker",
    "shake": "camera shake",
}


VISIBLE_SHARE_DIVISOR = 3
"""A distortion is judged on the third of the video where it is most probable: its
*visible probability* is the mean of its ``ceil(U / 3)`` highest per-second
probabilities, so that a distortion confined to part of the video still counts."""


def visible_probability(per_second: np.ndarray) -> float:
    """Mean of the ``ceil(U / 3)`` largest of ``U`` per-second probabilities ``(U,)``."""
    values = np.sort(np.asarray(per_second, dtype=np.float64))[::-1]
    return float(values[: max(1, int(np.ceil(len(values) / VISIBLE_SHARE_DIVISOR)))].mean())


def quality_label(score: float) -> str:
    """ACR label of a 1-5 score: the nearest category (``round``, clipped to 1-5)."""
    return RATING_LABELS[int(np.clip(np.floor(score + 0.5), 1, 5)) - 1]


class DimensionScore(BaseModel):
    """One quality dimension of the report.

    Attributes:
        name: ``sharpness``, ``noise``, ``compression``, ``exposure`` or
            ``temporal_stability``.
        score: 1-5.
        label: ACR label of the score.
        worst_second: start (seconds) of the unit with the lowest score of this dimension.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    score: float
    label: str
    worst_second: float


class SecondScore(BaseModel):
    """The quality of one per-second unit.

    Attributes:
        index: unit index.
        start, end: span in seconds.
        keyframe_time: time of its keyframe, seconds.
        score: overall score 1-5.
        distortion: most probable class (``none`` or a distortion kind).
        probability: its probability.
        probabilities: class name -> probability (``none`` and the nine kinds).
        dimensions: dimension name -> score 1-5.
    """

    model_config = ConfigDict(frozen=True)

    index: int
    start: float
    end: float
    keyframe_time: float
    score: float
    distortion: str
    probability: float
    probabilities: dict[str, float]
    dimensions: dict[str, float]


class QualityReport(BaseModel):
    """What ``videoqa quality`` prints.

    Attributes:
        path: the video.
        duration: seconds. width, height: pixels. fps: frames per second.
        score: overall score 1-5. label: its ACR label.
        dimensions: the five dimension scores.
        distortions: class name -> video-level probability, the mean over seconds (sums
            to 1; ``none`` included).
        visible: distortion kind -> visible probability (see :func:`visible_probability`).
        main_distortion: the kind with the highest visible probability (never ``none``).
        seconds: per-second scores, in time order.
        compute_seconds: wall time of the analysis, seconds.
    """

    path: str
    duration: float
    width: int
    height: int
    fps: float
    score: float = Field(ge=1.0, le=5.0)
    label: str
    dimensions: list[DimensionScore]
    distortions: dict[str, float]
    visible: dict[str, float]
    main_distortion: str
    seconds: list[SecondScore]
    compute_seconds: float

    def dimension(self, name: str) -> DimensionScore:
        """The dimension called ``name``.

        Raises:
            KeyError: no such dimension.
        """
        for d in self.dimensions:
            if d.name == name:
                return d
        raise KeyError(name)


def report_from_features(
    features: VideoQualityFeatures, model: QualityModel | None = None
) -> QualityReport:
    """Score already extracted features (see :func:`assess_video`)."""
    model = model or load_default_model()
    pred = model.predict(features.matrix())
    probs, scores = pred.probabilities, pred.scores
    dim_names = list(DIMENSIONS)
    seconds = []
    for i, unit in enumerate(features.units):
        top = int(np.argmax(probs[i]))
        seconds.append(
            SecondScore(
                index=unit.index,
                start=unit.start,
                end=unit.end,
                keyframe_time=unit.keyframe_time,
                score=float(scores[i, 0]),
                distortion=CLASS_NAMES[top],
                probability=float(probs[i, top]),
                probabilities={c: float(p) for c, p in zip(CLASS_NAMES, probs[i], strict=True)},
                dimensions={n: float(scores[i, 1 + j]) for j, n in enumerate(dim_names)},
            )
        )
    dims = []
    for j, name in enumerate(dim_names):
        col = scores[:, 1 + j]
        value = float(col.mean())
        dims.append(
            DimensionScore(
                name=name,
                score=value,
                label=quality_label(value),
                worst_second=float(features.units[int(np.argmin(col))].start),
            )
        )
    video_probs = probs.mean(axis=0)
    visible = {
        c: visible_probability(probs[:, k]) for k, c in enumerate(CLASS_NAMES) if c != "none"
    }
    overall = float(np.clip(scores[:, 0].mean(), 1.0, 5.0))
    info = features.info
    return QualityReport(
        path=features.path,
        duration=info.duration,
        width=info.width,
        height=info.height,
        fps=info.fps,
        score=overall,
        label=quality_label(overall),
        dimensions=dims,
        distortions={c: float(p) for c, p in zip(CLASS_NAMES, video_probs, strict=True)},
        main_distortion=max(visible, key=visible.get),
        visible=visible,
        seconds=seconds,
        compute_seconds=features.compute_seconds,
    )


def assess_video(path: str | Path, model: QualityModel | None = None) -> QualityReport:
    """The quality report of a video: overall score, dimensions and per-second scores.

    Args:
        path: the video file.
        model: the quality model; default the shipped one.

    Returns:
        The :class:`QualityReport`.

    Raises:
        VideoNotFoundError, UnsupportedVideoError, CorruptVideoError: unreadable video.
        ModelUnavailableError: no model given and the shipped one is missing.
    """
    model = model or load_default_model()
    return report_from_features(extract_quality_features(path), model)


def plot_timeline(report: QualityReport, out: str | Path) -> Path:
    """Save a timeline PNG: per-second overall and dimension scores over time.

    Args:
        report: the report to draw.
        out: PNG path (its folder must exist).

    Returns:
        ``out`` as a Path.

    Raises:
        ModuleNotFoundError: matplotlib is not installed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=100)
    starts = [s.start for s in report.seconds] + [report.seconds[-1].end]
    overall = [s.score for s in report.seconds]
    ax.stairs(
        overall,
        starts,
        baseline=None,
        linewidth=2.5,
        color="black",
        label=f"overall ({report.score:.2f})",
    )
    for name in DIMENSIONS:
        values = [s.dimensions[name] for s in report.seconds]
        ax.stairs(
            values, starts, baseline=None, linewidth=1.2, alpha=0.8, label=name.replace("_", " ")
        )
    for s in report.seconds:
        if s.distortion != "none":
            ax.text(
                (s.start + s.end) / 2,
                1.15,
                s.distortion.replace("_", " "),
                ha="center",
                fontsize=7,
                rotation=0,
            )
    ax.set_ylim(1.0, 5.1)
    ax.set_xlim(starts[0], starts[-1])
    ax.set_xlabel("time (s)")
    ax.set_ylabel("quality (1-5)")
    ax.set_title(f"{Path(report.path).name}: {report.label} ({report.score:.2f})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
