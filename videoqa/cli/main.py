"""The ``videoqa`` command line: a few verbs, each a command or a group of commands.

    videoqa ask | eval | train | transcribe                      commands
    videoqa extract features | teacher | scene-graphs | oracle   precomputed stores
    videoqa data synth | probe | samples                         benchmarks and videos
    videoqa quality assess | fit-mos | export                    VQA²
    videoqa models [new-llm]                                     what --model can name
    videoqa config show | validate                               training configs
    videoqa serve                                                HTTP API and web page

A command module defines ``register(app: typer.Typer) -> None`` and puts its commands at
the top level or into a group (:func:`videoqa.cli._common.group`); the modules are listed
in :data:`COMMAND_MODULES`. Models, training stages and datasets never need a new
command: they arrive as ``--model`` specs, recipes and registered datasets.
"""

from __future__ import annotations

import importlib
import os

import typer

COMMAND_MODULES: list[str] = [
    "videoqa.cli.ask",
    "videoqa.cli.transcribe",
    "videoqa.cli.eval",
    "videoqa.cli.train",
    "videoqa.cli.extract",
    "videoqa.cli.teach",
    "videoqa.cli.scene_graph",
    "videoqa.cli.synth",
    "videoqa.cli.probe",
    "videoqa.cli.quality",
    "videoqa.cli.models",
    "videoqa.cli.sgvlm",
    "videoqa.cli.config",
    "videoqa.cli.serve",
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
    """Console-script entry point. Hugging Face's download / "Loading weights" progress
    bars are off (``HF_HUB_DISABLE_PROGRESS_BARS``, which transformers also reads): our
    own progress goes to stderr."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    app()
