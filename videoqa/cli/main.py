"""The ``videoqa`` command line: a typer app whose commands live in one module each.

A command module defines ``register(app: typer.Typer) -> None``. Add new modules to
:data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES: list[str] = [
    "videoqa.cli.probe",
    "videoqa.cli.ask",
    "videoqa.cli.quality",
    "videoqa.cli.synth",
    "videoqa.cli.eval",
    "videoqa.cli.extract",
    "videoqa.cli.teach",
    "videoqa.cli.train",
    "videoqa.cli.scene_graph",
    "videoqa.cli.sgvlm",
    "videoqa.cli.models",
    "videoqa.cli.config",
]

app = typer.Typer(
    name="videoqa",
    help="Video question answering: ask questions about videos, with the evidence the answer rests on.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from videoqa import __version__

        typer.echo(f"videoqa {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Video question answering: ask questions about videos, with the evidence the answer
    rests on."""


def _register_commands() -> None:
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()
