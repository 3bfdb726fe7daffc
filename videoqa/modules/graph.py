"""Graph reasoning blocks: a learned (soft) adjacency over node features and graph
convolution over it.

Sources:
    * Learned adjacency ``A = softmax(φ(X) ψ(X)^T)`` and GCN reasoning over the
      heterogeneous video+word graph: Jiang & Han, "Reasoning with Heterogeneous Graph
      Alignment for Video Question Answering", AAAI 2020, §3.3 ("Heterogeneous graph
      reasoning").
    * Dot-product edges between region nodes of one frame and spatial graph convolution:
      Xiao et al., "Video Graph Transformer for Video Question Answering", ECCV 2022,
      §3.2 (video graph representation; spatial graph convolution of the DGT module).
    * Graph convolution ``X' = σ(A X W)``: Kipf & Welling, "Semi-Supervised
      Classification with Graph Convolutional Networks", ICLR 2017, Eq. 2 (here with the
      learned row-normalised A instead of the symmetric-normalised fixed graph).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from videoqa.modules.attention import masked_softmax


class AdjacencyLearner(nn.Module):
    """Soft adjacency between the nodes of each graph, computed from their features.

    ``A_ij = softmax_j(φ(x_i)·ψ(x_j) / sqrt(H))`` over the valid nodes j, with φ, ψ
    one-layer ReLU projections.

    Args:
        hidden: node width H.
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU())
        self.psi = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU())
        self.scale = 1.0 / math.sqrt(hidden)

    def forward(self, nodes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``nodes`` ``(G, N, H)``, ``mask`` ``(G, N)`` bool → ``(G, N, N)`` row-stochastic
        adjacency; columns of invalid nodes are exactly 0."""
        scores = self.phi(nodes) @ self.psi(nodes).transpose(1, 2) * self.scale
        return masked_softmax(scores, mask[:, None, :])


class GraphConvolution(nn.Module):
    """One residual graph convolution layer: ``X' = LN(X + Dropout(ReLU(A X W)))``.

    Args:
        hidden: node width H.
        dropout: dropout on the update in training.
    """

    def __init__(self, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, nodes: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """``nodes`` ``(G, N, H)``, ``adjacency`` ``(G, N, N)`` → ``(G, N, H)``."""
        update = torch.relu(adjacency @ self.weight(nodes))
        return self.norm(nodes + self.dropout(update))


class GraphReasoning(nn.Module):
    """A learned adjacency followed by ``layers`` graph convolutions over it (HGA §3.3).

    Args:
        hidden: node width H.
        layers: number of graph convolutions (>= 1).
        dropout: dropout inside each convolution.
    """

    def __init__(self, hidden: int, layers: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.adjacency = AdjacencyLearner(hidden)
        self.layers = nn.ModuleList(
            GraphConvolution(hidden, dropout) for _ in range(max(layers, 1))
        )

    def forward(self, nodes: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``nodes`` ``(G, N, H)``, ``mask`` ``(G, N)`` → updated ``(G, N, H)`` nodes and the
        ``(G, N, N)`` adjacency. A valid node's output depends only on valid nodes."""
        adjacency = self.adjacency(nodes, mask)
        for layer in self.layers:
            nodes = layer(nodes, adjacency)
        return nodes, adjacency
