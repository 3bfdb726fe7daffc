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
