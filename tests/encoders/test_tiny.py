"""The offline tiny presets: shapes, norms, determinism, batching, logits."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.encoders.conftest import TEXTS
from videoqa.encoders import OFFLINE_PRESETS, PRETRAINED, build_tiny
from videoqa.errors import UnknownNameError, UsageError


def test_image_embeddings_shape_dtype_unit_norm(tiny, frames):
    emb = tiny.encode_images(frames, batch_size=4)
    assert emb.shape == (len(frames), tiny.embed_dim) == (10, 64)
    assert emb.dtype == torch.float32
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(10), atol=1e-5, rtol=0)
    assert emb.std(dim=0).mean() > 1e-3  # different frames give different embeddings


def test_text_embeddings_shape_dtype_unit_norm(tiny):
    emb = tiny.encode_texts(TEXTS, batch_size=3)
    assert emb.shape == (len(TEXTS), 64)
    assert emb.dtype == torch.float32
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(len(TEXTS)), atol=1e-5, rtol=0)
    assert not torch.allclose(emb[0], emb[1])


def test_attributes_follow_the_registered_spec(tiny):
    spec = PRETRAINED.get(tiny.name)
    assert tiny.pretrained is False
    assert (tiny.embed_dim, tiny.image_size) == (spec.embed_dim, spec.image_size) == (64, 32)
    assert tiny.spec == spec
    assert not tiny.model.training


def test_logit_scale_and_bias_are_the_papers_initial_values(tiny_clip, tiny_siglip):
    # CLIP initialises the temperature to 0.07 (Radford et al. 2021, §2.5): scale 1/0.07
    assert tiny_clip.logit_scale == pytest.approx(1 / 0.07, rel=1e-4)
    assert tiny_clip.logit_bias == 0.0
    # SigLIP: t' = log 10, b = -10 (Zhai et al. 2023, §3)
    assert tiny_siglip.logit_scale == pytest.approx(10.0, rel=1e-6)
    assert tiny_siglip.logit_bias == pytest.approx(-10.0)


def test_similarity_logits_are_scaled_cosines(tiny, frames):
    img = tiny.encode_images(frames[:3])
    txt = tiny.encode_texts(TEXTS[:4])
    logits = tiny.similarity_logits(img, txt)
    assert logits.shape == (3, 4)
    expected = tiny.logit_scale * (img @ txt.T) + tiny.logit_bias
    torch.testing.assert_close(logits, expected)


@pytest.mark.parametrize("name", OFFLINE_PRESETS)
def test_two_builds_give_identical_embeddings(name, frames):
    a, b = build_tiny(name), build_tiny(name)
    assert torch.equal(a.encode_images(frames), b.encode_images(frames))
    assert torch.equal(a.encode_texts(TEXTS), b.encode_texts(TEXTS))


def test_build_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_tiny("tiny")
    assert torch.equal(torch.rand(3), expected)


_CHILD = """
import json, numpy as np
from videoqa.encoders import build_tiny
rng = np.random.default_rng(0)
frames = rng.integers(0, 256, size=(2, 40, 60, 3), dtype=np.uint8)
out = {}
for name in ("tiny", "tiny-siglip"):
    enc = build_tiny(name)
    out[name] = [enc.encode_images(frames)[:, :8].tolist(), enc.encode_texts(["a dog runs"])[:, :8].tolist()]
print(json.dumps(out))
"""


@pytest.mark.slow  # a fresh interpreter imports torch + transformers: ~5 s
def test_embeddings_are_the_same_in_another_process():
    env = dict(os.environ, PYTHONHASHSEED="4321", HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    run = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, check=True
    )
    child = json.loads(run.stdout.strip().splitlines()[-1])
    frames = np.random.default_rng(0).integers(0, 256, size=(2, 40, 60, 3), dtype=np.uint8)
    for name in OFFLINE_PRESETS:
        enc = build_tiny(name)
        img, txt = child[name]
        np.testing.assert_allclose(enc.encode_images(frames)[:, :8].numpy(), img, atol=1e-6)
        np.testing.assert_allclose(enc.encode_texts(["a dog runs"])[:, :8].numpy(), txt, atol=1e-6)


def test_batch_size_does_not_change_embeddings(tiny, frames):
    one = tiny.encode_images(frames, batch_size=1)
    eight = tiny.encode_images(frames, batch_size=8)
    torch.testing.assert_close(one, eight, atol=1e-5, rtol=0)
    t1 = tiny.encode_texts(TEXTS, batch_size=1)
    t8 = tiny.encode_texts(TEXTS, batch_size=8)
    torch.testing.assert_close(t1, t8, atol=1e-5, rtol=0)


def test_empty_inputs_give_empty_matrices(tiny):
    assert tiny.encode_images(np.zeros((0, 20, 20, 3), np.uint8)).shape == (0, 64)
    assert tiny.encode_texts([]).shape == (0, 64)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((2, 20, 20), np.uint8),  # no channel axis
        np.zeros((2, 20, 20, 4), np.uint8),  # RGBA
        np.zeros((20, 20, 3), np.uint8),  # a single frame without T
        np.zeros((2, 20, 20, 3), np.float32),  # not uint8
    ],
)
def test_bad_frames_raise_usage_error(tiny_clip, bad):
    with pytest.raises(UsageError):
        tiny_clip.encode_images(bad)


def test_bad_text_arguments_raise_usage_error(tiny_clip, frames):
    with pytest.raises(UsageError):
        tiny_clip.encode_texts("a bare string")
    with pytest.raises(UsageError):
        tiny_clip.encode_texts(["ok"], batch_size=0)
    with pytest.raises(UsageError):
        tiny_clip.encode_images(frames, batch_size=0)


def test_unknown_preset_raises():
    with pytest.raises(UnknownNameError):
        build_tiny("huge")


def test_long_texts_are_truncated_to_the_context_length(tiny):
    long = " ".join(["dog"] * 100)
    ids = tiny.tokenize([long])["input_ids"]
    assert ids.shape == (1, tiny.spec.context_length) == (1, 32)
    assert ids[0, -1].item() == tiny.tokenizer.eos_token_id  # EOS survives truncation
    emb = tiny.encode_texts([long, " ".join(["dog"] * 40)])
    torch.testing.assert_close(emb[0], emb[1], atol=1e-6, rtol=0)  # both cut to 32 tokens


def test_clip_pads_to_the_longest_text_and_siglip_to_the_context(tiny_clip, tiny_siglip):
    clip = tiny_clip.tokenize(["a dog", "a man and a dog"])
    assert clip["input_ids"].shape == (2, 7)  # <bos> + 5 words + <eos>
    assert clip["attention_mask"].tolist() == [[1, 1, 1, 1, 0, 0, 0], [1] * 7]
    siglip = tiny_siglip.tokenize(["a dog"])
    assert set(siglip) == {"input_ids"}  # SigLIP is run without a mask, as trained
    assert siglip["input_ids"].shape == (1, 32)
    eos, pad = tiny_siglip.tokenizer.eos_token_id, tiny_siglip.tokenizer.pad_token_id
    assert siglip["input_ids"][0, 2].item() == eos
    assert (siglip["input_ids"][0, 3:] == pad).all()


def test_siglip_scale_is_exp_of_the_parameter(tiny_siglip):
    assert tiny_siglip.logit_scale == pytest.approx(math.exp(tiny_siglip.model.logit_scale.item()))
