"""``videoqa extract scene-graphs``: predicted scene graphs aligned with a feature store (the
predictor itself, SGVLM stage 1, trains with ``videoqa train --recipe sg-predictor``)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from videoqa.batch import prepare_output
from videoqa.cli._common import (
    group,
    overwrite_option,
    print_json,
    resume_option,
    stderr,
    user_errors,
)


def sg_extract_command(
    synthetic: Path = typer.Option(
        ..., "--annotations", help="`videoqa data synth` folder (with videos)."
    ),
    predictor: Path = typer.Option(
        ..., "--predictor", help="Predictor folder (an sg-predictor run's checkpoints/best)."
    ),
    like: Path = typer.Option(..., "--like", help="Feature store whose frames to follow."),
    out: Path = typer.Option(
        ..., "--out", help="Scene-graph store folder (created; --resume continues one)."
    ),
    resume: bool = resume_option("scene-graph store"),
    overwrite: bool = overwrite_option("scene-graph store"),
    batch_size: int = typer.Option(64, "--batch-size", help="Frames per forward pass."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON only."),
) -> None:
    """Predict scene graphs for exactly the frames of every video of a feature store."""
    from videoqa.perception.scene_graph.store import extract_scene_graphs

    columns = (
        TextColumn("[bold]scene graphs"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with user_errors():
        prepare_output(out, what="scene-graph store", resume=resume, overwrite=overwrite)
    with user_errors(), Progress(*columns, console=stderr, disable=as_json, transient=True) as bar:
        task = bar.add_task("scene graphs", total=None)
        report = extract_scene_graphs(
            synthetic, predictor, like, out, batch_size=batch_size,
            on_video=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
    if as_json:
        print_json(report)
        return
    stderr.print(
        f"{out}: {report.written} written, {report.skipped} already done, {report.failed} failed "
        f"in {report.seconds:.1f} s",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``extract scene-graphs`` to the ``videoqa`` app."""
    group(app, "extract").command("scene-graphs")(sg_extract_command)
