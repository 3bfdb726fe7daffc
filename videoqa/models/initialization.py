"""Weight initialisation shared by the multiple-choice backbones (HGA, VGT, the
transformer baseline)."""

from __future__ import annotations

import torch
from torch import nn


def init_embeddings(model: nn.Module, std: float) -> None:
    """Re-initialise every ``nn.Embedding`` of ``model`` from ``N(0, std²)``, the padding
    row (when the embedding has one) set to zeros.

    torch's default is ``N(0, 1)``: a word, position, frame-time or node-index code of
    norm ≈ sqrt(H), as large as the LayerNormed content it is added to, so at the start
    of training the codes drown the features. BERT's ``std = 0.02`` (Devlin et al.,
    NAACL 2019, §A.2, "truncated normal, 0.02") keeps them small until they are learnt.
    On the synthetic benchmark with oracle features this took VGT's attribute
    questions from 42 % to 83 % val accuracy in 4 epochs (docs/results/sparc.md).

    Raises:
        ValueError: ``std`` is not positive.
    """
    if std <= 0:
        raise ValueError(f"embedding init std must be positive, got {std}")
    for module in model.modules():
        if isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
