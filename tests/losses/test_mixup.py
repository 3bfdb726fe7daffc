"""Temporal-guided and plain mixup: hand-computed mixes, untouched frames, loss form."""

from __future__ import annotations

import math

import pytest
import torch

from videoqa.errors import UsageError
from videoqa.losses.mixup import (
    mixup_loss,
    mixup_pair_rows,
    plain_mixup,
    sample_mixup,
    temporal_guided_mixup,
)


def _video():
    return torch.tensor([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]]).unsqueeze(-1)


def test_tgm_golden_with_resampling():
    causal = torch.tensor([[0, 1, 1, 0], [1, 0, 0, 0]], dtype=torch.bool)
    visible = torch.ones(2, 4, dtype=torch.bool)
    out = temporal_guided_mixup(
        _video(), visible, causal, torch.tensor([1, 0]), torch.tensor([0.25, 0.5])
    )
    # row 0: causal frames 2, 3 both aligned with row 1's only causal frame (10)
    # row 1: its causal frame (rank 0 of 1) aligned with row 0's causal rank floor(1*2/2)=1 -> 3
    assert out.video.squeeze(-1).tolist() == [[1.0, 8.0, 8.25, 4.0], [6.5, 20.0, 30.0, 40.0]]
    assert torch.equal(out.video_mask, visible)


def test_tgm_equal_counts_align_by_order():
    causal = torch.tensor([[1, 0, 1, 0], [0, 1, 0, 1]], dtype=torch.bool)
    out = temporal_guided_mixup(
        _video(),
        torch.ones(2, 4, dtype=torch.bool),
        causal,
        torch.tensor([1, 0]),
        torch.tensor([0.0, 0.0]),
    )
    # lam = 0: causal frames become the partner's causal frames, in order
    assert out.video.squeeze(-1).tolist() == [[20.0, 2.0, 40.0, 4.0], [10.0, 1.0, 30.0, 3.0]]


def test_tgm_leaves_non_causal_frames_untouched_random():
    gen = torch.Generator().manual_seed(3)
    for _ in range(20):
        b, t, d = 6, 8, 3
        video = torch.randn(b, t, d, generator=gen)
        causal = torch.rand(b, t, generator=gen) > 0.6
        causal[:, 2] |= ~causal.any(dim=1)
        perm = torch.randperm(b, generator=gen)
        lam = torch.rand(b, generator=gen)
        out = temporal_guided_mixup(video, torch.ones(b, t, dtype=torch.bool), causal, perm, lam)
        assert torch.equal(out.video[~causal], video[~causal])
        # lam = 1 reproduces the input
        same = temporal_guided_mixup(
            video, torch.ones(b, t, dtype=torch.bool), causal, perm, torch.ones(b)
        )
        assert torch.allclose(same.video, video)


def test_tgm_rejects_rows_without_causal_frames():
    causal = torch.tensor([[0, 0, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    with pytest.raises(UsageError):
        temporal_guided_mixup(
            _video(),
            torch.ones(2, 4, dtype=torch.bool),
            causal,
            torch.tensor([1, 0]),
            torch.ones(2),
        )


def test_plain_mixup_golden_and_mask_union():
    visible = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    out = plain_mixup(_video(), visible, torch.tensor([1, 0]), torch.tensor([0.5, 0.75]))
    # row 0: 0.5*[1,2,3,0] + 0.5*[10,20,30,40]; row 1: 0.75*[10..40] + 0.25*[1,2,3,0]
    assert out.video.squeeze(-1).tolist() == [
        [5.5, 11.0, 16.5, 20.0],
        [7.75, 15.5, 23.25, 30.0],
    ]
    assert out.video_mask.all()


def test_mixup_loss_golden():
    # own row 0: logits [0, ln3], answer 1 -> -ln(3/4); partner row 0: question of row 1
    ln3 = math.log(3.0)
    own = torch.tensor([[0.0, ln3], [0.0, 0.0]])
    partner = torch.tensor([[0.0, ln3], [0.0, 0.0]])
    answers = torch.tensor([1, 0])
    perm = torch.tensor([1, 0])
    lam = torch.tensor([0.25, 0.5])
    # row 0: 0.25 * -ln(3/4) + 0.75 * CE([0, ln3], a_1=0) = 0.25*0.2876821 + 0.75*1.3862944
    # row 1: 0.5 * ln 2 + 0.5 * CE([0, 0], a_0=1) = ln 2
    expected = (0.25 * 0.2876821 + 0.75 * 1.3862944 + math.log(2.0)) / 2
    value = mixup_loss(own, partner, answers, perm, lam)
    assert value.item() == pytest.approx(expected, abs=1e-6)


def test_sample_mixup_shapes_and_range():
    torch.manual_seed(0)
    perm, lam = sample_mixup(64, 0.4, 0.4)
    assert sorted(perm.tolist()) == list(range(64))
    assert lam.shape == (64,) and bool(((lam >= 0) & (lam <= 1)).all())
    assert mixup_pair_rows(torch.tensor([2, 0, 1])).tolist() == [0, 1, 2, 2, 0, 1]
    with pytest.raises(UsageError):
        sample_mixup(4, 0.0, 1.0)


def test_mixup_mixes_patches_at_the_same_frames_with_the_same_lambda():
    torch.manual_seed(0)
    video, patches = torch.randn(3, 5, 4), torch.randn(3, 5, 2, 6)
    visible = torch.ones(3, 5, dtype=torch.bool)
    causal = torch.tensor([[0, 1, 1, 0, 0], [1, 0, 0, 0, 1], [0, 0, 1, 0, 0]], dtype=torch.bool)
    perm, lam = torch.tensor([2, 0, 1]), torch.tensor([0.25, 0.5, 0.75])
    mixed = temporal_guided_mixup(video, visible, causal, perm, lam, patches=patches)
    flat = temporal_guided_mixup(patches.reshape(3, 5, 12), visible, causal, perm, lam)
    torch.testing.assert_close(mixed.patches, flat.video.reshape(3, 5, 2, 6))
    assert torch.equal(mixed.patches[~causal], patches[~causal])
    # row 0 frame 1 is the first causal frame of row 0; row 2 has one causal frame (2)
    torch.testing.assert_close(mixed.patches[0, 1], 0.25 * patches[0, 1] + 0.75 * patches[2, 2])
    plain = plain_mixup(video, visible, perm, lam, patches=patches)
    torch.testing.assert_close(plain.patches[1], 0.5 * patches[1] + 0.5 * patches[0])
    assert temporal_guided_mixup(video, visible, causal, perm, lam).patches is None
