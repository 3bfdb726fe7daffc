"""Training recipes (an entry-point layer: library packages never import it).

:data:`RECIPES` maps a name to a :class:`~videoqa.recipes.base.Recipe` class:
``baseline`` (plain CE, optional mixup) and ``sparc`` (SpARC §3).
"""

from __future__ import annotations

from videoqa.recipes.base import Recipe
from videoqa.recipes.baseline import BaselineRecipe
from videoqa.recipes.sparc import SparcRecipe
from videoqa.registry import Registry
from videoqa.training.config import RecipeConfig

RECIPES: Registry[type[Recipe]] = Registry("recipe")
RECIPES.register(BaselineRecipe.name, BaselineRecipe)
RECIPES.register(SparcRecipe.name, SparcRecipe)


def build_recipe(name: str, options: RecipeConfig) -> Recipe:
    """The recipe ``name`` built from ``options``.

    Raises:
        UnknownNameError: no recipe of that name.
    """
    return RECIPES.get(name).from_config(options)


__all__ = ["RECIPES", "BaselineRecipe", "Recipe", "SparcRecipe", "build_recipe"]
