"""Masked attention blocks: golden values and mask guarantees."""

from __future__ import annotations

import math

import torch

from videoqa.modules.attention import (
    AttentionPool,
    MultiHeadAttention,
    masked_mean,
    masked_softmax,
    mix_over_candidates,
    scatter_masked,
)


def test_masked_softmax_golden_values():
    scores = torch.tensor([[0.0, math.log(3.0), 5.0], [1.0, 2.0, 3.0]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    out = masked_softmax(scores, mask)
    torch.testing.assert_close(out, torch.tensor([[0.25, 0.75, 0.0], [0.0, 0.0, 0.0]]))


def test_masked_mean_golden_values():
    x = torch.tensor([[[1.0], [3.0], [100.0]]])
    assert masked_mean(x, torch.tensor([[True, True, False]]), dim=1).item() == 2.0
    assert masked_mean(x, torch.tensor([[False, False, False]]), dim=1).item() == 0.0


def test_scatter_masked_removes_nan():
    x = torch.tensor([[[float("nan")], [2.0]]])
    out = scatter_masked(x, torch.tensor([[False, True]]))
    assert out.tolist() == [[[0.0], [2.0]]]


def test_attention_ignores_masked_keys():
    torch.manual_seed(0)
    attn = MultiHeadAttention(8, 2)
    q, k = torch.randn(2, 3, 8), torch.randn(2, 5, 8)
    mask = torch.tensor([[True, True, False, True, False], [True, False, False, False, False]])
    out, w = attn(q, k, mask, need_weights=True)
    k2 = k.clone()
    k2[~mask] = 1e3
    out2, _ = attn(q, k2, mask)
    torch.testing.assert_close(out, out2)
    assert torch.all(w[~mask[:, None, :].expand_as(w)] == 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 3))
    torch.testing.assert_close(w[1, :, 0], torch.ones(3))


def test_attention_pool_weights():
    torch.manual_seed(0)
    pool = AttentionPool(4, guided=True)
    x = torch.randn(2, 3, 4)
    mask = torch.tensor([[True, False, True], [False, True, False]])
    pooled, w = pool(x, mask, torch.randn(2, 4))
    assert w[0, 1] == 0 and w[1].tolist() == [0.0, 1.0, 0.0]
    torch.testing.assert_close(pooled[1], x[1, 1])
    torch.testing.assert_close(pooled[0], w[0, 0] * x[0, 0] + w[0, 2] * x[0, 2])


def test_mix_over_candidates_golden():
    weights = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    logits = torch.tensor([[0.0, math.log(3.0)]])
    torch.testing.assert_close(mix_over_candidates(weights, logits), torch.tensor([[0.25, 0.75]]))
