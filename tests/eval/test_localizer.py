"""Moment decoding (UniVTG §3.4) and QVHighlights scoring of the frame localizer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from videoqa.data.schema import QASample
from videoqa.errors import DataFormatError
from videoqa.eval.localizer import (
    LocalizerPrediction,
    MomentWindow,
    decode_moments,
    localizer_ground_truth,
    nms,
    predictions_from_output,
    score_localizer,
    whole_video_predictions,
)
from videoqa.models.sgvlm.localizer import LocalizerOutput

TIMES16 = np.arange(16) * 0.25 + 0.125  # 4 s video, one 0.25 s clip per frame


def _output(fg, offsets, saliency=None) -> LocalizerOutput:
    fg = torch.tensor(fg)
    return LocalizerOutput(
        saliency=torch.zeros_like(fg) if saliency is None else torch.tensor(saliency),
        foreground=fg,
        offsets=torch.tensor(offsets),
        frame_states=torch.zeros(*fg.shape, 1),
        frame_keys=torch.zeros(*fg.shape, 1),
        question_keys=torch.zeros(fg.shape[0], 1),
    )


def _sample(qid: str, interval) -> QASample:
    return QASample(qid=qid, video_id="v", question="q?", answer="a", interval=interval)


def test_decode_golden_ranking_and_clipping():
    out = _output([[0.0, 2.0, -1.0, 5.0]], [[[0.5, 0.5], [0.5, 1.0], [0.2, 0.5], [0.0, 0.0]]])
    times = torch.tensor([[0.5, 1.5, 2.5, 3.0]])
    mask = torch.tensor([[True, True, True, False]])
    (windows,) = decode_moments(out, times, mask, duration=2.8)
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    expected = [(1.0, 2.5, sig(2.0)), (0.0, 1.0, sig(0.0)), (2.3, 2.8, sig(-1.0))]
    assert np.allclose(np.array(windows), np.array(expected))


def test_nms_suppresses_overlaps():
    a, b, c = MomentWindow(0.0, 1.0, 0.9), MomentWindow(0.05, 1.0, 0.8), MomentWindow(2, 3, 0.1)
    assert nms([c, b, a], 0.7, 10) == [a, c]  # IoU(a, b) = 0.95
    assert nms([c, b, a], 0.99, 10) == [a, b, c]
    assert nms([c, b, a], 0.99, 2) == [a, b]


def test_ground_truth_clips():
    gt = localizer_ground_truth(_sample("q", (3.0625, 3.125)), TIMES16, 4.0, 0.25)
    assert gt.relevant_clip_ids == [12]  # clip [3.0, 3.25)
    assert gt.saliency_scores == [[4.0, 4.0, 4.0]]
    with pytest.raises(DataFormatError):
        localizer_ground_truth(_sample("q", None), TIMES16, 4.0, 0.25)


def test_ground_truth_of_several_moments():
    from videoqa.data.grounding import GroundingExample

    example = GroundingExample(
        qid="g", video_id="v", query="q", duration=4.0, windows=((0.0, 0.5), (3.0, 3.25))
    )
    gt = localizer_ground_truth(example, TIMES16, 4.0, 0.25)
    assert gt.relevant_windows == [(0.0, 0.5), (3.0, 3.25)]
    assert gt.relevant_clip_ids == [0, 1, 12]
    perfect = [
        LocalizerPrediction("g", [MomentWindow(0.0, 0.5, 0.9), MomentWindow(3.0, 3.25, 0.8)],
                            np.isin(np.arange(16), [0, 1, 12]).astype(float), TIMES16, 4.0)
    ]  # fmt: skip
    brief = score_localizer(perfect, [example], 0.25).brief
    assert brief["MR-full-mAP"] == pytest.approx(100.0)
    assert brief["HL-min-VeryGood-Hit1"] == pytest.approx(100.0)


def test_perfect_and_trivial_scores():
    samples = [_sample("a", (1.0, 2.0)), _sample("b", (0.5, 0.75))]
    fg_a = ((TIMES16 > 1.0) & (TIMES16 < 2.0)).astype(float)  # clips 4..7
    fg_b = (np.abs(TIMES16 - 0.625) < 0.01).astype(float)  # clip 2
    perfect = [
        LocalizerPrediction("a", [MomentWindow(1.0, 2.0, 0.9)], fg_a, TIMES16, 4.0),
        LocalizerPrediction("b", [MomentWindow(0.5, 0.75, 0.9)], fg_b, TIMES16, 4.0),
    ]
    brief = score_localizer(perfect, samples, 0.25).brief
    assert brief["MR-full-R1@0.7"] == 100.0 and brief["MR-full-mAP"] == 100.0
    assert brief["HL-min-VeryGood-mAP"] == 100.0 and brief["HL-min-VeryGood-Hit1"] == 100.0
    trivial = whole_video_predictions(["a", "b"], [TIMES16, TIMES16], [4.0, 4.0])
    brief = score_localizer(trivial, samples, 0.25).brief
    # IoU with [0, 4]: 0.25 and 0.0625 -> no hit, AP 0
    assert brief["MR-full-R1@0.5"] == 0.0 and brief["MR-full-mAP"] == 0.0
    # all clips tied: AP = share of positive clips (4/16 and 1/16), Hit@1 = first clip
    assert brief["HL-min-VeryGood-mAP"] == pytest.approx(100 * (4 / 16 + 1 / 16) / 2, abs=0.01)
    assert brief["HL-min-VeryGood-Hit1"] == 0.0
    with pytest.raises(DataFormatError):
        score_localizer(trivial, samples[:1], 0.25)


def test_predictions_from_output_keeps_real_frames():
    out = _output([[0.0, 1.0, 0.0]], [[[0.1, 0.1]] * 3], saliency=[[0.2, 0.9, float("-inf")]])
    times = torch.tensor([[0.5, 1.5, 2.5]])
    (pred,) = predictions_from_output(["q"], out, times, torch.tensor([[True, True, False]]), [3.0])
    assert pred.saliency.tolist() == pytest.approx([0.2, 0.9])
    assert pred.times.tolist() == [0.5, 1.5]
    assert pred.windows[0] == pytest.approx((1.4, 1.6, 1 / (1 + math.exp(-1))))
