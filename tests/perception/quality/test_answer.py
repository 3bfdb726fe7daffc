"""Answering quality questions from a hand-made report (golden numbers)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from videoqa.errors import UsageError
from videoqa.perception.quality.answer import (
    answer_from_report,
    answer_quality_question,
    rating_distribution,
)
from videoqa.perception.quality.assess import (
    RATING_LABELS,
    DimensionScore,
    QualityReport,
    SecondScore,
    quality_label,
    visible_probability,
)
from videoqa.perception.quality.model import CLASS_NAMES, DIMENSIONS
from videoqa.perception.quality.questions import QuestionKind


def _second(i: int, score: float, probs: dict[str, float]) -> SecondScore:
    full = {c: probs.get(c, 0.0) for c in CLASS_NAMES}
    top = max(full, key=full.get)
    return SecondScore(
        index=i,
        start=float(i),
        end=float(i + 1),
        keyframe_time=i + 0.02,
        score=score,
        distortion=top,
        probability=full[top],
        probabilities=full,
        dimensions={d: (score if d == "sharpness" else 4.8) for d in DIMENSIONS},
    )


@pytest.fixture
def report() -> QualityReport:
    """Four seconds: clean, clean, blurred, blurred."""
    secs = [
        _second(0, 4.6, {"none": 0.9, "blur": 0.1}),
        _second(1, 4.4, {"none": 0.8, "blur": 0.2}),
        _second(2, 2.0, {"blur": 0.7, "low_resolution": 0.3}),
        _second(3, 2.2, {"blur": 0.6, "none": 0.4}),
    ]
    probs = {c: float(np.mean([s.probabilities[c] for s in secs])) for c in CLASS_NAMES}
    visible = {
        c: visible_probability(np.array([s.probabilities[c] for s in secs]))
        for c in CLASS_NAMES
        if c != "none"
    }
    dims = [
        DimensionScore(
            name=d,
            score=3.3 if d == "sharpness" else 4.8,
            label=quality_label(3.3 if d == "sharpness" else 4.8),
            worst_second=2.0,
        )
        for d in DIMENSIONS
    ]
    return QualityReport(
        path="x.mp4",
        duration=4.0,
        width=176,
        height=144,
        fps=30.0,
        score=3.3,
        label="fair",
        dimensions=dims,
        distortions=probs,
        visible=visible,
        main_distortion="blur",
        seconds=secs,
        compute_seconds=0.1,
    )


def test_visible_probability_golden():
    assert visible_probability(np.array([0.1, 0.2, 1.0, 0.6])) == pytest.approx(0.8)  # top 2 of 4
    assert visible_probability(np.array([0.3])) == pytest.approx(0.3)
    assert visible_probability(np.arange(10) / 10) == pytest.approx((0.9 + 0.8 + 0.7 + 0.6) / 4)


def test_weak_main_distortion_is_reported_as_unclear(report):
    weak = report.model_copy(update={"visible": {**report.visible, "blur": 0.3}})
    ans = answer_from_report(weak, "what distortion is most visible?")
    assert ans.answer == "no clear distortion (most likely blur, p=0.30)"


def test_rating_distribution_golden():
    p = rating_distribution(3.0)
    # symmetric around "fair": P(fair) = P(|Z| < 0.5 / 0.6)
    assert p[2] == pytest.approx(math.erf(0.5 / (0.6 * math.sqrt(2))))
    assert p[1] == pytest.approx(p[3]) and p[0] == pytest.approx(p[4])
    assert p.sum() == pytest.approx(1.0)
    assert np.argmax(rating_distribution(4.9)) == 4


def test_quality_label_bins():
    assert [quality_label(v) for v in (1.0, 1.49, 1.5, 3.0, 4.49, 4.5, 5.0)] == [
        "bad",
        "bad",
        "poor",
        "fair",
        "good",
        "excellent",
        "excellent",
    ]
    assert RATING_LABELS[0] == "bad"


def test_overall_rating(report):
    ans = answer_from_report(report, "rate the overall quality")
    assert ans.kind is QuestionKind.OVERALL_RATING
    assert ans.answer.startswith("fair")
    assert ans.choices == ["excellent", "good", "fair", "poor", "bad"]
    assert sum(ans.probabilities) == pytest.approx(1.0)
    assert [e.time for e in ans.evidence[:2]] == [2.0, 3.0]  # the worst seconds first


def test_distortion_yes_no(report):
    ans = answer_from_report(report, "is the video blurry?")
    # per-second P(blur) + P(low_resolution) = 0.1, 0.2, 1.0, 0.6; a distortion counts
    # when it shows in a third of the video: mean of the top ceil(4 / 3) = 2 seconds.
    assert ans.answer == "yes"
    assert ans.probabilities[0] == pytest.approx(0.8, abs=1e-4)
    assert [e.time for e in ans.evidence[:2]] == [2.0, 3.0]
    dark = answer_from_report(report, "is it too dark?")
    assert dark.answer == "no" and dark.probabilities[0] < 0.01


def test_yes_no_with_choices(report):
    ans = answer_from_report(report, "is the video blurry?", ["No", "Yes"])
    assert ans.choices == ["No", "Yes"]
    assert ans.probabilities == pytest.approx([0.2, 0.8], abs=1e-4)
    assert ans.answer == "Yes"


def test_main_distortion_with_and_without_choices(report):
    ans = answer_from_report(report, "what distortion is most visible?")
    # visible probability of blur: mean of its top 2 seconds (0.7, 0.6) = 0.65 >= 0.5
    assert ans.kind is QuestionKind.MAIN_DISTORTION and ans.answer == "blur"
    assert ans.evidence[0].time == 2.0 and "blur p=0.70" in ans.evidence[0].note
    picked = answer_from_report(
        report,
        "which distortion is most visible?",
        ["noise", "blurriness", "flicker", "no distortion"],
    )
    # video-level masses: none 0.525, blur 0.4, noise 0, flicker 0
    assert picked.answer == "no distortion"
    assert picked.probabilities[3] == pytest.approx(0.525 / 0.925, abs=1e-4)
    assert picked.probabilities[1] == pytest.approx(0.4 / 0.925, abs=1e-4)


def test_when_does_quality_drop(report):
    ans = answer_from_report(report, "when does the quality drop?")
    assert ans.kind is QuestionKind.WHEN_DROP
    assert ans.answer.startswith("at 2.0-4.0 s")
    assert [e.time for e in ans.evidence[:2]] == [2.0, 3.0]
    choice = answer_from_report(
        report, "when does the quality drop?", ["at the beginning", "at the end", "it never drops"]
    )
    assert choice.answer == "at the end"
    assert choice.probabilities[1] > 0.5
    # drop weights softmax(-(score - 2.0) / 0.5) over the seconds; "never drops" gets
    # exp(-(median 3.3 - min 2.0) / 0.6); all renormalized over the three choices
    w = np.exp(-(np.array([4.6, 4.4, 2.0, 2.2]) - 2.0) / 0.5)
    w /= w.sum()
    raw = np.array([w[0] + w[1], w[2] + w[3], math.exp(-1.3 / 0.6)])
    assert choice.probabilities == pytest.approx(raw / raw.sum(), abs=1e-4)


def test_quality_yes_no_polarity(report):
    good = answer_from_report(report, "is the video of good quality?")
    bad = answer_from_report(report, "is the quality poor?")
    assert good.probabilities[0] == pytest.approx(1 / (1 + math.exp(-(3.3 - 3.0) / 0.5)))
    assert bad.probabilities[0] == pytest.approx(1 - good.probabilities[0])


def test_rating_choices_map_labels_and_numbers(report):
    ans = answer_from_report(report, "rate the quality", ["1", "2", "3", "4", "5"])
    assert ans.answer == "3"
    words = answer_from_report(report, "how good is the quality?", ["high", "medium", "low"])
    assert words.answer == "medium"


def test_input_validation(carphone_pristine):
    with pytest.raises(UsageError):
        answer_quality_question(carphone_pristine, "  ")
    with pytest.raises(UsageError):
        answer_quality_question(carphone_pristine, "is it blurry?", ["yes"])


def test_qalign_levels_expect_the_score():
    levels = np.arange(1, 6)
    for score in (1.7, 2.5, 3.3, 4.21):
        p = rating_distribution(score)
        assert p.sum() == pytest.approx(1.0) and np.all(p >= 0)
        assert p @ levels == pytest.approx(score, abs=1e-9)  # Q-Align: E[level] = score


def test_how_good_is_this_video_is_a_rating_question(report):
    from videoqa.perception.quality.questions import recognize_question

    intent = recognize_question("how good is this video?", use_embeddings=False)
    assert intent.is_quality and intent.kind is QuestionKind.OVERALL_RATING
    assert not recognize_question(
        "how good is the player in this video?", use_embeddings=False
    ).is_quality
    ans = answer_from_report(report, "how good is this video?")
    assert ans.choices == ["excellent", "good", "fair", "poor", "bad"]
    assert np.dot(ans.probabilities, [5, 4, 3, 2, 1]) == pytest.approx(3.3, abs=1e-3)
    assert not ans.uncertain


def test_free_form_choices_map_by_meaning(report):
    # P(blur visible) = 0.8: "very blurry" means yes, "sharp" means no
    ans = answer_from_report(report, "is the video blurry?", ["very blurry", "sharp"])
    assert ans.probabilities == pytest.approx([0.8, 0.2], abs=1e-4)
    assert ans.answer == "very blurry" and not ans.uncertain
    negated = answer_from_report(
        report, "is it blurry?", ["not blurry at all", "in focus", "out of focus"]
    )
    assert negated.answer == "out of focus"
    assert negated.probabilities[0] == pytest.approx(negated.probabilities[1])
    assert negated.uncertain is False  # the tie is between the two losing choices
    words = answer_from_report(report, "how good is this video?", ["decent", "so-so", "horrible"])
    assert words.answer == "so-so" and not words.uncertain


def test_ties_and_unmappable_choices_are_flagged(report):
    tie = answer_from_report(report, "is the video blurry?", ["very blurry", "blurry"])
    assert tie.uncertain and "tie" in tie.uncertain_reason
    assert tie.probabilities == pytest.approx([0.5, 0.5], abs=1e-6)
    nothing = answer_from_report(report, "is the video blurry?", ["a red car", "a blue car"])
    assert nothing.uncertain and "none of the choices" in nothing.uncertain_reason
    partly = answer_from_report(report, "what distortion is most visible?", ["blur", "a red car"])
    assert partly.answer == "blur" and partly.uncertain
    assert "'a red car'" in partly.uncertain_reason and partly.probabilities[1] < 1e-4
    yes_no_rating = answer_from_report(report, "rate the overall quality", ["yes", "no"])
    assert yes_no_rating.uncertain and yes_no_rating.probabilities == pytest.approx([0.5, 0.5])
