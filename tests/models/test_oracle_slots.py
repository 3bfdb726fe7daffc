"""Issue 20: object-slot tokens as graph nodes / pooled units. Empty slots (all-zero
tokens) are masked by VGT (``mask_empty_nodes``) and HGA (``slot_pooling``), so cutting
them off (``QADataset(trim_patches=True)``) leaves the scores unchanged; VGT's answer
pooling reads the candidate's own tokens; the HGA processor feeds patches only to a
slot-pooling checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.models.test_backbones import DP, VOCAB, D, random_batch
from videoqa.models import build_model
from videoqa.models.hga.processing import HGAProcessor
from videoqa.training.data import QADataset, build_tokenizer

BASE = {
    "feature_dim": D,
    "vocab_size": VOCAB,
    "hidden_size": 16,
    "num_heads": 2,
    "max_frames": 8,
    "max_text_len": 8,
    "patch_dim": DP,
}
MODELS = {
    "vgt": ("vgt", {"clip_len": 2, "mask_empty_nodes": True}),
    "hga": ("hga", {"slot_pooling": True}),
}


def _model(name: str, **extra):
    arch, cfg = MODELS[name]
    torch.manual_seed(0)
    return build_model(arch, {**BASE, **cfg, **extra}).eval()


def _with_empty_slots(batch, extra: int):
    """The same batch with ``extra`` all-zero slots appended and one slot emptied."""
    patches = batch.patches.clone()
    patches[:, :, 1] = 0.0  # slot 1 is empty in every frame
    padded = torch.cat([patches, torch.zeros(*patches.shape[:2], extra, DP)], dim=2)
    from dataclasses import replace

    return replace(batch, patches=patches), replace(batch, patches=padded)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_empty_slots_do_not_change_the_scores(name):
    model = _model(name)
    batch, padded = _with_empty_slots(random_batch(), extra=3)
    with torch.no_grad():
        a, b = model(batch).logits, model(padded).logits
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    # the empty slot's values are irrelevant only because it is empty: a non-zero value
    # in slot 1 changes the scores
    filled = padded.patches.clone()
    filled[:, :, 1] = 1.0
    from dataclasses import replace

    with torch.no_grad():
        c = model(replace(padded, patches=filled)).logits
    assert not torch.allclose(a, c, atol=1e-4)


def test_vgt_without_the_mask_attends_empty_slots():
    model = _model("vgt", mask_empty_nodes=False)
    batch, padded = _with_empty_slots(random_batch(), extra=3)
    with torch.no_grad():
        assert not torch.allclose(model(batch).logits, model(padded).logits, atol=1e-4)


def test_vgt_answer_pool_reads_the_candidate_tokens():
    """With ``answer_pool: answer`` two candidates that differ only in their words get
    different scores, and the pair-mean variant differs from it."""
    batch = random_batch(patches=True)
    a = _model("vgt", answer_pool="answer")
    p = _model("vgt", answer_pool="pair")
    with torch.no_grad():
        la, lp = a(batch).logits, p(batch).logits
    assert la.shape == lp.shape == (4, 3)
    assert not torch.allclose(la, lp)


def test_hga_processor_feeds_patches_only_with_slot_pooling():
    with_slots = build_model("hga", {**BASE, "slot_pooling": True}).config
    without = build_model("hga", BASE).config
    assert HGAProcessor.uses_patches(with_slots, True)
    assert not HGAProcessor.uses_patches(without, True)


class _Store:
    """Two videos: one uses slots 0-1, the other slot 0 only, out of 4."""

    def __init__(self) -> None:
        g = np.random.default_rng(0)
        self.patches = {
            "v0": np.zeros((3, 4, DP), np.float32),
            "v1": np.zeros((3, 4, DP), np.float32),
        }
        self.patches["v0"][:, :2] = g.normal(size=(3, 2, DP))
        self.patches["v1"][1, 0] = g.normal(size=DP)

    def __contains__(self, video_id: object) -> bool:
        return video_id in self.patches

    def frames_array(self, ids):
        return np.stack([self.patches[i].reshape(3, -1) for i in ids])

    def patches_array(self, ids):
        return np.stack([self.patches[i] for i in ids])


def test_dataset_trims_patches_to_the_slots_the_batch_uses():
    from videoqa.data.schema import QASample

    samples = [
        QASample(
            qid=f"q{i}",
            video_id=v,
            question="what colour",
            choices=("red", "blue"),
            answer=i % 2,
            qtype="DA",
        )
        for i, v in enumerate(["v0", "v1", "v1"])
    ]
    tok = build_tokenizer(samples)
    full = QADataset(samples, _Store(), tok, patches=True)
    trim = QADataset(samples, _Store(), tok, patches=True, trim_patches=True)
    assert full.batch(torch.tensor([1, 2])).qa.patches.shape[2] == 4
    assert trim.batch(torch.tensor([1, 2])).qa.patches.shape[2] == 1
    both = trim.batch(torch.tensor([0, 2])).qa.patches
    assert both.shape[2] == 2
    assert torch.equal(both, full.batch(torch.tensor([0, 2])).qa.patches[:, :, :2])
