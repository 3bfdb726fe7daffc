"""CenterNet targets/losses/decoding, RoIAlign and IoU: golden values."""

from __future__ import annotations

import math

import pytest
import torch

from videoqa.perception.scene_graph.detector import (
    CenterNetOutput,
    box_iou,
    centernet_losses,
    centernet_targets,
    decode_centernet,
    focal_loss,
    roi_align,
)


def _ramp_image() -> torch.Tensor:
    """``(1, 1, 4, 4)`` with pixel (y, x) = 10 y + x."""
    y, x = torch.meshgrid(torch.arange(4.0), torch.arange(4.0), indexing="ij")
    return (10 * y + x).view(1, 1, 4, 4)


def test_roi_align_samples_bin_centres() -> None:
    image = _ramp_image()
    # box over pixels 1..3 (continuous): bin centres fall exactly on pixel centres 1 and 2
    out = roi_align(image, torch.tensor([[0.25, 0.25, 0.75, 0.75]]), torch.tensor([0]), 2)
    assert out.shape == (1, 1, 2, 2)
    torch.testing.assert_close(out[0, 0], torch.tensor([[11.0, 12.0], [21.0, 22.0]]))
    # bin centre at 0.4375 * 4 - 0.5 = 1.25 pixels: bilinear 10 * 1.25 + 1.25
    out = roi_align(image, torch.tensor([[0.25, 0.25, 0.625, 0.625]]), torch.tensor([0]), 1)
    assert out.item() == pytest.approx(13.75)


def test_roi_align_picks_the_frame_and_pads_outside_with_zeros() -> None:
    images = torch.cat([_ramp_image(), _ramp_image() + 100])
    out = roi_align(
        images,
        torch.tensor([[0.5, 0.5, 1.0, 1.0], [0.75, 0.0, 1.25, 0.25]]),
        torch.tensor([1, 0]),
        2,
    )
    torch.testing.assert_close(out[0, 0], torch.tensor([[122.0, 123.0], [132.0, 133.0]]))
    # box half outside: x samples at pixels 3.0 and 4.0 (outside: zero), y at -0.25 and
    # 0.25 (a quarter/three quarters of the zero row above the image)
    torch.testing.assert_close(out[1, 0], torch.tensor([[2.25, 0.0], [5.5, 0.0]]))


def test_box_iou_golden() -> None:
    a = torch.tensor([[0.0, 0.0, 0.5, 0.5]])
    b = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.25, 0.0, 0.75, 0.5], [0.6, 0.6, 1.0, 1.0]])
    torch.testing.assert_close(box_iou(a, b), torch.tensor([[1.0, 1 / 3, 0.0]]))


def test_targets_peak_at_the_centre_cell() -> None:
    boxes = torch.tensor([[[0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 0.0, 0.0]]])
    mask = torch.tensor([[True, False]])
    t = centernet_targets(boxes, mask, 10)
    assert t.heatmap.shape == (1, 1, 10, 10)
    assert t.centers[0, 0].tolist() == [2, 3]  # centre (0.2, 0.3) * 10
    assert t.heatmap[0, 0, 3, 2].item() == 1.0
    assert int(t.heatmap.eq(1).sum()) == 1
    torch.testing.assert_close(t.size[0, 0], torch.tensor([2.0, 2.0]))
    torch.testing.assert_close(t.offset[0, 0], torch.tensor([0.0, 0.0]), atol=1e-6, rtol=0)


def test_focal_loss_golden() -> None:
    target = torch.tensor([1.0, 0.5, 0.0]).view(1, 1, 1, 3)
    logits = torch.zeros(1, 1, 1, 3)  # p = 0.5 everywhere
    expected = 0.25 * math.log(2) + (0.5**4) * 0.25 * math.log(2) + 0.25 * math.log(2)
    assert focal_loss(logits, target).item() == pytest.approx(expected)


def test_decode_recovers_boxes_and_losses_vanish_on_perfect_maps() -> None:
    boxes = torch.tensor([[[0.1, 0.2, 0.3, 0.4], [0.55, 0.5, 0.85, 0.7]]])
    mask = torch.ones(1, 2, dtype=torch.bool)
    t = centernet_targets(boxes, mask, 20)
    size = torch.zeros(1, 2, 20, 20)
    offset = torch.zeros(1, 2, 20, 20)
    for r in range(2):
        cx, cy = t.centers[0, r].tolist()
        size[0, :, cy, cx] = t.size[0, r]
        offset[0, :, cy, cx] = t.offset[0, r]
    heat = torch.logit(t.heatmap.clamp(1e-6, 1 - 1e-6))
    out = CenterNetOutput(heat, size, offset, torch.zeros(1, 1, 20, 20))
    det = decode_centernet(out, max_objects=4, threshold=0.5)
    assert det.mask.tolist() == [[True, True, False, False]]
    found = det.boxes[0, :2][det.boxes[0, :2, 0].argsort()]
    torch.testing.assert_close(found, boxes[0], atol=1e-5, rtol=0)
    losses = centernet_losses(out, t)
    assert losses["size"].item() == pytest.approx(0.0) and losses["offset"].item() == pytest.approx(
        0.0
    )
