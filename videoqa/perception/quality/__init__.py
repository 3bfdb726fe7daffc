"""Video quality perception and question answering, after VQA² (Jia et al. 2024,
"VQA²: Visual Question Answering for Video Quality Assessment").

* features: keyframes at 1 fps with NIQE, BRISQUE, sharpness, noise, blockiness,
  exposure, contrast and colourfulness (:mod:`.spatial`), and the motion between them:
  stutter, flicker, shake, optical flow (:mod:`.motion`), per second
  (:func:`extract_quality_features`), interleaved as (keyframe, motion, ...) tokens
  (:func:`interleave`);
* stage 1: distortion recognition over nine synthetic distortion kinds
  (:mod:`.distort`), stage 2: 1-5 quality scores overall, per dimension and per second
  (:func:`assess_video`), with one small model (:mod:`.model`) trained on distorted
  videos (:mod:`.dataset`, :mod:`.objective`; the ``quality`` recipe) and measured by
  cross-validation (:mod:`.evaluation`), its overall score re-fittable on a MOS table
  (:mod:`.calibration`);
* stage 3: quality questions recognized (:func:`is_quality_question`) and answered with
  evidence seconds (:func:`answer_quality_question`); instruction data export
  (:mod:`.export`).
"""

from videoqa.perception.quality.answer import (
    Evidence,
    QualityAnswer,
    answer_from_report,
    answer_quality_question,
)
from videoqa.perception.quality.assess import (
    QualityReport,
    assess_video,
    plot_timeline,
    quality_label,
)
from videoqa.perception.quality.distort import Distortion, DistortionKind, SourceClip, synthesize
from videoqa.perception.quality.features import (
    QualityUnit,
    VideoQualityFeatures,
    extract_quality_features,
)
from videoqa.perception.quality.model import QualityModel, load_default_model
from videoqa.perception.quality.questions import (
    QuestionIntent,
    QuestionKind,
    is_quality_question,
    quality_question_score,
    recognize_question,
)
from videoqa.perception.quality.tokens import TokenSequence, interleave

__all__ = [
    "Distortion",
    "DistortionKind",
    "Evidence",
    "QualityAnswer",
    "QualityModel",
    "QualityReport",
    "QualityUnit",
    "QuestionIntent",
    "QuestionKind",
    "SourceClip",
    "TokenSequence",
    "VideoQualityFeatures",
    "answer_from_report",
    "answer_quality_question",
    "assess_video",
    "extract_quality_features",
    "interleave",
    "is_quality_question",
    "load_default_model",
    "plot_timeline",
    "quality_label",
    "quality_question_score",
    "recognize_question",
    "synthesize",
]
