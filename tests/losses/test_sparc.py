"""SpARC losses: golden values computed by hand and causal-mask invariants."""

from __future__ import annotations

import math

import pytest
import torch

from videoqa.errors import UsageError
from videoqa.losses.sparc import (
    answer_frame_probs,
    causal_frame_mask,
    consistency_loss,
    guided_loss,
    sample_spatial_frames,
    single_frame_mask,
    sparc_loss,
    spatial_distillation_loss,
)

LN3 = math.log(3.0)
# softmax([0, ln 3]) = [1/4, 3/4]; softmax([0, 0]) = [1/2, 1/2]
FULL = torch.tensor([[0.0, LN3], [0.0, 0.0]])
CAUSAL = torch.tensor([[0.0, 0.0], [0.0, 0.0]])


def test_guided_loss_golden():
    # row 0: -ln(3/4) = 0.2876821; row 1 (answer 0 of [1/2, 1/2]): ln 2 = 0.6931472
    value = guided_loss(FULL, torch.tensor([1, 0]))
    assert value.item() == pytest.approx((0.2876821 + 0.6931472) / 2, abs=1e-6)


def test_consistency_loss_golden_batchmean():
    # row 0: 1/4 ln(1/2 / ... ) = 1/4 ln(1/4 / 1/2) + 3/4 ln(3/4 / 1/2) = -0.1732868 + 0.3040988
    # row 1: identical distributions -> 0; batchmean over 2 rows
    value = consistency_loss(FULL, CAUSAL)
    assert value.item() == pytest.approx((0.3040988 - 0.1732868) / 2, abs=1e-6)


def test_consistency_loss_direction_is_full_to_causal():
    # KL(p || q) with p = P(V, Q) = [1/2, 1/2], q = P(V_c, Q) = [1/4, 3/4]:
    # 1/2 ln 2 + 1/2 ln(2/3) = 0.3465736 - 0.2027326 = 0.1438410 (the reverse is 0.1308120)
    value = consistency_loss(CAUSAL[:1], FULL[:1])
    assert value.item() == pytest.approx(0.1438410, abs=1e-6)


def test_consistency_is_zero_and_has_zero_grad_at_agreement():
    full = torch.tensor([[0.3, -1.0, 2.0]], requires_grad=True)
    value = consistency_loss(full, full.detach().clone())
    value.backward()
    assert value.item() == pytest.approx(0.0, abs=1e-7)
    assert torch.allclose(full.grad, torch.zeros_like(full), atol=1e-7)


def test_spatial_distillation_golden():
    # -(1/2 ln 1/4 + 1/2 ln 3/4) = (1.3862944 + 0.2876821) / 2 = 0.8369882
    teacher = torch.tensor([[0.5, 0.5]])
    value = spatial_distillation_loss(FULL[:1], teacher)
    assert value.item() == pytest.approx(0.8369882, abs=1e-6)


def test_sparc_loss_combines_with_weights():
    answers = torch.tensor([1, 0])
    teacher = torch.tensor([[0.5, 0.5], [1.0, 0.0]])
    parts = sparc_loss(
        answers=answers,
        full_logits=FULL,
        causal_logits=CAUSAL,
        frame_logits=FULL,
        teacher_frame_probs=teacher,
        w_c=0.5,
        w_s=2.0,
        fallback=1,
    )
    l_g = math.log(2.0)  # both rows uniform over 2 candidates
    l_c = (0.3040988 - 0.1732868) / 2
    l_s = (0.8369882 + math.log(2.0)) / 2  # row 1: -ln softmax([0, 0])_0 = ln 2
    assert parts.main.item() == pytest.approx(l_g, abs=1e-6)
    assert parts.consistency.item() == pytest.approx(l_c, abs=1e-6)
    assert parts.spatial.item() == pytest.approx(l_s, abs=1e-6)
    assert parts.total.item() == pytest.approx(l_g + 0.5 * l_c + 2.0 * l_s, abs=1e-6)
    assert parts.fallback == 1
    assert set(parts.as_floats()) == {"loss", "main", "consistency", "spatial"}


def test_sparc_loss_without_guidance_is_plain_ce():
    answers = torch.tensor([1, 0])
    parts = sparc_loss(answers=answers, full_logits=FULL)
    assert parts.consistency is None and parts.spatial is None
    assert parts.total.item() == pytest.approx((0.2876821 + 0.6931472) / 2, abs=1e-6)
    with pytest.raises(UsageError):
        sparc_loss(answers=answers, full_logits=None)
    with pytest.raises(UsageError):
        sparc_loss(answers=answers, full_logits=FULL, frame_logits=FULL)


def test_answer_frame_probs_picks_the_answer_column():
    probs = torch.arange(2 * 3 * 4, dtype=torch.float32).view(2, 3, 4)
    out = answer_frame_probs(probs, torch.tensor([1, 3]))
    assert out.tolist() == [[1.0, 5.0, 9.0], [15.0, 19.0, 23.0]]


def test_causal_mask_threshold_and_fallback():
    p = torch.tensor([[0.1, 0.6, 0.7, 0.2], [0.1, 0.3, 0.2, 0.3], [0.9, 0.2, 0.1, 0.4]])
    visible = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 1, 1]], dtype=torch.bool)
    top1 = causal_frame_mask(p, visible, threshold=0.5, fallback_topk=1)
    assert top1.mask.int().tolist() == [[0, 1, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]
    assert top1.fallback.tolist() == [False, True, True]
    assert top1.fallback_count == 2
    top2 = causal_frame_mask(p, visible, threshold=0.5, fallback_topk=2)
    assert top2.mask.int().tolist() == [[0, 1, 1, 0], [0, 1, 0, 1], [0, 1, 0, 1]]
    # p == t is not above t (strict inequality of Eq. 1)
    edge = causal_frame_mask(torch.tensor([[0.5, 0.4]]), torch.ones(1, 2, dtype=torch.bool), 0.5)
    assert edge.fallback.tolist() == [True] and edge.mask.tolist() == [[True, False]]


def test_causal_mask_topk_larger_than_visible_keeps_all_visible():
    p = torch.tensor([[0.1, 0.2, 0.3]])
    visible = torch.tensor([[True, False, True]])
    out = causal_frame_mask(p, visible, threshold=0.9, fallback_topk=5)
    assert out.mask.tolist() == [[True, False, True]]


def test_causal_mask_invariants_random():
    gen = torch.Generator().manual_seed(0)
    for _ in range(50):
        b, t = 7, 9
        p = torch.rand(b, t, generator=gen)
        visible = torch.rand(b, t, generator=gen) > 0.4
        visible[:, 0] |= ~visible.any(dim=1)
        threshold = float(torch.rand((), generator=gen))
        k = int(torch.randint(1, 4, (), generator=gen))
        out = causal_frame_mask(p, visible, threshold, k)
        none_above = ~((p > threshold) & visible).any(dim=1)
        assert torch.equal(out.fallback, none_above)
        assert not bool((out.mask & ~visible).any())
        assert bool(out.mask.any(dim=1).all())
        counts = out.mask.sum(dim=1)
        expected = torch.minimum(visible.sum(dim=1), torch.tensor(k))
        assert torch.equal(counts[out.fallback], expected[out.fallback])
        assert torch.equal(out.mask[~out.fallback], ((p > threshold) & visible)[~out.fallback])


def test_causal_mask_rejects_bad_input():
    with pytest.raises(UsageError):
        causal_frame_mask(torch.rand(2, 3), torch.ones(2, 4, dtype=torch.bool), 0.5)
    with pytest.raises(UsageError):
        causal_frame_mask(torch.rand(1, 3), torch.zeros(1, 3, dtype=torch.bool), 0.5)
    with pytest.raises(UsageError):
        causal_frame_mask(torch.rand(1, 3), torch.ones(1, 3, dtype=torch.bool), 0.5, 0)


def test_spatial_frames_are_visible_and_cover_all_visible():
    visible = torch.tensor([[False, True, False, True, True]]).expand(400, -1)
    frames = sample_spatial_frames(visible, torch.Generator().manual_seed(1))
    assert set(frames.tolist()) == {1, 3, 4}
    counts = torch.bincount(frames, minlength=5)[[1, 3, 4]].float()
    assert float(counts.min()) > 100  # uniform: ~133 each
    one = single_frame_mask(frames[:2], 5)
    assert one.sum(dim=1).tolist() == [1, 1] and one[0, frames[0]].item()
