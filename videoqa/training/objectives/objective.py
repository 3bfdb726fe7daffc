"""The loss interface of the backbone recipes.

The backbone recipes (``baseline``, ``sparc`` in :mod:`videoqa.recipes.backbone`) call an
:class:`Objective` for the loss of each batch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from torch import Tensor, nn

from videoqa.losses.sparc import SparcLossParts
from videoqa.training.data import TrainBatch

#: The typed record of loss terms every objective returns (see :class:`SparcLossParts`).
LossParts = SparcLossParts


class Objective(ABC):
    """The training loss of one batch.

    Attributes:
        requires_teacher: whether batches must carry ``teacher_probs`` ``(B, T, C)``.
    """

    requires_teacher: bool = False

    @abstractmethod
    def loss(self, model: nn.Module, batch: TrainBatch) -> LossParts:
        """Forward pass(es) of ``model`` (in train mode) on ``batch`` and the loss terms.

        Randomness (mixup, frame choice) must come from torch's global RNG, which the
        trainer seeds and checkpoints, so a resumed run repeats an uninterrupted one.
        """

    def backward_loss(
        self, model: nn.Module, batch: TrainBatch, backward: Callable[[Tensor], None]
    ) -> LossParts:
        """Compute the loss and back-propagate it with ``backward`` (the trainer passes
        ``accelerator.backward``). The default is one ``backward(parts.total)``; a recipe
        may instead call ``backward`` on several parts of the loss, freeing each part's
        activations early (the gradients add up to those of the total)."""
        parts = self.loss(model, batch)
        backward(parts.total)
        return parts
