"""Quality question recognition: lexicon rules, question kinds, sentence embeddings."""

from __future__ import annotations

import pytest

from videoqa.perception.quality.questions import (
    QuestionKind,
    classify_kind,
    embeddings_available,
    is_quality_question,
    quality_question_score,
    recognize_question,
)

QUALITY = [
    ("is the video blurry?", QuestionKind.DISTORTION_YES_NO, ("blur",)),
    ("rate the overall quality", QuestionKind.OVERALL_RATING, ()),
    ("what distortion is most visible?", QuestionKind.MAIN_DISTORTION, ()),
    ("when does the quality drop?", QuestionKind.WHEN_DROP, ()),
    ("Is the video too dark?", QuestionKind.DISTORTION_YES_NO, ("underexposure",)),
    ("does the footage flicker?", QuestionKind.DISTORTION_YES_NO, ("flicker",)),
    ("Are there compression artifacts?", QuestionKind.DISTORTION_YES_NO, ("compression",)),
    ("what is wrong with the video?", QuestionKind.MAIN_DISTORTION, ()),
    ("is the quality poor?", QuestionKind.QUALITY_YES_NO, ()),
    ("how sharp is the video?", QuestionKind.DIMENSION_RATING, ()),
    (
        "is the camera shaky or is the playback choppy?",
        QuestionKind.DISTORTION_YES_NO,
        ("stutter", "shake"),
    ),
]
VISUAL = [
    "what are the people doing?",
    "what is the bright object in the sky?",
    "is it dark outside?",
    "how many people are in the video?",
    "what color is the car in the dark garage?",
    "why did the man sharpen the knife?",
]


@pytest.mark.parametrize(("question", "kind", "kinds"), QUALITY)
def test_rules_recognize_quality_questions(question, kind, kinds):
    intent = recognize_question(question, use_embeddings=False)
    assert intent.is_quality and intent.method == "rules"
    assert intent.kind is kind
    assert intent.distortions == kinds


@pytest.mark.parametrize("question", VISUAL)
def test_rules_leave_visual_questions_alone(question):
    intent = recognize_question(question, use_embeddings=False)
    assert not intent.is_quality
    assert intent.kind is None and intent.score == 0.0


def test_negative_and_dimension_flags():
    intent = recognize_question("is the quality poor?", use_embeddings=False)
    assert intent.negative
    kind, _, dim, neg = classify_kind("does the video look sharp?")
    assert (kind, dim, neg) == (QuestionKind.QUALITY_YES_NO, "sharpness", False)
    assert classify_kind("how noisy is it?")[2] == "noise"


def test_bool_and_score_helpers():
    assert is_quality_question("is the video blurry?", use_embeddings=False)
    assert not is_quality_question("what is the man holding?", use_embeddings=False)
    assert quality_question_score("is the video blurry?", use_embeddings=False) > 0.9


@pytest.mark.slow  # loads the sentence model (about 5 s)
@pytest.mark.skipif(not embeddings_available(), reason="sentence model not installed")
def test_embeddings_catch_paraphrases_and_reject_visual_questions():
    paraphrase = recognize_question("would you say the footage looks crisp and professional?")
    assert paraphrase.is_quality and paraphrase.method in ("rules", "embedding")
    smooth = recognize_question("does the motion look natural, without hiccups?")
    assert smooth.is_quality and smooth.method == "embedding"
    visual = recognize_question("what is the woman cooking in the kitchen?")
    assert not visual.is_quality and visual.method == "embedding"
    assert visual.score < 0.5 < smooth.score
