"""Loss objectives of the backbone recipes: ``baseline`` (plain CE, optional mixup) and
``sparc`` (SpARC §3: causal-frame guidance, consistency, spatial distillation,
temporal-guided mixup)."""

from videoqa.training.objectives.base import NamedObjective
from videoqa.training.objectives.baseline import BaselineObjective
from videoqa.training.objectives.objective import LossParts, Objective
from videoqa.training.objectives.sparc import SparcObjective

__all__ = ["BaselineObjective", "LossParts", "NamedObjective", "Objective", "SparcObjective"]
