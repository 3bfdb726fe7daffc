"""Training recipes (the top layer: library packages never import it).

Each module registers its :class:`~videoqa.training.recipe.Recipe` classes in
:data:`~videoqa.training.recipe.RECIPES`; ``videoqa train --recipe NAME`` runs any of
them on the one loop (:class:`~videoqa.training.loop.TrainingLoop`). The shipped YAMLs
are under ``videoqa/configs/<folder>/`` and name their recipe at the top
(``recipe: sparc``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from videoqa.errors import UsageError
from videoqa.training.config import parse_config, read_yaml
from videoqa.training.recipe import RECIPES, Recipe

#: Modules defining recipes; importing one registers its recipes.
RECIPE_MODULES: tuple[str, ...] = (
    "videoqa.recipes.backbone",
    "videoqa.recipes.teacher",
    "videoqa.recipes.frame_encoder",
    "videoqa.recipes.localizer",
    "videoqa.recipes.sgvlm",
    "videoqa.recipes.scene_graph",
    "videoqa.recipes.quality",
    "videoqa.recipes.mcg",
)

CONFIGS_ROOT = Path(__file__).resolve().parents[1] / "configs"


def _load_all() -> None:
    for module in RECIPE_MODULES:
        importlib.import_module(module)


def list_recipes() -> list[str]:
    """Sorted names of every recipe."""
    _load_all()
    return RECIPES.names()


def recipe_class(name: str) -> type[Recipe]:
    """The recipe class registered as ``name``.

    Raises:
        UnknownNameError: no such recipe (the message lists the known ones).
    """
    _load_all()
    return RECIPES.get(name)


def shipped_configs(name: str) -> list[Path]:
    """The shipped YAML configs of recipe ``name`` (files under ``videoqa/configs``
    whose top-level ``recipe:`` is ``name``), sorted."""
    out = []
    for path in sorted(CONFIGS_ROOT.rglob("*.yaml")):
        try:
            raw = read_yaml(path)
        except UsageError:
            continue
        if raw.get("recipe") == name:
            out.append(path)
    return out


def find_config(spec: str | Path) -> Path:
    """A config path, or the name of a shipped config (``sparc_vgt`` →
    ``videoqa/configs/sparc/sparc_vgt.yaml``).

    Raises:
        UsageError: neither a file nor a shipped config name.
    """
    path = Path(spec)
    if path.is_file():
        return path
    matches = sorted(CONFIGS_ROOT.rglob(f"{path.stem}.yaml"))
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"config name {spec!r} is ambiguous: {', '.join(str(m) for m in matches)}")
    raise UsageError(f"config file not found: {spec} (nor a shipped config of that name)")


def build_recipe(
    config: str | Path, overrides: list[str] | None = None, name: str | None = None
) -> Recipe:
    """The recipe of a config file, with its typed config.

    Args:
        config: a YAML path or a shipped config name.
        overrides: ``key.path=value`` strings (``--set``).
        name: the recipe asked for on the command line; None = the config's ``recipe:``.

    Raises:
        UsageError: no recipe named, or the config names another recipe; invalid fields.
        UnknownNameError: unknown recipe name.
    """
    path = find_config(config)
    raw = read_yaml(path)
    declared = raw.get("recipe")
    if name is None:
        if declared is None:
            raise UsageError(f"{path} names no recipe: pass --recipe NAME")
        name = str(declared)
    elif declared is not None and declared != name:
        raise UsageError(f"{path} is a {declared!r} config, not {name!r}")
    cls = recipe_class(name)
    cfg = parse_config({**raw, "recipe": name}, overrides, cls.config_class)
    return cls(cfg)


__all__ = [
    "RECIPES",
    "Recipe",
    "build_recipe",
    "find_config",
    "list_recipes",
    "recipe_class",
    "shipped_configs",
]
