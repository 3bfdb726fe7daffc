"""Neural-Motifs-style scene-graph predictor: detector, region features, object and edge
context BiLSTMs, predicate classifier, top-k triplets as scene-graph tokens.

Model (per frame, all frames of a batch at once):

1. a CenterNet detector (:mod:`.detector`) proposes up to ``R`` boxes, or ground-truth
   boxes are given (the SGCls protocol of Xu et al., "Scene Graph Generation by
   Iterative Message Passing", CVPR 2017, §5);
2. each box, enlarged by ``crop_scale``, is cut from the frame by bilinear RoIAlign
   (``grid_sample``) and encoded by a small CNN; a box-geometry embedding is added;
3. object context (Zellers et al., "Neural Motifs: Scene Graph Parsing with Global
   Context", CVPR 2018, §4.2): the objects are ordered left to right by box centre
   ``x`` and a BiLSTM runs over them; its states feed one classifier per attribute
   of the label space (``config.label_space``; on the synthetic benchmark shape,
   colour, size, material);
4. edge context (§4.3): a second BiLSTM over the object context and the embedded
   attribute distributions; for every ordered pair ``(i, j)``, ``i != j``, the relation
   feature is ``head(e_i) * tail(e_j) + g(b_i, b_j)`` (Eq. 6, with a learnt geometry
   term in place of the frequency bias) and a linear layer gives one logit per predicate.
   The synthetic relations are multi-label, so predicates get independent sigmoids;
5. triplet score = ``P(predicate) * conf(subject) * conf(object)``; the ``top_k`` best
   ``(subject, predicate, object)`` over all pairs and predicates become scene-graph
   tokens (layout in :mod:`.config`).

Boxes are normalised xyxy in ``[0, 1]``; frames ``(N, 3, H, W)`` float RGB in ``[0, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from videoqa.perception.scene_graph.config import SceneGraphConfig
from videoqa.perception.scene_graph.detector import (
    CenterNetHead,
    CenterNetOutput,
    Detections,
    decode_centernet,
    roi_align,
)
from videoqa.persistence import CONFIG_FILE, WEIGHTS_FILE, PretrainedMixin

__all__ = [
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "FrameSceneGraphs",
    "SceneGraphLogits",
    "SceneGraphPredictor",
    "TopKTriplets",
    "pair_geometry",
    "top_k_triplets",
]

_PAIR_DIM = 22


@dataclass
class SceneGraphLogits:
    """Training outputs on given boxes.

    Attributes:
        attributes: one ``(N, R, V_a)`` logit tensor per attribute of the label
            space (synthetic benchmark: shape 6, colour 8, size 2, material 3).
        relations: ``(N, R, R, P)`` predicate logits of the ordered pair ``(i, j)``
            (diagonal and padded pairs are meaningless; mask them).
    """

    attributes: list[Tensor]
    relations: Tensor

    def attribute_probs(self) -> Tensor:
        """``(N, R, A)`` concatenated per-attribute softmax probabilities (``A`` =
        ``label_space.attribute_dim``, 19 on the synthetic benchmark)."""
        return torch.cat([logits.softmax(-1) for logits in self.attributes], dim=-1)


@dataclass
class TopKTriplets:
    """The ``K`` best triplets of each frame and their tokens.

    Attributes:
        triplets: ``(N, K, 3)`` long ``[subject r, predicate p, object r]``; ``-1`` pads;
            an object-only token (frame with one object) is ``[r, -1, r]``.
        scores: ``(N, K)`` triplet score in [0, 1] (0 where padded).
        tokens: ``(N, K, D)`` scene-graph tokens (``D`` = ``label_space.token_dim``) (zeros where padded).
        token_mask: ``(N, K)`` bool, True = real token.
    """

    triplets: Tensor
    scores: Tensor
    tokens: Tensor
    token_mask: Tensor


@dataclass
class FrameSceneGraphs:
    """Predicted scene graphs of ``N`` frames (``R`` object slots, ``K`` tokens).

    Attributes:
        boxes: ``(N, R, 4)`` normalised xyxy (zeros where masked).
        object_mask: ``(N, R)`` bool, True = real object.
        object_scores: ``(N, R)`` detection confidence in [0, 1] (1 for given boxes).
        attribute_probs: ``(N, R, A)`` per-attribute probabilities, concatenated in the
            order of ``label_space.attributes``.
        object_labels: ``(N, R, n_attributes)`` long arg-max attribute indices, ``-1``
            where masked.
        relation_probs: ``(N, R, R, P)`` predicate probabilities of each ordered pair (0 on
            the diagonal and for masked objects).
        triplets, scores, tokens, token_mask: see :class:`TopKTriplets`
            (``(N, K, 3)``, ``(N, K)``, ``(N, K, D)``, ``(N, K)``).
    """

    boxes: Tensor
    object_mask: Tensor
    object_scores: Tensor
    attribute_probs: Tensor
    object_labels: Tensor
    relation_probs: Tensor
    triplets: Tensor
    scores: Tensor
    tokens: Tensor
    token_mask: Tensor


def pair_geometry(boxes: Tensor) -> Tensor:
    """Geometry of every ordered box pair ``(i, j)``.

    Features (22): subject box (4), object box (4), centre deltas ``(dx, dy)``, the four
    gaps ``x1_j - x2_i, x1_i - x2_j, y1_j - y2_i, y1_i - y2_j`` (positive when the boxes
    are apart along that axis), ``log`` width/height ratios, centre distance, the
    distance minus the two mean half-sides, and the union box (4).

    Args:
        boxes: ``(N, R, 4)`` normalised xyxy.

    Returns:
        ``(N, R, R, 22)``.
    """
    a = boxes.unsqueeze(2).expand(-1, -1, boxes.shape[1], -1)  # subject i
    b = boxes.unsqueeze(1).expand(-1, boxes.shape[1], -1, -1)  # object j
    ca, cb = (a[..., :2] + a[..., 2:]) / 2, (b[..., :2] + b[..., 2:]) / 2
    wa = (a[..., 2:] - a[..., :2]).clamp(min=1e-3)
    wb = (b[..., 2:] - b[..., :2]).clamp(min=1e-3)
    delta = cb - ca
    dist = delta.norm(dim=-1, keepdim=True)
    gaps = torch.stack(
        [
            b[..., 0] - a[..., 2],
            a[..., 0] - b[..., 2],
            b[..., 1] - a[..., 3],
            a[..., 1] - b[..., 3],
        ],
        dim=-1,
    )
    radius = (wa.mean(-1, keepdim=True) + wb.mean(-1, keepdim=True)) / 2
    union = torch.cat(
        [torch.minimum(a[..., :2], b[..., :2]), torch.maximum(a[..., 2:], b[..., 2:])], -1
    )
    return torch.cat([a, b, delta, gaps, (wb / wa).log(), dist, dist - radius, union], dim=-1)


def _box_features(boxes: Tensor) -> Tensor:
    """``(..., 4)`` xyxy -> ``(..., 8)`` [x1, y1, x2, y2, cx, cy, w, h]."""
    return torch.cat(
        [boxes, (boxes[..., :2] + boxes[..., 2:]) / 2, boxes[..., 2:] - boxes[..., :2]], -1
    )


def _enlarge(boxes: Tensor, scale: float) -> Tensor:
    centre = (boxes[..., :2] + boxes[..., 2:]) / 2
    half = (boxes[..., 2:] - boxes[..., :2]) * (scale / 2)
    return torch.cat([centre - half, centre + half], dim=-1)


def top_k_triplets(
    attribute_probs: Tensor,
    boxes: Tensor,
    object_scores: Tensor,
    relation_probs: Tensor,
    object_mask: Tensor,
    top_k: int,
) -> TopKTriplets:
    """Keep the ``top_k`` triplets of each frame and build their tokens.

    Triplet score = ``P(p | i, j) * conf(i) * conf(j)`` over every ordered pair
    ``i != j`` of real objects and every predicate ``p``; ties are broken by the flat
    index ``(i, j, p)`` order of ``torch.topk``. A frame with exactly one object gets one
    object-only token (predicate part zero, object part = subject part, score =
    ``conf``); a frame without objects gets no token. Token layout: see
    :attr:`~videoqa.perception.scene_graph.config.SceneGraphLabels.token_dim`.

    Args:
        attribute_probs: ``(N, R, A)``. boxes: ``(N, R, 4)``. object_scores: ``(N, R)``.
        relation_probs: ``(N, R, R, P)``. object_mask: ``(N, R)`` bool. top_k: ``K``.

    Returns:
        :class:`TopKTriplets`.
    """
    n, r, _, p = relation_probs.shape
    eye = torch.eye(r, dtype=torch.bool, device=boxes.device)
    valid = object_mask[:, :, None] & object_mask[:, None, :] & ~eye
    score = relation_probs * (object_scores[:, :, None] * object_scores[:, None, :]).unsqueeze(-1)
    score = score.masked_fill(~valid.unsqueeze(-1), -1.0).flatten(1)
    k = min(top_k, score.shape[1])
    values, flat = score.topk(k, dim=1) if k else (score[:, :0], score[:, :0].long())
    subj, obj, pred = flat // (r * p), (flat // p) % r, flat % p
    mask = values >= 0
    single = object_mask.sum(1) == 1
    if k and bool(single.any()):
        only = object_mask.float().argmax(1)
        subj[:, 0] = torch.where(single, only, subj[:, 0])
        obj[:, 0] = torch.where(single, only, obj[:, 0])
        mask[:, 0] = mask[:, 0] | single
        values[:, 0] = torch.where(
            single, object_scores.gather(1, only[:, None])[:, 0], values[:, 0]
        )
    pred = torch.where(single[:, None] & (torch.arange(k, device=boxes.device) == 0), -1, pred)
    return _triplet_tokens(
        attribute_probs, boxes, relation_probs, (subj, pred, obj), values, mask, top_k
    )


def _triplet_tokens(
    attribute_probs: Tensor,
    boxes: Tensor,
    relation_probs: Tensor,
    chosen: tuple[Tensor, Tensor, Tensor],
    values: Tensor,
    mask: Tensor,
    top_k: int,
) -> TopKTriplets:
    """Tokens of the chosen ``(subject, predicate, object)`` ``(N, k)`` index triples,
    padded from ``k`` to ``top_k``."""
    subj, pred, obj = chosen
    n, k = values.shape
    objects = torch.cat([attribute_probs, boxes], dim=-1)  # (N, R, A + 4)
    take = lambda idx: objects.gather(1, idx.unsqueeze(-1).expand(-1, -1, objects.shape[-1]))  # noqa: E731
    pair_probs = relation_probs[
        torch.arange(n, device=boxes.device)[:, None], subj, obj
    ]  # (N, k, P)
    pair_probs = pair_probs * (pred >= 0).unsqueeze(-1)
    tokens = torch.cat(
        [take(subj), pair_probs, take(obj), values.clamp(min=0).unsqueeze(-1)], dim=-1
    )
    tokens = tokens * mask.unsqueeze(-1)
    triplets = torch.stack([subj, pred, obj], dim=-1).masked_fill(~mask.unsqueeze(-1), -1)
    scores = values.clamp(min=0) * mask
    if k < top_k:
        pad = top_k - k
        tokens, scores, mask = (
            F.pad(tokens, (0, 0, 0, pad)),
            F.pad(scores, (0, pad)),
            F.pad(mask, (0, pad)),
        )
        triplets = F.pad(triplets, (0, 0, 0, pad), value=-1)
    return TopKTriplets(triplets, scores, tokens, mask)


class _RegionEncoder(nn.Module):
    """Small CNN over ``(M, 3, c, c)`` crops -> ``(M, D)`` region features."""

    def __init__(self, crop: int, dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(3),
        )
        self.proj = nn.Sequential(nn.Flatten(), nn.Linear(64 * 9, dim), nn.ReLU(inplace=True))

    def forward(self, crops: Tensor) -> Tensor:
        return self.proj(self.net(crops - 0.5))


class SceneGraphPredictor(PretrainedMixin, nn.Module):
    """Frames -> objects, attributes, relations and top-k scene-graph tokens.

    See the module docstring for the architecture and sources. Checkpoints
    (:class:`~videoqa.persistence.PretrainedMixin`): ``config.json`` (``model_type``
    ``"scene-graph-predictor"`` + :class:`SceneGraphConfig`) and ``model.safetensors``;
    ``from_pretrained`` returns the predictor in eval mode and raises
    :class:`~videoqa.errors.CheckpointError` on a missing or mismatched checkpoint
    (checkpoints written before ``model_type`` was recorded still load when their
    ``config.json`` is given a ``label_space``: the predictor's output names are part of
    its config).

    Args:
        config: :class:`SceneGraphConfig`.
    """

    model_type = "scene-graph-predictor"
    config_class = SceneGraphConfig
    untyped_legacy = True

    def __init__(self, config: SceneGraphConfig) -> None:
        super().__init__()
        self.config = config
        labels = config.label_space
        h = config.hidden_size
        self.detector = CenterNetHead(config.trunk_channels)
        self.region = _RegionEncoder(config.crop_size, config.region_dim)
        self.box_embed = nn.Sequential(nn.Linear(8, 32), nn.ReLU(inplace=True))
        self.object_context = nn.LSTM(
            config.region_dim + 32, h, batch_first=True, bidirectional=True
        )
        self.classifiers = nn.ModuleList(
            nn.Linear(2 * h + config.region_dim, size) for size in labels.attribute_sizes
        )
        self.label_embed = nn.Linear(labels.attribute_dim, 32)
        self.edge_context = nn.LSTM(2 * h + 32, h, batch_first=True, bidirectional=True)
        rel = 2 * h
        self.head = nn.Linear(2 * h, rel)
        self.tail = nn.Linear(2 * h, rel)
        self.pair = nn.Sequential(
            nn.Linear(_PAIR_DIM, 64), nn.ReLU(inplace=True), nn.Linear(64, rel)
        )
        self.predicate = nn.Sequential(nn.ReLU(), nn.Linear(rel, len(labels.predicates)))
        self.dropout = nn.Dropout(config.dropout)

    # ------------------------------------------------------------------ parts
    def prepare(self, frames: Tensor) -> Tensor:
        """Resize ``(N, 3, H, W)`` frames in [0, 1] to ``image_size`` (bilinear, antialiased).

        Raises:
            ValueError: not a ``(N, 3, H, W)`` tensor.
        """
        if frames.ndim != 4 or frames.shape[1] != 3:
            raise ValueError(f"frames must be (N, 3, H, W), got {tuple(frames.shape)}")
        size = self.config.image_size
        frames = frames.float()
        if frames.shape[-2:] != (size, size):
            frames = F.interpolate(
                frames, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
        return frames

    def detect(self, images: Tensor) -> tuple[CenterNetOutput, Detections]:
        """Detector outputs and decoded boxes of prepared ``(N, 3, S, S)`` images."""
        out = self.detector(images)
        cfg = self.config
        return out, decode_centernet(out, cfg.max_objects, cfg.detect_threshold)

    def _context(self, lstm: nn.LSTM, inputs: Tensor, order: Tensor, lengths: Tensor) -> Tensor:
        """Run ``lstm`` over ``inputs`` ``(N, R, D)`` in ``order`` (sorted positions ->
        original slots) and return states in the original slot order ``(N, R, 2H)``."""
        sorted_in = inputs.gather(1, order.unsqueeze(-1).expand(-1, -1, inputs.shape[-1]))
        packed = pack_padded_sequence(sorted_in, lengths, batch_first=True, enforce_sorted=False)
        states, _ = pad_packed_sequence(
            lstm(packed)[0], batch_first=True, total_length=inputs.shape[1]
        )
        out = torch.empty_like(states)
        return out.scatter_(1, order.unsqueeze(-1).expand(-1, -1, states.shape[-1]), states)

    def forward(self, images: Tensor, boxes: Tensor, object_mask: Tensor) -> SceneGraphLogits:
        """Attribute and predicate logits of given boxes.

        Args:
            images: ``(N, 3, S, S)`` prepared frames (see :meth:`prepare`).
            boxes: ``(N, R, 4)`` normalised xyxy. object_mask: ``(N, R)`` bool.

        Returns:
            :class:`SceneGraphLogits` (``(N, R, V_a)`` per attribute, ``(N, R, R, P)``).
        """
        n, r, _ = boxes.shape
        if r == 0:
            labels = self.config.label_space
            empty = boxes.new_zeros(n, 0, 0, len(labels.predicates))
            return SceneGraphLogits(
                [boxes.new_zeros(n, 0, v) for v in labels.attribute_sizes], empty
            )
        frame_index, slot = object_mask.nonzero(as_tuple=True)
        crops = roi_align(
            images,
            _enlarge(boxes[frame_index, slot], self.config.crop_scale),
            frame_index,
            self.config.crop_size,
        )
        region = boxes.new_zeros(n, r, self.config.region_dim)
        region[frame_index, slot] = self.region(crops)
        feats = torch.cat([region, self.box_embed(_box_features(boxes))], dim=-1)
        centre_x = ((boxes[..., 0] + boxes[..., 2]) / 2).masked_fill(~object_mask, float("inf"))
        order = centre_x.argsort(dim=1, stable=True)
        lengths = object_mask.sum(1).clamp(min=1).cpu()
        obj_ctx = self.dropout(self._context(self.object_context, feats, order, lengths))
        attributes = [head(torch.cat([obj_ctx, region], -1)) for head in self.classifiers]
        probs = torch.cat([a.softmax(-1) for a in attributes], dim=-1)
        edge_in = torch.cat([obj_ctx, self.label_embed(probs)], dim=-1)
        edge = self.dropout(self._context(self.edge_context, edge_in, order, lengths))
        pair = self.head(edge).unsqueeze(2) * self.tail(edge).unsqueeze(1)
        relations = self.predicate(pair + self.pair(pair_geometry(boxes)))
        return SceneGraphLogits(attributes, relations)

    # ------------------------------------------------------------------ inference
    @torch.inference_mode()
    def predict(
        self, frames: Tensor, boxes: Tensor | None = None, object_mask: Tensor | None = None
    ) -> FrameSceneGraphs:
        """Scene graphs of ``(N, 3, H, W)`` frames in [0, 1] (eval mode is set).

        Args:
            frames: ``(N, 3, H, W)`` float RGB in [0, 1].
            boxes: ``(N, R, 4)`` normalised xyxy ground-truth boxes (SGCls: the detector
                is skipped and every object has confidence 1), or ``None`` (SGDet).
            object_mask: ``(N, R)`` bool for ``boxes`` (all True when ``None``).

        Returns:
            :class:`FrameSceneGraphs`.

        Raises:
            ValueError: mismatched shapes.
        """
        self.eval()
        images = self.prepare(frames)
        if boxes is None:
            _, det = self.detect(images)
            boxes, object_mask, conf = det.boxes, det.mask, det.scores
        else:
            if boxes.ndim != 3 or boxes.shape[0] != images.shape[0] or boxes.shape[-1] != 4:
                raise ValueError(
                    f"boxes must be ({images.shape[0]}, R, 4), got {tuple(boxes.shape)}"
                )
            boxes = boxes.float()
            if object_mask is None:
                object_mask = torch.ones(boxes.shape[:2], dtype=torch.bool)
            conf = object_mask.float()
        logits = self(images, boxes, object_mask)
        attr = logits.attribute_probs() * object_mask.unsqueeze(-1)
        labels = torch.stack([a.argmax(-1) for a in logits.attributes], dim=-1).masked_fill(
            ~object_mask.unsqueeze(-1), -1
        )
        eye = torch.eye(boxes.shape[1], dtype=torch.bool)
        valid = object_mask[:, :, None] & object_mask[:, None, :] & ~eye
        rel = torch.sigmoid(logits.relations) * valid.unsqueeze(-1)
        top = top_k_triplets(attr, boxes, conf, rel, object_mask, self.config.top_k)
        return FrameSceneGraphs(
            boxes=boxes * object_mask.unsqueeze(-1),
            object_mask=object_mask,
            object_scores=conf,
            attribute_probs=attr,
            object_labels=labels,
            relation_probs=rel,
            triplets=top.triplets,
            scores=top.scores,
            tokens=top.tokens,
            token_mask=top.token_mask,
        )
