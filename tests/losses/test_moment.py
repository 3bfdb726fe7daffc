"""Localizer targets and losses (UniVTG §3.3), against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from videoqa.errors import UsageError
from videoqa.losses.moment import (
    LossWeights,
    boundary_loss,
    foreground_loss,
    inter_video_saliency_loss,
    intra_video_saliency_loss,
    localizer_loss,
    moment_targets,
)
from videoqa.models.sgvlm.localizer import LocalizerOutput

TIMES = torch.tensor([[0.125, 0.375, 0.625, 0.875]])  # clip windows [0, .25) [.25, .5) ...
ALL = torch.ones(1, 4, dtype=torch.bool)


def test_targets_overlap_and_offsets():
    t = moment_targets(torch.tensor([[0.3, 0.6]]), TIMES, ALL, 0.25)
    assert t.foreground.tolist() == [[False, True, True, False]]
    # (t - start, end - t) clamped at 0
    expected = torch.tensor([[[0.0, 0.475], [0.075, 0.225], [0.325, 0.0], [0.575, 0.0]]])
    torch.testing.assert_close(t.offsets, expected)


def test_targets_touching_window_is_not_foreground():
    # [0.25, 0.5) is exactly frame 1's window: frames 0 and 2 only touch it
    t = moment_targets(torch.tensor([[0.25, 0.5]]), TIMES, ALL, 0.25)
    assert t.foreground.tolist() == [[False, True, False, False]]


def test_targets_zero_length_moment():
    t = moment_targets(torch.tensor([[0.55, 0.55]]), TIMES, ALL, 0.25)
    assert t.foreground.tolist() == [[False, False, True, False]]


def test_targets_nearest_real_frame_is_foreground():
    mask = torch.tensor([[True, True, False, False]])
    t = moment_targets(torch.tensor([[0.8, 0.9]]), TIMES, mask, 0.25)
    assert t.foreground.tolist() == [[False, True, False, False]]


def test_targets_several_moments_per_query():
    # QVHighlights-style: two moments for query 0 (second padded with NaN for query 1)
    windows = torch.tensor(
        [[[0.0, 0.2], [0.7, 0.9]], [[0.3, 0.6], [math.nan, math.nan]]], dtype=torch.float32
    )
    t = moment_targets(windows, TIMES.expand(2, 4), ALL.expand(2, 4), 0.25)
    assert t.foreground.tolist() == [[True, False, True, True], [False, True, True, False]]
    # each foreground frame regresses its own moment: frame 0 -> [0, .2], 2 and 3 -> [.7, .9]
    torch.testing.assert_close(t.offsets[0, 0], torch.tensor([0.125, 0.075]))
    torch.testing.assert_close(t.offsets[0, 2], torch.tensor([0.0, 0.275]))
    torch.testing.assert_close(t.offsets[0, 3], torch.tensor([0.175, 0.025]))
    single = moment_targets(torch.tensor([[0.3, 0.6]]), TIMES, ALL, 0.25)
    assert t.foreground[1].tolist() == single.foreground[0].tolist()
    torch.testing.assert_close(t.offsets[1], single.offsets[0])
    with pytest.raises(UsageError, match="at least one moment"):
        moment_targets(torch.full((1, 1, 2), math.nan), TIMES, ALL, 0.25)


def test_targets_errors():
    with pytest.raises(UsageError):
        moment_targets(torch.tensor([[0.5, 0.4]]), TIMES, ALL, 0.25)
    with pytest.raises(UsageError):
        moment_targets(torch.tensor([[0.1, 0.4]]), TIMES, ALL, 0.0)


def test_foreground_loss_golden():
    logits = torch.tensor([[0.0, math.log(3.0), 7.0]])
    fg = torch.tensor([[True, False, False]])
    mask = torch.tensor([[True, True, False]])
    # BCE: frame 0 ln 2 (p = .5), frame 1 ln 4 (p = .75 for a negative); frame 2 is padding
    bce_half = foreground_loss(logits, fg, mask, gamma=0.0, alpha=0.5)
    assert float(bce_half) == pytest.approx(0.5 * (math.log(2) + math.log(4)) / 2)
    # focal, gamma 2: (1 - .5)^2 * .5 * ln2 and (1 - .25)^2 * .5 * ln4
    focal = foreground_loss(logits, fg, mask, gamma=2.0, alpha=0.5)
    assert float(focal) == pytest.approx((0.125 * math.log(2) + 0.28125 * math.log(4)) / 2)


def test_boundary_loss_golden():
    pred = torch.tensor([[[0.1, 0.3], [9.0, 9.0]]])
    target = torch.tensor([[[0.2, 0.2], [0.0, 0.0]]])
    fg = torch.tensor([[True, False]])
    l1, iou = boundary_loss(pred, target, fg, beta=0.1)
    # |diff| = 0.1 >= beta: 0.1 - 0.05 each; IoU = (0.1 + 0.2) / (0.2 + 0.3) = 0.6
    assert float(l1) == pytest.approx(0.05)
    assert float(iou) == pytest.approx(0.4)
    zero_l1, zero_iou = boundary_loss(pred, target, torch.zeros(1, 2, dtype=torch.bool))
    assert float(zero_l1) == 0.0 and float(zero_iou) == 0.0


def test_intra_video_saliency_golden():
    saliency = torch.tensor([[1.0, 0.0, 0.5, float("-inf")]])
    fg = torch.tensor([[True, False, False, False]])
    mask = torch.tensor([[True, True, True, False]])
    loss = intra_video_saliency_loss(saliency, fg, mask, tau=1.0)
    assert float(loss) == pytest.approx(math.log(math.e + 1 + math.exp(0.5)) - 1)
    # tau scales the scores: at tau 0.5, log(e^2 + 1 + e^1) - 2
    loss = intra_video_saliency_loss(saliency, fg, mask, tau=0.5)
    assert float(loss) == pytest.approx(math.log(math.exp(2) + 1 + math.e) - 2)
    # a video whose frames are all foreground has no negative: loss 0
    assert float(intra_video_saliency_loss(saliency, mask, mask, tau=1.0)) == pytest.approx(0.0)


def _keys():
    frame_keys = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
    question_keys = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    fg = torch.tensor([[True, False], [True, False]])
    return frame_keys, question_keys, fg


def test_inter_video_saliency_golden():
    frame_keys, question_keys, fg = _keys()
    # question 0: positive q0.f00 = 1, negative q0.f10 = 0; question 1 the same by symmetry
    loss = inter_video_saliency_loss(frame_keys, question_keys, fg, torch.tensor([0, 1]), tau=1.0)
    assert float(loss) == pytest.approx(math.log(math.e + 1) - 1)
    # two questions on the same video: no negatives
    same = inter_video_saliency_loss(frame_keys, question_keys, fg, torch.tensor([0, 0]), tau=1.0)
    assert float(same) == pytest.approx(0.0)


def test_localizer_loss_is_the_weighted_sum():
    frame_keys, question_keys, fg = _keys()
    saliency = torch.einsum("bth,bh->bt", frame_keys, question_keys)
    output = LocalizerOutput(
        saliency=saliency,
        foreground=torch.tensor([[1.0, -1.0], [0.5, 0.0]]),
        offsets=torch.tensor([[[0.1, 0.2], [0.0, 0.0]], [[0.3, 0.1], [0.0, 0.0]]]),
        frame_states=torch.zeros(2, 2, 2),
        frame_keys=frame_keys,
        question_keys=question_keys,
    )
    times = torch.tensor([[0.25, 0.75], [0.25, 0.75]])
    targets = moment_targets(
        torch.tensor([[0.1, 0.4], [0.0, 0.5]]), times, torch.ones(2, 2, dtype=torch.bool), 0.5
    )
    assert targets.foreground.tolist() == fg.tolist()
    w = LossWeights(foreground=2.0, l1=3.0, iou=4.0, intra=5.0, inter=6.0)
    out = localizer_loss(output, targets, torch.tensor([0, 1]), w)
    terms = out.as_floats()
    expected = (2 * terms["foreground"] + 3 * terms["l1"] + 4 * terms["iou"] + 5 * terms["intra"]
                + 6 * terms["inter"])  # fmt: skip
    assert terms["total"] == pytest.approx(expected)
    assert terms["inter"] == pytest.approx(math.log1p(math.exp(-1 / 0.07)), abs=2e-6)
