"""``videoqa train``: train a VideoQA backbone with a recipe (``baseline`` or ``sparc``)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from videoqa.cli._common import stderr, user_errors


def train_command(
    recipe: str = typer.Option(..., "--recipe", help="Training recipe: baseline or sparc."),
    config: Path = typer.Option(..., "--config", help="Training config (YAML)."),
    overrides: list[str] = typer.Option(
        [], "--set", help="Override a config value: key.path=value (repeatable)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Run folder (overrides output_dir)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint."),
) -> None:
    """Train, evaluate on val every epoch, keep the best checkpoint, score the test splits."""
    from videoqa.errors import UsageError
    from videoqa.recipes import build_recipe
    from videoqa.training import Trainer, load_config

    with user_errors():
        extra = [f"output_dir={out}"] if out is not None else []
        cfg = load_config(config, [*overrides, *extra])
        if cfg.recipe.name is not None and cfg.recipe.name != recipe:
            raise UsageError(f"{config} is a {cfg.recipe.name!r} config, not {recipe!r}")
        cfg = cfg.model_copy(update={"recipe": cfg.recipe.model_copy(update={"name": recipe})})
        objective = build_recipe(recipe, cfg.recipe)
        stderr.print(f"training {cfg.model.name} with {recipe} into {cfg.output_dir}")
        result = Trainer(cfg, objective).fit(resume=resume)
    table = Table(title=f"{recipe}: best epoch {result.best_epoch + 1}")
    table.add_column("split")
    table.add_column("accuracy (%)")
    table.add_row("val (best)", f"{result.best_val_accuracy:.2f}")
    for split, res in result.tests.items():
        table.add_row(split, f"{res.accuracy:.2f}")
        for name, value in res.scores.table().items():
            table.add_row(f"  {split} {name}", f"{value:.2f}")
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the ``videoqa`` app."""
    app.command("train")(train_command)
