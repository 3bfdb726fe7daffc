"""A bidirectional LSTM that reads only the valid steps of each sequence.

Source: the BiLSTM sequence encoders of HGA (Jiang & Han, AAAI 2020, §3.1 "Video and
question representation"); LSTM: Hochreiter & Schmidhuber, Neural Computation 1997.

Arbitrary masks (not only right padding) are supported: the valid steps of each row are
gathered to the front (in time order for the forward direction, in reverse order for
the backward one), run through a unidirectional LSTM with the padding after them, and
scattered back. Steps after the valid ones cannot influence the valid outputs, so the
result equals running the LSTM on the valid steps alone, and masked steps' values never
matter. This is as exact as ``pack_padded_sequence`` and several times faster on CPU.
"""

from __future__ import annotations

import torch
from torch import nn


def _valid_first_order(mask: torch.Tensor, reverse: bool) -> torch.Tensor:
    """``(N, S)`` permutation putting the valid steps first (ascending or descending)."""
    steps = mask.shape[1]
    pos = torch.arange(steps, device=mask.device).expand_as(mask)
    key = torch.where(mask, steps - 1 - pos if reverse else pos, steps + pos)
    return key.argsort(dim=1)


class MaskedBiLSTM(nn.Module):
    """BiLSTM over the valid steps of ``(N, S, Din)`` sequences → ``(N, S, Dout)``.

    Args:
        input_size: Din.
        output_size: Dout, split evenly between the two directions (must be even).

    The outputs at masked steps are zeros.
    """

    def __init__(self, input_size: int, output_size: int) -> None:
        super().__init__()
        if output_size % 2:
            raise ValueError(f"output_size must be even, got {output_size}")
        self.forward_rnn = nn.LSTM(input_size, output_size // 2, batch_first=True)
        self.backward_rnn = nn.LSTM(input_size, output_size // 2, batch_first=True)

    def _run(
        self, rnn: nn.LSTM, x: torch.Tensor, mask: torch.Tensor, reverse: bool
    ) -> torch.Tensor:
        order = _valid_first_order(mask, reverse)
        gathered = x.gather(1, order.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        out, _ = rnn(gathered)
        back = torch.empty_like(out).scatter_(
            1, order.unsqueeze(-1).expand(-1, -1, out.shape[-1]), out
        )
        return back

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``x`` ``(N, S, Din)``, ``mask`` ``(N, S)`` bool (True = valid) → ``(N, S, Dout)``."""
        fwd = self._run(self.forward_rnn, x, mask, reverse=False)
        bwd = self._run(self.backward_rnn, x, mask, reverse=True)
        out = torch.cat([fwd, bwd], dim=-1)
        return torch.where(mask.unsqueeze(-1), out, torch.zeros((), dtype=out.dtype))
