"""``videoqa train``: run any training recipe on the one loop."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from videoqa.cli._common import EXIT_USAGE, stderr, user_errors


def train_command(
    recipe: str | None = typer.Option(
        None, "--recipe", "-r", help="Recipe name (see --list); default: the config's recipe:."
    ),
    config: str | None = typer.Option(
        None, "--config", help="Training config: a YAML path or a shipped config name."
    ),
    overrides: list[str] = typer.Option(
        [], "--set", help="Override a config value: key.path=value (repeatable)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Run folder (overrides output_dir)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in the run folder."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Delete the run in the run folder and start again."
    ),
    list_all: bool = typer.Option(False, "--list", help="List recipes and shipped configs."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (stdout)."),
) -> None:
    """Train with a recipe, evaluate on val every epoch, keep the best checkpoint, score
    the test splits.

    Examples:

      videoqa train --list

      videoqa train --recipe sparc --config sparc_vgt --set data.features_dir=feats

      videoqa train --config runs/sparc_vgt/config.yaml --resume
    """
    from videoqa.recipes import build_recipe

    if list_all:
        _print_list(as_json)
        return
    if config is None:
        stderr.print("[bold red]error:[/] --config is required (or --list)")
        raise typer.Exit(EXIT_USAGE)
    from videoqa.training import TrainingLoop

    with user_errors():
        extra = [f"output_dir={out}"] if out is not None else []
        job = build_recipe(config, [*overrides, *extra], recipe)
        stderr.print(
            f"training with recipe {job.name!r} into {job.config.output_dir}", highlight=False
        )
        result = TrainingLoop(job, console=stderr).fit(resume=resume, overwrite=overwrite)
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return
    table = Table(title=f"{result.recipe}: best epoch {result.best_epoch + 1}")
    table.add_column("split")
    table.add_column("score")
    best = "n/a" if result.best_value is None else f"{result.best_value:.4g}"
    table.add_row(f"val {result.monitor} (best)", best)
    for split, scores in result.tests.items():
        table.add_row(split, _short(scores))
    Console().print(table)
    stderr.print(f"results: {result.output_dir / 'results.json'}", highlight=False)


def _short(scores) -> str:
    if isinstance(scores, dict) and "accuracy" in scores:
        return f"accuracy {scores['accuracy']:.2f}%"
    return json.dumps(scores)[:120]


def _print_list(as_json: bool) -> None:
    from videoqa.recipes import list_recipes, recipe_class, shipped_configs

    rows = {}
    for name in list_recipes():
        cls = recipe_class(name)
        rows[name] = {
            "summary": (cls.__doc__ or "").strip().splitlines()[0],
            "configs": [str(p) for p in shipped_configs(name)],
        }
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table("recipe", "what it trains", "shipped configs", title="training recipes")
    for name, row in rows.items():
        table.add_row(name, row["summary"], "\n".join(Path(c).name for c in row["configs"]))
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the ``videoqa`` app."""
    app.command("train")(train_command)
