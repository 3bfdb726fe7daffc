"""Helpers shared by the CLI commands: consoles, error reporting, exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import BaseModel
from rich.console import Console
from typer.core import TyperCommand

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


class ListOptionCommand(TyperCommand):
    """A command whose list options take every value up to the next option:
    ``--choices a b c --model tiny`` gives ``choices = [a, b, c]``. A list option with no
    value before the next option (``--choices --model tiny``) is a usage error, and so
    are values left over for a positional argument (``-c a b "what?"`` takes ``what?``
    as a choice, then the question is missing): nothing is ever swallowed silently.

    Subclasses (or :func:`list_option_command`) set :attr:`list_options` to the option
    spellings, e.g. ``("--choices", "-c")``.
    """

    list_options: tuple[str, ...] = ()

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(args):
            token = args[i]
            if token == "--":
                out.extend(args[i:])
                break
            if token in self.list_options:
                values = []
                i += 1
                while i < len(args) and not _looks_like_option(args[i]):
                    values.append(args[i])
                    i += 1
                if not values:
                    raise typer.BadParameter("needs at least one value", ctx=ctx, param_hint=token)
                for value in values:
                    out.extend([token, value])
                continue
            out.append(token)
            i += 1
        return super().parse_args(ctx, out)


def _looks_like_option(token: str) -> bool:
    if not token.startswith("-") or token == "-":
        return False
    try:
        float(token)  # a negative number is a value
    except ValueError:
        return True
    return False


def list_option_command(*spellings: str) -> type[ListOptionCommand]:
    """A :class:`ListOptionCommand` class whose list options are ``spellings``."""
    return type("ListOptionCommand", (ListOptionCommand,), {"list_options": spellings})


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


def file_timeout_option() -> float | None:
    """The ``--file-timeout`` option of the batch jobs (seconds one video may take)."""
    return typer.Option(
        None,
        "--file-timeout",
        help="Seconds one video may take to read (0: no limit; default $VIDEOQA_FILE_TIMEOUT "
        "or 600); a slower video is recorded as failed and the run goes on.",
    )


def retry_errors_option() -> bool:
    """The ``--retry-errors`` option of the batch jobs."""
    return typer.Option(
        False, "--retry-errors", help="Also retry videos that failed before on the same file."
    )


def resume_option(what: str) -> bool:
    """The ``--resume`` option of a command writing a ``what``."""
    return typer.Option(
        False, "--resume", help=f"Continue the existing {what} (skip what is done)."
    )


def overwrite_option(what: str) -> bool:
    """The ``--overwrite`` option of a command writing a ``what``."""
    return typer.Option(False, "--overwrite", help=f"Delete the existing {what} and start again.")
