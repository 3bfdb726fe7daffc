"""Training: the one loop every recipe runs on, its typed config sections, atomic
resumable checkpoints, ``metrics.jsonl``, the recipe protocol, in-memory QA datasets and
the backbone loss objectives. Recipes themselves live in :mod:`videoqa.recipes`."""

from videoqa.training.config import RunConfig, load_config, parse_config
from videoqa.training.data import QADataset, TrainBatch
from videoqa.training.loop import (
    Interrupted,
    RunResult,
    TrainingLoop,
    warmup_cosine,
    warmup_schedule,
)
from videoqa.training.objectives import LossParts, Objective
from videoqa.training.recipe import RECIPES, EpochStats, Recipe, RecipeSetup, StepOutput

__all__ = [
    "RECIPES",
    "EpochStats",
    "Interrupted",
    "LossParts",
    "Objective",
    "QADataset",
    "Recipe",
    "RecipeSetup",
    "RunConfig",
    "RunResult",
    "StepOutput",
    "TrainBatch",
    "TrainingLoop",
    "load_config",
    "parse_config",
    "warmup_cosine",
    "warmup_schedule",
]
