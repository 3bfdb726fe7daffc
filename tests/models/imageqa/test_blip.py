"""BLIP teacher: candidate scoring with a tiny random BLIP VQA model (no download)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videoqa.errors import ModelUnavailableError, UsageError
from videoqa.models.imageqa import FrameFeatures, load_teacher
from videoqa.models.imageqa.blip import BlipTeacher, load_blip_teacher
from videoqa.video.types import FrameBatch

from .fakes import DEC, WORDS, tiny_blip_dir


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> BlipTeacher:
    return load_blip_teacher(tiny_blip_dir(tmp_path_factory.mktemp("blip")), frame_batch=2)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (3, 40, 52, 3), dtype=np.uint8)


QUESTION = "what color is the cube?"
CANDIDATES = ["red", "blue cube", "big red balls", "blue"]


def _manual_scores(teacher: BlipTeacher, frames: np.ndarray, mean: bool) -> np.ndarray:
    """Score one (frame, candidate) pair at a time with the decoder's own loss."""
    model, tok = teacher.model, teacher.tokenizer
    q = tok([QUESTION], return_tensors="pt")
    out = np.zeros((len(frames), len(CANDIDATES)))
    with torch.no_grad():
        for k, frame in enumerate(frames):
            pixels = teacher.image_processor(images=[frame], return_tensors="pt")["pixel_values"]
            image = model.vision_model(pixel_values=pixels).last_hidden_state
            states = model.text_encoder(
                input_ids=q["input_ids"], attention_mask=q["attention_mask"],
                encoder_hidden_states=image,
            ).last_hidden_state  # fmt: skip
            for c, cand in enumerate(CANDIDATES):
                ids = tok([cand], return_tensors="pt")["input_ids"]
                ids[0, 0] = DEC
                nll = model.text_decoder(
                    input_ids=ids, encoder_hidden_states=states, labels=ids, reduction="none"
                ).loss  # summed over the tokens after [DEC]; no label smoothing here
                out[k, c] = -float(nll) / ((ids.shape[1] - 1) if mean else 1)
    return out


def test_candidate_tokens_start_with_the_decoder_token(teacher):
    ids, mask = teacher.encode_candidates(["red", "big red balls"])
    assert ids[:, 0].tolist() == [DEC, DEC]
    # "balls" is WordPiece "ball ##s"; [SEP] ends each candidate, then padding
    assert ids[1].tolist() == [DEC, WORDS.index("big"), 10, 13, 16, 3]
    assert ids[0].tolist() == [DEC, 10, 3, 0, 0, 0]
    assert mask.sum(1).tolist() == [3, 6]


@pytest.mark.parametrize("mean", [False, True])
def test_probabilities_are_the_softmax_of_per_candidate_likelihoods(teacher, frames, mean):
    teacher.length_normalize = mean
    try:
        probs = teacher.answer_probs(frames, QUESTION, CANDIDATES)
    finally:
        teacher.length_normalize = False
    assert probs.shape == (3, 4) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    manual = _manual_scores(teacher, frames, mean)
    expected = np.exp(manual - manual.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(probs, expected, atol=2e-5)
    assert np.abs(probs[0] - probs[1]).max() > 1e-3  # the frames matter


def test_frame_batches_and_frame_batch_size_agree(teacher, frames):
    batch = FrameBatch(frames=frames, times=np.arange(3.0), indices=np.arange(3))
    a = teacher.answer_probs(batch, QUESTION, CANDIDATES)
    teacher.frame_batch = 8
    try:
        b = teacher.answer_probs(frames, QUESTION, CANDIDATES)
    finally:
        teacher.frame_batch = 2
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert teacher.answer_probs(frames[:0], QUESTION, CANDIDATES).shape == (0, 4)


def test_bad_inputs(teacher, frames):
    with pytest.raises(UsageError, match="decoded frames"):
        teacher.answer_probs(FrameFeatures(np.zeros((2, 4), np.float32)), QUESTION, CANDIDATES)
    with pytest.raises(UsageError, match="uint8"):
        teacher.answer_probs(frames.astype(np.float32), QUESTION, CANDIDATES)
    with pytest.raises(UsageError, match="candidates"):
        teacher.answer_probs(frames, QUESTION, ["red", " "])


def test_loading_fails_fast_and_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelUnavailableError, match="not in the local"):
        load_blip_teacher("someone/not-cached-blip", cache_dir=tmp_path / "cache")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailableError, match="config.json"):
        load_blip_teacher(tmp_path / "empty")
    with pytest.raises(ModelUnavailableError, match="not a checkpoint directory"):
        load_blip_teacher(str(tmp_path / "missing"))
    with pytest.raises(UsageError, match="expected"):
        load_teacher("clip:x")


def test_load_teacher_spec(tmp_path):
    teacher = load_teacher(f"blip:{tiny_blip_dir(tmp_path / 'b')}")
    assert isinstance(teacher, BlipTeacher)
    assert teacher.name == f"blip:{tmp_path / 'b'}" and teacher.input_kind == "pixels"
