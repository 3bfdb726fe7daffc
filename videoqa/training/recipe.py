"""The recipe protocol: what one training stage supplies to the shared loop.

A recipe (torchtune's idea: one class per training stage, one launcher for all) owns
only what differs between stages — its config class, its data and model, the loss of
one batch, how it is evaluated and what the inference checkpoint holds. The shared
loop (:class:`videoqa.training.loop.TrainingLoop`) owns everything else: seeding,
AdamW, the one warm-up/cosine schedule, gradient clipping, Accelerate, the data order,
``metrics.jsonl``, atomic checkpoints, exact resume and the best-epoch choice.

Recipes live in :mod:`videoqa.recipes` (the top layer, free to use the evaluators) and
register themselves with :func:`register_recipe`; ``videoqa train --recipe NAME``
looks them up in :data:`RECIPES`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from torch import Tensor, nn

from videoqa.registry import Registry
from videoqa.training.config import RunConfig


@dataclass
class RecipeSetup:
    """What :meth:`Recipe.setup` returns to the loop.

    Attributes:
        model: the model to train (``nn.Module``, train mode is set by the loop).
        train_dataset: the training examples; indexed ``0 .. len - 1`` in an order that
            depends only on ``(seed, epoch)`` (:class:`~videoqa.training.data.EpochShuffleSampler`).
        collate_fn: list of ``train_dataset`` items → one batch (the recipe's type).
        parameters: what the optimiser updates (default: every parameter with
            ``requires_grad``); an iterable of tensors or of AdamW param-group dicts.
    """

    model: nn.Module
    train_dataset: Any
    collate_fn: Callable[[list[Any]], Any]
    parameters: Iterable[Tensor] | Iterable[dict[str, Any]] | None = None


@dataclass
class StepOutput:
    """What :meth:`Recipe.training_step` returns for one batch.

    Attributes:
        losses: loss terms as floats (``"loss"`` = the total that was back-propagated);
            their epoch means go into the epoch record's ``train_losses``.
        size: examples in the batch (for per-example counters).
        counters: per-step counts summed over the epoch (e.g. SpARC's causal-frame
            ``fallback``); the epoch sums reach :meth:`Recipe.evaluate`.
        log: extra fields of this step's record in ``metrics.jsonl``.
    """

    losses: dict[str, float]
    size: int
    counters: dict[str, float] = field(default_factory=dict)
    log: dict[str, Any] = field(default_factory=dict)


@dataclass
class EpochStats:
    """What the loop accumulated over one epoch's training steps.

    Attributes:
        epoch: 0-based epoch; seen: training examples; counters: summed
            :attr:`StepOutput.counters`.
    """

    epoch: int
    seen: int
    counters: dict[str, float]


class Recipe(ABC):
    """One training stage behind ``videoqa train --recipe NAME``.

    Class attributes:
        name: registry name (``sparc``, ``localizer``, …).
        config_class: a :class:`~videoqa.training.config.RunConfig` subclass with the
            recipe's sections (its options keyed by ``name``).
        monitor: the validation metric (a key of :meth:`evaluate`) that picks the best
            epoch when the config's ``checkpoint.monitor`` is unset.

    The loop calls, in order: :meth:`setup` (after seeding), then per batch
    :meth:`training_step`, per epoch :meth:`evaluate` and (on a new best)
    :meth:`save_model`; at the end :meth:`restore_best` and :meth:`test`.
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type[RunConfig]] = RunConfig
    monitor: ClassVar[str] = "val_accuracy"

    def __init__(self, config: RunConfig) -> None:
        self.config = config

    @abstractmethod
    def setup(self, accelerator: Any) -> RecipeSetup:
        """Load data and build the model (torch's RNG is already seeded with
        ``config.seed``).

        Raises:
            VideoQAError: missing or inconsistent data (typed, with exit codes).
        """

    @abstractmethod
    def training_step(
        self, model: nn.Module, batch: Any, backward: Callable[[Tensor], None]
    ) -> StepOutput:
        """Forward ``batch`` (``model`` is in train mode), back-propagate the loss with
        ``backward`` (``accelerator.backward``; it may be called on several parts whose
        gradients add up) and return the loss terms. Randomness must come from torch's
        global RNG, which the loop seeds and checkpoints."""

    @abstractmethod
    def evaluate(self, model: nn.Module, stats: EpochStats) -> dict[str, Any]:
        """Validation metrics after an epoch, flattened into the epoch record; must
        hold :attr:`monitor` as a float. ``model`` is unwrapped and in eval mode."""

    def save_model(self, model: nn.Module, directory: Path) -> None:
        """Write the inference checkpoint (``checkpoints/best``) into the empty folder
        ``directory``. Default: the model's own checkpoint in that folder
        (:meth:`videoqa.persistence.PretrainedMixin.save_pretrained`)."""
        model.save_pretrained(Path(directory))  # type: ignore[operator]

    def restore_best(self, model: nn.Module, directory: Path) -> None:
        """Copy the weights :meth:`save_model` wrote back into ``model`` (names and
        shapes checked). Default: :meth:`~videoqa.persistence.PretrainedMixin.load_weights`.

        Raises:
            CheckpointError: missing, damaged or mismatched checkpoint.
        """
        model.load_weights(Path(directory))  # type: ignore[operator]

    def test(self, model: nn.Module, output_dir: Path, is_main_process: bool) -> dict[str, Any]:
        """Score the best model on the test splits (JSON-able; goes into
        ``results.json``); may write predictions under ``output_dir`` on the main
        process. Default: nothing to test."""
        return {}

    def plot_metric(self) -> str:
        """The epoch-record key drawn on the right of ``curve.png``."""
        return self.config.checkpoint.monitor or self.monitor


RECIPES: Registry[type[Recipe]] = Registry("recipe")


def register_recipe(cls: type[Recipe]) -> type[Recipe]:
    """Class decorator: register ``cls`` under ``cls.name``.

    Raises:
        DuplicateNameError: the name is taken.
    """
    RECIPES.register(cls.name, cls)
    return cls
