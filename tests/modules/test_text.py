"""Shared text helpers of the backbones."""

def test_token_positions_count_along_the_last_axis_only():
    import torch

    from videoqa.modules.text import token_positions

    mask = torch.tensor([[[True, True, False], [True, True, True]]])  # (B=1, C=2, La=3)
    assert token_positions(mask).tolist() == [[[0, 1, 1], [0, 1, 2]]]
    assert token_positions(mask[0]).tolist() == [[0, 1, 1], [0, 1, 2]]
