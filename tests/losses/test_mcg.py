"""Golden values of MCG's contrastive losses (arXiv:2410.09379 §3.3; see
:mod:`videoqa.losses.mcg` for the equations)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from videoqa.errors import UsageError
from videoqa.losses.mcg import clip_weights, instance_contrastive_loss, token_contrastive_loss


def test_instance_loss_of_indistinguishable_pairs_is_log_b() -> None:
    # every similarity equal -> each softmax is uniform over B: L = log B (both directions)
    v = F.normalize(torch.ones(5, 4), dim=-1)
    assert float(instance_contrastive_loss(v, v.clone(), 0.07)) == pytest.approx(math.log(5), abs=1e-6)


def test_instance_loss_golden_two_by_two() -> None:
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    t = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    tau = 0.5
    # v2t rows: [1, .6]/tau, [0, .8]/tau; t2v rows: t_i . v_j = [1, 0]/tau, [.6, .8]/tau
    def ce(row: list[float], i: int) -> float:
        return -(row[i] / tau - math.log(sum(math.exp(x / tau) for x in row)))

    v2t = (ce([1.0, 0.6], 0) + ce([0.0, 0.8], 1)) / 2
    t2v = (ce([1.0, 0.0], 0) + ce([0.6, 0.8], 1)) / 2
    got = float(instance_contrastive_loss(v, t, tau))
    assert got == pytest.approx((v2t + t2v) / 2, abs=1e-6)


def test_instance_loss_trains_the_temperature_and_checks_shapes() -> None:
    tau = torch.tensor(0.07, requires_grad=True)
    v = F.normalize(torch.randn(4, 8, generator=torch.Generator().manual_seed(0)), dim=-1)
    instance_contrastive_loss(v, v, tau).backward()
    assert tau.grad is not None and float(tau.grad) > 0  # matched pairs: a lower tau helps
    with pytest.raises(UsageError):
        instance_contrastive_loss(v, v[:3], 0.1)


def test_clip_weights_quantiles_and_padding() -> None:
    w = torch.arange(1.0, 11.0)[None].repeat(2, 1)
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[1, 5:] = False
    out = clip_weights(w, mask)
    # row 0: numbers 1..10, torch.quantile (linear): q10 = 1.9, q90 = 9.1
    expect = w[0].clamp(1.9, 9.1)
    assert torch.allclose(out[0], expect / expect.sum())
    # row 1: 1..5 valid: q10 = 1.4, q90 = 4.6; padding gets 0
    expect1 = torch.tensor([1.4, 2, 3, 4, 4.6])
    assert torch.allclose(out[1, :5], expect1 / expect1.sum())
    assert torch.all(out[1, 5:] == 0) and torch.allclose(out.sum(dim=1), torch.ones(2))


def test_token_loss_golden_orthonormal_tokens() -> None:
    # two words equal to two patches (e1, e2), tau = 0.1. A word's context is
    # a / |a| with a = softmax([1, 0] / tau); the contrast matrix is [[x, y], [y, x]] / tau
    # with x = a1 / |a|, y = a2 / |a|, so each word (and patch) costs
    # log(1 + exp((y - x) / tau)) in both directions; weights are equal.
    tau = 0.1
    e = torch.eye(2, dtype=torch.float64)[None]
    a1, a2 = 1 / (1 + math.exp(-1 / tau)), math.exp(-1 / tau) / (1 + math.exp(-1 / tau))
    norm = math.hypot(a1, a2)
    per = math.log1p(math.exp((a2 / norm - a1 / norm) / tau))
    ones = torch.ones(1, 2, dtype=torch.float64)
    got = token_contrastive_loss(e, ones.bool(), ones, e, ones, tau)
    assert float(got) == pytest.approx(2 * per, rel=1e-5)


def test_token_loss_single_token_is_zero_and_padding_is_ignored() -> None:
    g = torch.Generator().manual_seed(1)
    one = F.normalize(torch.randn(1, 1, 6, generator=g), dim=-1)
    assert float(token_contrastive_loss(one, torch.ones(1, 1, dtype=torch.bool), torch.ones(1, 1),
                                        one, torch.ones(1, 1))) == pytest.approx(0.0, abs=1e-6)  # fmt: skip
    words = F.normalize(torch.randn(2, 4, 6, generator=g), dim=-1)
    patches = F.normalize(torch.randn(2, 5, 6, generator=g), dim=-1)
    wmask = torch.tensor([[True, True, True, False], [True, True, False, False]])
    ww, pw = torch.rand(2, 4, generator=g), torch.rand(2, 5, generator=g)
    base = token_contrastive_loss(words, wmask, ww, patches, pw)
    other = words.clone()
    other[~wmask] = F.normalize(torch.randn(int((~wmask).sum()), 6, generator=g), dim=-1)
    ww2 = ww.clone()
    ww2[~wmask] = 5.0
    assert float(token_contrastive_loss(other, wmask, ww2, patches, pw)) == pytest.approx(float(base), abs=1e-6)
    assert math.isfinite(float(base)) and float(base) > 0
    with pytest.raises(UsageError):
        token_contrastive_loss(words, torch.zeros(2, 4, dtype=torch.bool), ww, patches, pw)


def _gathered_loss(rank: int, world: int, port: int, v, t, out) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        half = v.shape[0] // world
        mine_v = v[rank * half : (rank + 1) * half].clone().requires_grad_(True)
        loss = instance_contrastive_loss(mine_v, t[rank * half : (rank + 1) * half], 0.1)
        loss.backward()
        out[rank] = torch.cat([loss.detach()[None], mine_v.grad.flatten()])
    finally:
        dist.destroy_process_group()


def test_instance_loss_gathers_negatives_across_processes() -> None:
    # two gloo processes with 3 pairs each = the rows of one 6-pair batch (each process
    # averages over its own 3 rows, so the mean of the two losses is the 6-pair loss)
    import socket

    import torch.multiprocessing as mp

    g = torch.Generator().manual_seed(3)
    v = F.normalize(torch.randn(6, 4, generator=g), dim=-1)
    t = F.normalize(torch.randn(6, 4, generator=g), dim=-1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = mp.Manager().dict()
    mp.spawn(_gathered_loss, args=(2, port, v, t, out), nprocs=2, join=True)
    together = float(instance_contrastive_loss(v, t, 0.1))
    got = (float(out[0][0]) + float(out[1][0])) / 2
    assert got == pytest.approx(together, abs=1e-5)
    assert got != pytest.approx(
        (float(instance_contrastive_loss(v[:3], t[:3], 0.1)) + float(instance_contrastive_loss(v[3:], t[3:], 0.1))) / 2,
        abs=1e-3,
    )  # without gathering each process would see only 3 candidates
