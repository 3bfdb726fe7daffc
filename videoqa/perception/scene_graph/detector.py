"""CenterNet-style object detector and a grid-sample RoIAlign.

The detector follows Zhou et al., "Objects as Points" (arXiv 1904.07850, 2019), §3: a
fully convolutional trunk at output stride 4 predicts a class-agnostic centre heatmap
(trained with the penalty-reduced focal loss of Eq. 1 against Gaussian-splatted centres),
a box size ``(w, h)`` and a sub-pixel centre offset (L1 losses of Eq. 2 and 3, evaluated
at the ground-truth centres). Decoding keeps the local maxima of the heatmap (3 x 3 max
pooling as NMS, §4) above a threshold.

Boxes are ``(x1, y1, x2, y2)`` normalised to ``[0, 1]`` of the frame width/height.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "CenterNetHead",
    "CenterNetOutput",
    "CenterNetTargets",
    "Detections",
    "box_iou",
    "centernet_losses",
    "centernet_targets",
    "decode_centernet",
    "focal_loss",
    "roi_align",
]


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


@dataclass
class CenterNetOutput:
    """Raw detector outputs on a ``S x S`` map (``S = image_size / 4``).

    Attributes:
        heatmap: ``(N, 1, S, S)`` centre logits.
        size: ``(N, 2, S, S)`` box width/height in map cells (>= 0).
        offset: ``(N, 2, S, S)`` sub-cell centre offset in cells.
        features: ``(N, C, S, S)`` trunk features.
    """

    heatmap: Tensor
    size: Tensor
    offset: Tensor
    features: Tensor


class CenterNetHead(nn.Module):
    """Trunk (stride 4) and the three CenterNet heads (Zhou et al. 2019, §3).

    Args:
        channels: trunk output channels ``C``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        half = max(channels // 2, 8)
        self.trunk = nn.Sequential(
            _conv(3, half, 2),
            _conv(half, channels, 2),
            _conv(channels, channels),
            nn.Conv2d(channels, channels, 3, padding=2, dilation=2, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )
        # one shared 3 x 3 layer, then a 1 x 1 output per head (CenterNet §4 uses a
        # 3 x 3 layer per head; shared here to halve the CPU cost)
        self.shared = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True)
        )
        self.heat = nn.Conv2d(channels, 1, 1)
        self.size = nn.Conv2d(channels, 2, 1)
        self.offset = nn.Conv2d(channels, 2, 1)
        # prior 0.1 on the heatmap (CenterNet §4 initialises the bias to -2.19)
        nn.init.constant_(self.heat.bias, -2.19)

    def forward(self, images: Tensor) -> CenterNetOutput:
        """``images`` ``(N, 3, H, W)`` in [0, 1] -> :class:`CenterNetOutput`."""
        feats = self.trunk(images - 0.5)
        shared = self.shared(feats)
        return CenterNetOutput(
            heatmap=self.heat(shared),
            size=F.softplus(self.size(shared)),
            offset=self.offset(shared),
            features=feats,
        )


@dataclass
class CenterNetTargets:
    """Training targets on the ``S x S`` map.

    Attributes:
        heatmap: ``(N, 1, S, S)`` Gaussian-splatted centres in [0, 1] (1 at the centres).
        centers: ``(N, R, 2)`` long integer centre cell ``(cx, cy)``.
        size: ``(N, R, 2)`` box ``(w, h)`` in cells.
        offset: ``(N, R, 2)`` centre minus its integer cell, in cells.
        mask: ``(N, R)`` bool, True = real object.
    """

    heatmap: Tensor
    centers: Tensor
    size: Tensor
    offset: Tensor
    mask: Tensor


def centernet_targets(boxes: Tensor, mask: Tensor, map_size: int) -> CenterNetTargets:
    """Build CenterNet targets from ground-truth boxes.

    The Gaussian of each object has ``sigma = max(w, h) / 6`` cells (a simpler stand-in
    for the IoU-based radius of CornerNet used by CenterNet §3); overlapping Gaussians
    are combined by element-wise maximum (CenterNet §3).

    Args:
        boxes: ``(N, R, 4)`` normalised xyxy.
        mask: ``(N, R)`` bool.
        map_size: ``S``.
    """
    s = map_size
    centre = (boxes[..., :2] + boxes[..., 2:]) / 2 * s
    wh = (boxes[..., 2:] - boxes[..., :2]).clamp(min=0) * s
    cell = centre.floor().clamp(0, s - 1)
    grid = torch.arange(s, dtype=boxes.dtype, device=boxes.device) + 0.5
    sigma = (wh.max(dim=-1).values / 6).clamp(min=0.5)  # (N, R)
    dx = (grid.view(1, 1, s) - (cell[..., 0:1] + 0.5)) ** 2  # (N, R, S)
    dy = (grid.view(1, 1, s) - (cell[..., 1:2] + 0.5)) ** 2
    gauss = torch.exp(-(dy.unsqueeze(-1) + dx.unsqueeze(-2)) / (2 * sigma[..., None, None] ** 2))
    gauss = gauss * mask[..., None, None]
    heat = (
        gauss.amax(dim=1, keepdim=True) if boxes.shape[1] else boxes.new_zeros(len(boxes), 1, s, s)
    )
    return CenterNetTargets(heat, cell.long(), wh, centre - cell, mask)


def focal_loss(logits: Tensor, target: Tensor) -> Tensor:
    """Penalty-reduced pixel-wise focal loss (CenterNet Eq. 1, alpha = 2, beta = 4).

    Args:
        logits: ``(N, 1, S, S)`` heatmap logits. target: same shape, Gaussian targets.

    Returns:
        Scalar: the summed loss divided by the number of centres (at least 1).
    """
    pos = target.eq(1).float()
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    p = log_p.exp()
    pos_loss = -((1 - p) ** 2) * log_p * pos
    neg_loss = -((1 - target) ** 4) * (p**2) * log_not_p * (1 - pos)
    return (pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1)


def _at_centers(maps: Tensor, centers: Tensor) -> Tensor:
    """Gather ``(N, C, S, S)`` maps at ``(N, R, 2)`` cells -> ``(N, R, C)``."""
    n, c, s, _ = maps.shape
    flat = (centers[..., 1] * s + centers[..., 0]).clamp(0, s * s - 1)  # (N, R)
    return maps.flatten(2).gather(2, flat.unsqueeze(1).expand(n, c, -1)).transpose(1, 2)


def centernet_losses(out: CenterNetOutput, targets: CenterNetTargets) -> dict[str, Tensor]:
    """Focal heatmap loss and masked L1 size/offset losses (CenterNet Eq. 1-3).

    Returns:
        ``{"heatmap", "size", "offset"}`` scalar losses (size and offset averaged over
        real objects; weight them, e.g. 0.1 and 1 as in CenterNet §3).
    """
    m = targets.mask.unsqueeze(-1).float()
    count = m.sum().clamp(min=1) * 2
    size = (
        F.l1_loss(_at_centers(out.size, targets.centers), targets.size, reduction="none") * m
    ).sum()
    off = (
        F.l1_loss(_at_centers(out.offset, targets.centers), targets.offset, reduction="none") * m
    ).sum()
    return {
        "heatmap": focal_loss(out.heatmap, targets.heatmap),
        "size": size / count,
        "offset": off / count,
    }


@dataclass
class Detections:
    """Decoded detections, padded to ``R`` per frame.

    Attributes:
        boxes: ``(N, R, 4)`` normalised xyxy (zeros where masked).
        scores: ``(N, R)`` centre-peak probability (0 where masked).
        mask: ``(N, R)`` bool, True = detection above the threshold.
    """

    boxes: Tensor
    scores: Tensor
    mask: Tensor


def decode_centernet(out: CenterNetOutput, max_objects: int, threshold: float) -> Detections:
    """Peaks of the heatmap as boxes (CenterNet §4: 3 x 3 max-pool NMS, top-``R``).

    Args:
        out: detector outputs on an ``S x S`` map.
        max_objects: ``R``. threshold: minimum peak probability.

    Returns:
        :class:`Detections` sorted by score (descending) within each frame.
    """
    heat = torch.sigmoid(out.heatmap)
    n, _, s, _ = heat.shape
    peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)
    k = min(max_objects, s * s)
    scores, flat = peaks.flatten(1).topk(k, dim=1)  # (N, k)
    cells = torch.stack([flat % s, flat // s], dim=-1)  # (N, k, 2)  (cx, cy)
    offset = _at_centers(out.offset, cells)
    size = _at_centers(out.size, cells)
    centre = cells.float() + offset
    boxes = torch.cat([centre - size / 2, centre + size / 2], dim=-1).div(s).clamp(0, 1)
    mask = scores > threshold
    if k < max_objects:
        pad = max_objects - k
        boxes = F.pad(boxes, (0, 0, 0, pad))
        scores = F.pad(scores, (0, pad))
        mask = F.pad(mask, (0, pad))
    return Detections(boxes * mask.unsqueeze(-1), scores * mask, mask)


def roi_align(images: Tensor, boxes: Tensor, frame_index: Tensor, size: int) -> Tensor:
    """Bilinear RoIAlign with one sample per bin, written with ``grid_sample``.

    RoIAlign (He et al., "Mask R-CNN", ICCV 2017, §3) samples the feature map at
    regularly spaced points inside each box with bilinear interpolation, without
    quantising the box. Here bin ``(i, j)`` of an ``size x size`` output is sampled at
    its centre: ``x = x1 + (j + 0.5) / size * (x2 - x1)`` (normalised), mapped to the
    ``grid_sample`` convention (``align_corners=False``: pixel ``u`` covers
    ``[u, u + 1) / W``); outside the image is zero.

    Args:
        images: ``(N, C, H, W)``.
        boxes: ``(M, 4)`` normalised xyxy.
        frame_index: ``(M,)`` long, which image each box is cut from.
        size: output side in pixels.

    Returns:
        ``(M, C, size, size)``.
    """
    steps = (torch.arange(size, dtype=boxes.dtype, device=boxes.device) + 0.5) / size
    xs = boxes[:, 0:1] + steps * (boxes[:, 2:3] - boxes[:, 0:1])  # (M, size)
    ys = boxes[:, 1:2] + steps * (boxes[:, 3:4] - boxes[:, 1:2])
    grid = torch.stack(
        [xs.unsqueeze(1).expand(-1, size, -1), ys.unsqueeze(2).expand(-1, -1, size)], dim=-1
    )
    return F.grid_sample(
        images[frame_index],
        grid * 2 - 1,
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )


def box_iou(a: Tensor, b: Tensor) -> Tensor:
    """Intersection over union of ``(..., A, 4)`` and ``(..., B, 4)`` xyxy boxes -> ``(..., A, B)``."""
    lt = torch.maximum(a[..., :, None, :2], b[..., None, :, :2])
    rb = torch.minimum(a[..., :, None, 2:], b[..., None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_b = (b[..., 2:] - b[..., :2]).clamp(min=0).prod(-1)
    return inter / (area_a[..., :, None] + area_b[..., None, :] - inter).clamp(min=1e-9)
