from __future__ import annotations

import math

import pytest

from videoqa.errors import UsageError
from videoqa.pipelines.router import QuestionRouter, answer_quality, wants_quality


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("is the video blurry?", True),
        ("rate the overall quality", True),
        ("what distortion is most visible?", True),
        ("when does the quality drop?", True),
        ("what are the people doing?", False),
        ("why did the red cube change direction?", False),
    ],
)
def test_auto_routing_recognizes_quality_questions(question, expected):
    assert wants_quality(question) is expected


def test_forced_routes_and_unknown_route():
    assert wants_quality("what are the people doing?", route="quality")
    assert not wants_quality("is the video blurry?", route="visual")
    with pytest.raises(UsageError):
        wants_quality("x", route="sideways")


def test_quality_answer_is_a_typed_result_with_evidence(sample_videos):
    run = answer_quality(sample_videos["carphone_distorted"], "what distortion is most visible?")
    result = run.result
    assert result.route == "quality" and result.answer == "compression"
    assert result.answer in result.choices
    assert result.choices[result.answer_index] == result.answer
    assert math.isclose(sum(result.probabilities), 1.0, rel_tol=1e-5)
    assert result.evidence and all(0 <= e.time < result.video.duration for e in result.evidence)
    scores = [e.score for e in result.evidence]
    assert scores == sorted(scores, reverse=True)
    assert len(run.frames) == len(result.evidence)
    # the per-second curve: one point per sampled second, contiguous, on the 1-5 scale
    curve = result.quality_curve
    assert len(curve) == len(result.sampled_times) >= 2
    assert curve[0].start == 0.0 and all(a.end == b.start for a, b in zip(curve, curve[1:], strict=False))
    assert all(1.0 <= p.score <= 5.0 for p in curve)
    by_start = {p.start: p.score for p in curve}
    for e in result.evidence:  # an evidence second's badness is its curve point's (5 - q) / 4
        assert e.score == pytest.approx((5.0 - by_start[e.time]) / 4.0, abs=1e-6)


def test_quality_multiple_choice_orders_the_carphone_pair(sample_videos):
    def p_good(name: str) -> float:
        result = answer_quality(
            sample_videos[name], "rate the overall quality", ["good", "fair", "poor"]
        ).result
        assert result.answer in ["good", "fair", "poor"]
        return result.probabilities[0]

    assert p_good("carphone_pristine") > p_good("carphone_distorted")


def test_router_never_builds_the_visual_path_for_quality_questions(sample_videos):
    built = []

    def factory():
        built.append(True)
        raise AssertionError("the visual path must not be built")

    router = QuestionRouter(factory)
    result = router(sample_videos["carphone_distorted"], "is the video blurry?").result
    assert result.route == "quality" and result.answer in ("yes", "no")
    assert not built
