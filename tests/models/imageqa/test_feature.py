"""Feature teacher: shapes, batching, checkpoints, overfitting, and its frame-QA dataset
and accuracy (training itself: ``tests/recipes/test_teacher.py``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from videoqa.errors import ModelUnavailableError, UsageError
from videoqa.models.imageqa import FrameFeatures, load_teacher
from videoqa.models.imageqa.feature import (
    FeatureTeacher,
    FeatureTeacherConfig,
    FeatureTeacherModel,
)
from videoqa.models.imageqa.frame_qa import (
    FrameQADataset,
    FrameQAExamples,
    frame_qa_accuracy,
    nearest_frame,
)
from videoqa.models.text import WordTokenizer

from .fakes import DP, P

TEXTS = ["what color is the cube", "how many balls", "red", "blue", "green", "1", "2", "3"]


def _teacher(patches: bool = True, seed: int = 0, **kw) -> FeatureTeacher:
    torch.manual_seed(seed)
    tok = WordTokenizer.build(TEXTS)
    config = FeatureTeacherConfig(
        feature_dim=8, patch_dim=DP if patches else None, num_patches=P if patches else None,
        vocab_size=tok.vocab_size, hidden_size=16, **kw,
    )  # fmt: skip
    return FeatureTeacher(FeatureTeacherModel(config), tok, batch_size=5)


def _frames(k: int, patches: bool = True, seed: int = 0) -> FrameFeatures:
    rng = np.random.default_rng(seed)
    return FrameFeatures(
        vectors=rng.standard_normal((k, 8)).astype(np.float32),
        patches=rng.standard_normal((k, P, DP)).astype(np.float32) if patches else None,
    )


@pytest.mark.parametrize("patches", [True, False])
def test_rows_are_distributions_and_batching_changes_nothing(patches):
    teacher = _teacher(patches)
    frames = [_frames(4, patches, 0), _frames(7, patches, 1), _frames(1, patches, 2)]
    questions = ["what color is the cube", "how many balls", "what color"]
    cands = [["red", "blue", "green"], ["1", "2", "3", "red", "blue"], ["red", "blue"]]
    many = teacher.answer_probs_many(frames, questions, cands)
    assert [m.shape for m in many] == [(4, 3), (7, 5), (1, 2)]
    for m, f, q, c in zip(many, frames, questions, cands, strict=True):
        assert m.dtype == np.float32
        np.testing.assert_allclose(m.sum(1), 1.0, atol=1e-6)
        np.testing.assert_allclose(teacher.answer_probs(f, q, c), m, atol=1e-6)
    # each frame row only depends on its own frame
    one = teacher.answer_probs(
        FrameFeatures(frames[1].vectors[2:3], None if not patches else frames[1].patches[2:3]),
        questions[1], cands[1],
    )  # fmt: skip
    np.testing.assert_allclose(one[0], many[1][2], atol=1e-6)


def test_bad_inputs_are_refused():
    teacher = _teacher(patches=True)
    with pytest.raises(UsageError, match="stored frame features"):
        teacher.answer_probs(np.zeros((2, 8, 8, 3), np.uint8), "q", ["a"])
    with pytest.raises(UsageError, match="patch tokens"):
        teacher.answer_probs(_frames(2, patches=False), "what", ["red", "blue"])
    with pytest.raises(UsageError, match="every frame set"):
        teacher.answer_probs_many([_frames(1), _frames(1, False)], ["a", "b"], [["red"], ["red"]])
    with pytest.raises(UsageError, match=r"\(K, P, Dp\)"):
        FrameFeatures(np.zeros((2, 8), np.float32), np.zeros((3, P, DP), np.float32))


def test_save_and_load_give_the_same_probabilities(tmp_path):
    teacher = _teacher()
    teacher.save_pretrained(tmp_path / "t")
    loaded = load_teacher(f"feature:{tmp_path / 't'}")
    assert isinstance(loaded, FeatureTeacher) and loaded.input_kind == "features"
    assert loaded.name == f"feature:{tmp_path / 't'}"
    frames = _frames(5)
    np.testing.assert_array_equal(
        loaded.answer_probs(frames, "how many balls", ["1", "2"]),
        teacher.answer_probs(frames, "how many balls", ["1", "2"]),
    )
    (tmp_path / "t" / "tokenizer.json").unlink()
    with pytest.raises(ModelUnavailableError, match="tokenizer.json"):
        FeatureTeacher.from_pretrained(tmp_path / "t")
    config = json.loads((tmp_path / "t" / "config.json").read_text())
    (tmp_path / "t" / "config.json").write_text(json.dumps({**config, "model_type": "hga"}))
    teacher.tokenizer.save(tmp_path / "t" / "tokenizer.json")
    with pytest.raises(ModelUnavailableError, match="not a feature_teacher"):
        FeatureTeacher.from_pretrained(tmp_path / "t")


def test_overfits_a_tiny_set():
    """12 random frames, each with its own arbitrary right answer among 3 colours."""
    teacher = _teacher(patches=True, dropout=0.0)
    model = teacher.model
    frames = _frames(12, seed=3)
    answers = torch.tensor([i % 3 for i in range(12)])
    text = teacher.encode_text(["what color is the cube"] * 12, [["red", "blue", "green"]] * 12)
    v, p = torch.from_numpy(frames.vectors), torch.from_numpy(frames.patches)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    model.train()
    for _ in range(60):
        loss = torch.nn.functional.cross_entropy(model(v, p, *text), answers)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    probs = teacher.answer_probs(frames, "what color is the cube", ["red", "blue", "green"])
    assert (probs.argmax(1) == answers.numpy()).all()
    assert probs[np.arange(12), answers.numpy()].min() > 0.9


def test_nearest_frame_picks_the_closest_stored_frame(fake_store):
    feats = fake_store.get(fake_store.ids()[0])
    assert feats.frame_indices.tolist() == [0, 5, 9, 14, 18, 23]
    got = [nearest_frame(feats.frame_indices, f) for f in (0, 2, 3, 7, 12, 22, 40)]
    assert got == [0, 0, 1, 1, 3, 5, 5]


def test_frame_qa_dataset_batches_and_accuracy():
    teacher = _teacher(patches=True)
    frames = _frames(5, seed=4)
    examples = FrameQAExamples(
        vectors=frames.vectors, patches=frames.patches,
        questions=["what color is the cube"] * 3 + ["how many balls"] * 2,
        candidates=[["red", "blue", "green"]] * 3 + [["1", "2", "3", "red"]] * 2,
        answers=np.array([0, 1, 2, 3, 0]), qtypes=["FA", "FA", "FA", "FC", "FC"],
    )  # fmt: skip
    data = FrameQADataset(examples, teacher)
    batch = data.collate([4, 0])
    assert batch.vectors.shape == (2, 8) and batch.patches.shape == (2, P, DP)
    assert batch.candidates.shape[:2] == (2, 4) and batch.answers.tolist() == [0, 0]
    assert not batch.candidates_mask[1, 3].any()  # the 3-candidate row is padded to 4
    logits = teacher.model(*batch.inputs())
    assert torch.isinf(logits[1, 3]) and torch.isfinite(logits[0]).all()
    probs = teacher.answer_probs_many(
        [FrameFeatures(frames.vectors[i : i + 1], frames.patches[i : i + 1]) for i in range(5)],
        examples.questions, examples.candidates,
    )  # fmt: skip
    hits = [p[0].argmax() == a for p, a in zip(probs, examples.answers, strict=True)]
    scores = frame_qa_accuracy(teacher.model, data, batch_size=2)
    assert scores["all"] == pytest.approx(np.mean(hits))
    assert scores["FA"] == pytest.approx(np.mean(hits[:3]))
    assert scores["FC"] == pytest.approx(np.mean(hits[3:]))
    assert list(scores) == ["all", "FA", "FC"]
