"""Q-Former: shapes, key padding, empty rows, parameter layout of BLIP-2's Q-Former."""

from __future__ import annotations

import pytest
import torch

from videoqa.errors import UsageError
from videoqa.modules.qformer import QFormer, QFormerConfig


def _qformer(**kw) -> QFormer:
    cfg = QFormerConfig(
        input_dim=12,
        output_dim=20,
        hidden_size=16,
        num_heads=2,
        intermediate_size=32,
        num_queries=5,
        **kw,
    )
    torch.manual_seed(0)
    return QFormer(cfg).eval()


def test_output_shape_is_queries_by_llm_width() -> None:
    out = _qformer()(torch.randn(3, 7, 12), torch.ones(3, 7, dtype=torch.bool))
    assert out.shape == (3, 5, 20)


def test_padded_tokens_do_not_change_the_output() -> None:
    qf = _qformer()
    feats = torch.randn(2, 6, 12)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    other = feats.clone()
    other[0, 3:] = 1e3
    a, b = qf(feats, mask), qf(other, mask)
    assert torch.allclose(a, b, atol=1e-5)
    # and the real tokens do matter
    other[0, 0] += 1.0
    assert not torch.allclose(a[0], qf(other, mask)[0], atol=1e-4)


def test_row_without_tokens_is_finite_and_reads_nothing() -> None:
    qf = _qformer()
    mask = torch.zeros(2, 4, dtype=torch.bool)
    mask[1] = True
    a = qf(torch.randn(2, 4, 12), mask)
    b = qf(torch.randn(2, 4, 12) * 50, mask)
    assert torch.isfinite(a).all()
    assert torch.allclose(a[0], b[0], atol=1e-5)


def test_cross_attention_every_layer_and_blip2_names() -> None:
    qf = _qformer(num_layers=2, cross_attention_frequency=1)
    names = {n for n, _ in qf.named_parameters()}
    assert "qformer.encoder.layer.1.crossattention.attention.key.weight" in names
    assert qf.qformer.encoder.layer[0].crossattention.attention.key.weight.shape == (16, 12)


def test_heads_must_divide_width() -> None:
    with pytest.raises(UsageError):
        QFormer(QFormerConfig(input_dim=4, output_dim=4, hidden_size=10, num_heads=3))


def test_instruction_aware_queries_read_the_text_but_not_its_padding() -> None:
    qf = _qformer(text_input=True)
    feats, mask = torch.randn(2, 6, 12), torch.ones(2, 6, dtype=torch.bool)
    text = torch.randn(2, 4, 16)
    text_mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=torch.bool)
    base = qf(feats, mask, text, text_mask)
    assert base.shape == (2, 5, 20)
    padded = text.clone()
    padded[1, 2:] = torch.randn(2, 16) * 10
    assert torch.allclose(base[1], qf(feats, mask, padded, text_mask)[1], atol=1e-5)
    changed = text.clone()
    changed[0, 0] = torch.randn(16)
    assert not torch.allclose(base[0], qf(feats, mask, changed, text_mask)[0], atol=1e-4)
    with pytest.raises(UsageError):
        _qformer()(feats, mask, text, text_mask)


def test_instruction_aware_queries_ignore_padded_features() -> None:
    qf = _qformer(text_input=True)
    feats = torch.randn(2, 6, 12)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1] * 6], dtype=torch.bool)
    text, text_mask = torch.randn(2, 3, 16), torch.ones(2, 3, dtype=torch.bool)
    other = feats.clone()
    other[0, 3:] = 1e3
    assert torch.allclose(
        qf(feats, mask, text, text_mask), qf(other, mask, text, text_mask), atol=1e-5
    )
