"""The predictor: shapes and masks, left-to-right order invariance, top-k triplets and
the 53-d token layout, save/load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.perception.scene_graph.conftest import SYNTH_LABELS, TINY_CONFIG
from videoqa.errors import CheckpointError, ModelUnavailableError
from videoqa.perception.scene_graph.config import SceneGraphConfig, SceneGraphLabels
from videoqa.perception.scene_graph.motifs import SceneGraphPredictor, pair_geometry, top_k_triplets

BOXES = torch.tensor(
    [[0.05, 0.1, 0.25, 0.3], [0.6, 0.55, 0.8, 0.75], [0.3, 0.6, 0.45, 0.8], [0.7, 0.05, 0.95, 0.3]]
)


@pytest.fixture(scope="module")
def model() -> SceneGraphPredictor:
    torch.manual_seed(0)
    return SceneGraphPredictor(TINY_CONFIG).eval()


def test_token_dim_is_53() -> None:
    assert SYNTH_LABELS.token_dim == 53 and SYNTH_LABELS.attribute_dim == 19
    assert SYNTH_LABELS.attribute_slices()["color"] == slice(6, 14)
    assert SYNTH_LABELS.phrase({"shape": "circle", "color": "red", "size": "small",
                                "material": "metal"}) == "small red metal circle"  # fmt: skip


def test_the_label_space_sets_the_heads_and_the_token_layout() -> None:
    labels = SceneGraphLabels(attributes={"kind": ("cat", "dog", "bird")}, predicates=("near",))
    assert labels.token_dim == 2 * (3 + 4) + 1 + 1
    torch.manual_seed(0)
    config = TINY_CONFIG.model_copy(update={"label_space": labels})
    out = SceneGraphPredictor(config).predict(torch.rand(2, 3, 48, 48), BOXES.expand(2, -1, -1))
    assert out.attribute_probs.shape == (2, 4, 3) and out.relation_probs.shape == (2, 4, 4, 1)
    assert out.tokens.shape == (2, 8, 16) and out.object_labels.shape == (2, 4, 1)


def test_the_label_space_is_required_and_checked() -> None:
    with pytest.raises(ValueError, match="label_space"):
        SceneGraphConfig(image_size=48)
    with pytest.raises(ValueError, match="distinct"):
        SceneGraphLabels(attributes={"kind": ("cat", "cat")}, predicates=("near",))
    with pytest.raises(ValueError, match="phrase_order"):
        SceneGraphLabels(attributes={"kind": ("cat",)}, predicates=("near",), phrase_order=("x",))


def test_predict_shapes_and_masks(model: SceneGraphPredictor) -> None:
    frames = torch.rand(3, 3, 40, 56)  # resized to 48 x 48 inside
    boxes = BOXES.expand(3, -1, -1).clone()
    mask = torch.tensor([[True] * 4, [True, False, False, False], [False] * 4])
    out = model.predict(frames, boxes, mask)
    assert out.tokens.shape == (3, 8, 53) and out.triplets.shape == (3, 8, 3)
    assert out.attribute_probs.shape == (3, 4, 19) and out.relation_probs.shape == (3, 4, 4, 6)
    assert out.object_labels.shape == (3, 4, 4)
    assert (out.object_labels[~mask] == -1).all() and (out.object_labels[mask] >= 0).all()
    # 4 objects -> 12 pairs x 6 predicates >= K; one object -> one object-only token; none -> none
    assert out.token_mask.sum(1).tolist() == [8, 1, 0]
    assert out.triplets[1, 0].tolist() == [0, -1, 0]
    assert (out.triplets[2] == -1).all() and (out.tokens[2] == 0).all()
    # probabilities: each attribute sums to one for a real object, relations zero on the diagonal
    for sl in SYNTH_LABELS.attribute_slices().values():
        torch.testing.assert_close(out.attribute_probs[0, :, sl].sum(-1), torch.ones(4))
    assert out.relation_probs[0].diagonal(dim1=0, dim2=1).abs().max() == 0
    assert (out.scores[0, :-1] >= out.scores[0, 1:]).all()


def test_sgdet_path_gives_padded_detections(model: SceneGraphPredictor) -> None:
    out = model.predict(torch.rand(2, 3, 48, 48))
    assert out.boxes.shape == (2, TINY_CONFIG.max_objects, 4)
    assert (out.boxes[~out.object_mask] == 0).all()
    assert ((out.boxes >= 0) & (out.boxes <= 1)).all()


def test_outputs_do_not_depend_on_the_input_order_of_boxes(model: SceneGraphPredictor) -> None:
    torch.manual_seed(1)
    images = model.prepare(torch.rand(2, 3, 48, 48))
    boxes = BOXES.expand(2, -1, -1).clone()
    mask = torch.tensor([[True] * 4, [True, True, True, False]])
    perm = torch.tensor([2, 0, 3, 1])
    with torch.no_grad():
        a = model(images, boxes, mask)
        b = model(images, boxes[:, perm], mask[:, perm])
    for la, lb in zip(a.attributes, b.attributes, strict=True):
        torch.testing.assert_close(lb, la[:, perm], atol=1e-5, rtol=0)
    pairs = (mask[:, :, None] & mask[:, None, :])[:, perm][:, :, perm]
    rel_a = a.relations[:, perm][:, :, perm]
    torch.testing.assert_close(b.relations[pairs], rel_a[pairs], atol=1e-5, rtol=0)


def test_top_k_golden() -> None:
    r, p = 3, 6
    rel = torch.zeros(1, r, r, p)
    rel[0, 0, 1, 0] = 0.9  # score 0.9 * 1.0 * 0.5 = 0.45
    rel[0, 0, 2, 2] = 0.6  # 0.6
    rel[0, 2, 0, 4] = 0.5  # 0.5
    rel[0, 1, 2, 5] = 0.8  # 0.4
    conf = torch.tensor([[1.0, 0.5, 1.0]])
    attr = torch.rand(1, r, 19)
    boxes = torch.rand(1, r, 4)
    top = top_k_triplets(attr, boxes, conf, rel, torch.ones(1, r, dtype=torch.bool), 4)
    assert top.triplets[0].tolist() == [[0, 2, 2], [2, 4, 0], [0, 0, 1], [1, 5, 2]]
    torch.testing.assert_close(top.scores[0], torch.tensor([0.6, 0.5, 0.45, 0.4]))
    assert top.token_mask.all()


def test_token_layout() -> None:
    torch.manual_seed(2)
    attr, boxes, rel = torch.rand(1, 3, 19), torch.rand(1, 3, 4), torch.rand(1, 3, 3, 6)
    conf = torch.tensor([[0.9, 0.8, 0.7]])
    top = top_k_triplets(attr, boxes, conf, rel, torch.ones(1, 3, dtype=torch.bool), 5)
    for k in range(5):
        s, pred, o = top.triplets[0, k].tolist()
        token = top.tokens[0, k]
        torch.testing.assert_close(token[:19], attr[0, s])
        torch.testing.assert_close(token[19:23], boxes[0, s])
        torch.testing.assert_close(token[23:29], rel[0, s, o])
        torch.testing.assert_close(token[29:48], attr[0, o])
        torch.testing.assert_close(token[48:52], boxes[0, o])
        assert token[52].item() == pytest.approx(
            rel[0, s, o, pred].item() * conf[0, s].item() * conf[0, o].item()
        )


def test_object_only_token_repeats_the_subject() -> None:
    attr, boxes = torch.rand(1, 2, 19), torch.rand(1, 2, 4)
    top = top_k_triplets(
        attr,
        boxes,
        torch.tensor([[0.0, 0.7]]),
        torch.zeros(1, 2, 2, 6),
        torch.tensor([[False, True]]),
        3,
    )
    assert top.triplets[0].tolist() == [[1, -1, 1], [-1, -1, -1], [-1, -1, -1]]
    token = top.tokens[0, 0]
    torch.testing.assert_close(token[:23], token[29:52])
    assert token[23:29].abs().max() == 0 and token[52].item() == pytest.approx(0.7)


def test_pair_geometry_gaps() -> None:
    g = pair_geometry(torch.tensor([[[0.0, 0.0, 0.2, 0.2], [0.5, 0.0, 0.7, 0.2]]]))
    assert g.shape == (1, 2, 2, 22)
    # subject 0, object 1: centre dx 0.5, gap x1_j - x2_i = 0.3
    assert g[0, 0, 1, 8].item() == pytest.approx(0.5) and g[0, 0, 1, 10].item() == pytest.approx(
        0.3
    )


def test_save_and_load_round_trip(model: SceneGraphPredictor, tmp_path: Path) -> None:
    model.save_pretrained(tmp_path / "p")
    loaded = SceneGraphPredictor.from_pretrained(tmp_path / "p")
    assert loaded.config == model.config
    frames = torch.rand(2, 3, 48, 48)
    a, b = (
        model.predict(frames, BOXES.expand(2, -1, -1)),
        loaded.predict(frames, BOXES.expand(2, -1, -1)),
    )
    torch.testing.assert_close(a.tokens, b.tokens)
    with pytest.raises(ModelUnavailableError):
        SceneGraphPredictor.from_pretrained(tmp_path / "missing")
    # a predictor saved before the label space was recorded is refused with the way out
    raw = json.loads((tmp_path / "p" / "config.json").read_text())
    del raw["label_space"], raw["model_type"]
    (tmp_path / "p" / "config.json").write_text(json.dumps(raw))
    with pytest.raises(CheckpointError, match="label_space.*scene_graph_labels.json"):
        SceneGraphPredictor.from_pretrained(tmp_path / "p")
