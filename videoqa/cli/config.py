"""``videoqa config show | validate``: read the shipped training configs and check one."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from videoqa.cli._common import group, stderr, user_errors


def show_command(
    name: str = typer.Argument(..., help="A shipped config name (sparc_vgt) or a YAML path."),
    overrides: list[str] = typer.Option([], "--set", help="key.path=value (repeatable)."),
) -> None:
    """Print the resolved config (defaults filled in, overrides applied) as YAML.

    Examples:

      videoqa config show sparc_vgt

      videoqa config show sgvlm --set epochs=2
    """
    from videoqa.recipes import build_recipe, find_config

    with user_errors():
        path = find_config(name)
        recipe = build_recipe(path, overrides)
    stderr.print(f"# {path} (recipe {recipe.name})", highlight=False)
    sys.stdout.write(recipe.config.to_yaml())


def validate_command(
    path: str = typer.Argument(..., help="A YAML config file (or a shipped config name)."),
    recipe: str | None = typer.Option(None, "--recipe", "-r", help="Recipe to check it for."),
    overrides: list[str] = typer.Option([], "--set", help="key.path=value (repeatable)."),
) -> None:
    """Check a config against its recipe's typed sections (exit 0 when valid, 2 with the
    first problems otherwise).

    Examples:

      videoqa config validate my_run.yaml

      videoqa config validate my_run.yaml --recipe sparc --set optim.lr=3e-4
    """
    from videoqa.recipes import build_recipe

    with user_errors():
        job = build_recipe(path, overrides, recipe)
    Console(stderr=True).print(f"ok: a valid {job.name!r} config", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``config show`` and ``config validate`` to the ``videoqa`` app."""
    config = group(app, "config")
    config.command("show")(show_command)
    config.command("validate")(validate_command)
