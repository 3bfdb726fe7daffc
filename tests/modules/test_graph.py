"""Learned adjacency, graph convolution, masked BiLSTM, word encoder positions."""

from __future__ import annotations

import torch

from videoqa.models.transformer.modeling import joint_attention_mask
from videoqa.models.vgt.modeling import clip_attention_mask
from videoqa.modules.graph import AdjacencyLearner, GraphReasoning
from videoqa.modules.recurrent import MaskedBiLSTM
from videoqa.modules.text import WordEncoder, token_positions


def test_adjacency_is_row_stochastic_over_valid_nodes():
    torch.manual_seed(0)
    adj = AdjacencyLearner(6)(
        torch.randn(2, 4, 6), torch.tensor([[True, True, False, True], [True] * 4])
    )
    torch.testing.assert_close(adj.sum(-1), torch.ones(2, 4))
    assert torch.all(adj[0, :, 2] == 0)


def test_graph_reasoning_valid_nodes_ignore_invalid_ones():
    torch.manual_seed(0)
    graph = GraphReasoning(6, layers=2).eval()
    nodes = torch.randn(1, 5, 6)
    mask = torch.tensor([[True, False, True, True, False]])
    changed = nodes.clone()
    changed[~mask] = 100.0
    a, _ = graph(nodes, mask)
    b, _ = graph(changed, mask)
    torch.testing.assert_close(a[mask], b[mask])


def test_masked_bilstm_equals_lstm_on_the_valid_steps():
    torch.manual_seed(0)
    rnn = MaskedBiLSTM(5, 8)
    x = torch.randn(3, 6, 5)
    mask = torch.tensor([[True] * 6, [False, True, False, True, True, False], [False] * 5 + [True]])
    out = rnn(x, mask)
    assert out.shape == (3, 6, 8) and torch.all(out[~mask] == 0)
    for i in range(3):
        steps = x[i][mask[i]].unsqueeze(0)
        fwd, _ = rnn.forward_rnn(steps)
        bwd, _ = rnn.backward_rnn(steps.flip(1))
        expected = torch.cat([fwd, bwd.flip(1)], dim=-1)[0]
        torch.testing.assert_close(out[i][mask[i]], expected)


def test_token_positions_count_valid_tokens():
    mask = torch.tensor([[False, True, True, False, True]])
    assert token_positions(mask).tolist() == [[0, 0, 1, 1, 2]]


def test_word_encoder_ignores_padding_layout():
    torch.manual_seed(0)
    enc = WordEncoder(20, 8, max_len=6, layers=1, heads=2, dropout=0.0).eval()
    a = enc(torch.tensor([[5, 6, 7]]), torch.ones(1, 3, dtype=torch.bool))
    b = enc(torch.tensor([[5, 0, 6, 7, 9]]), torch.tensor([[True, False, True, True, False]]))
    torch.testing.assert_close(a[0], b[0, [0, 2, 3]])


def test_clip_attention_mask_golden():
    mask = clip_attention_mask(torch.tensor([[True, False, True, True, True]]), clip_len=2)
    expected = [
        [1, 0, 0, 0, 0],
        [1, 0, 0, 0, 0],
        [0, 0, 1, 1, 0],
        [0, 0, 1, 1, 0],
        [0, 0, 0, 0, 1],
    ]
    assert mask[0].int().tolist() == expected


def test_joint_attention_mask_golden():
    shared = torch.tensor([[True, False, True]])  # frame, hidden frame, word
    groups = torch.tensor([[[True, True], [True, False]]])  # 2 candidates: [CLS, word]
    mask = joint_attention_mask(shared, groups)[0].int().tolist()
    assert mask == [
        [1, 0, 1, 0, 0, 0, 0],
        [1, 0, 1, 0, 0, 0, 0],
        [1, 0, 1, 0, 0, 0, 0],
        [1, 0, 1, 1, 1, 0, 0],
        [1, 0, 1, 1, 1, 0, 0],
        [1, 0, 1, 0, 0, 1, 0],
        [1, 0, 1, 0, 0, 1, 0],
    ]
