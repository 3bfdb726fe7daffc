"""Helpers shared by the CLI commands: consoles, error reporting, exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import BaseModel
from rich.console import Console

from videoqa.errors import VideoQAError

stderr = Console(stderr=True)

#: The command groups of ``videoqa`` and their help (one line each in ``videoqa --help``).
GROUPS: dict[str, str] = {
    "extract": "Precompute per-video data into resumable stores: frame features, scene "
    "graphs, teacher probabilities, oracle features.",
    "data": "Benchmarks and videos: generate the synthetic benchmark, probe a video, list "
    "the real sample videos.",
    "quality": "Video quality (VQA²): rate a video, re-fit the MOS calibration, export "
    "instruction data.",
    "models": "What --model can name: architectures, presets, trained checkpoints; build a "
    "from-scratch LLM for SGVLM.",
    "config": "Show a shipped training config or validate one against its recipe.",
}


def group(app: typer.Typer, name: str, **options: object) -> typer.Typer:
    """The sub-command group ``name`` of ``app`` (created on first use with its help from
    :data:`GROUPS`), so that each command module registers its commands where they
    belong: ``group(app, "extract").command("features")(extract_command)``.

    Raises:
        KeyError: ``name`` is not one of :data:`GROUPS`.
    """
    groups = app.__dict__.setdefault("_videoqa_groups", {})
    if name not in groups:
        sub = typer.Typer(help=GROUPS[name], no_args_is_help=not options, **options)
        app.add_typer(sub, name=name)
        groups[name] = sub
    return groups[name]


EXIT_OK = 0
EXIT_USAGE = 2
EXIT_BAD_VIDEO = 3
EXIT_MODEL_UNAVAILABLE = 4


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn :class:`VideoQAError` into a one-paragraph message on stderr and its exit code."""
    try:
        yield
    except VideoQAError as err:
        stderr.print(f"[bold red]error:[/] {err}", highlight=False)
        raise typer.Exit(code=err.exit_code) from None


def print_json(model: BaseModel) -> None:
    """Print a pydantic model as indented JSON on stdout (nothing else goes to stdout)."""
    sys.stdout.write(json.dumps(model.model_dump(mode="json"), indent=2) + "\n")
    sys.stdout.flush()
