"""``videoqa sg-train`` (stage 1 of SGVLM: scene-graph predictor pretraining) and
``videoqa sg-extract`` (predicted scene graphs aligned with a feature store)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from videoqa.cli._common import print_json, stderr, user_errors


def sg_train_command(
    synthetic: Path = typer.Option(
        ..., "--synthetic", help="`videoqa synth` folder (with videos)."
    ),
    out: Path = typer.Option(..., "--out", help="Folder for the trained predictor."),
    epochs: int = typer.Option(4, "--epochs", help="Passes over the training frames."),
    frames_per_video: int = typer.Option(
        8, "--frames-per-video", help="Training frames per video."
    ),
    batch_size: int = typer.Option(32, "--batch-size", help="Frames per step."),
    lr: float = typer.Option(2e-3, "--lr", help="AdamW learning rate."),
    max_videos: int | None = typer.Option(None, "--max-videos", help="Cap on training videos."),
    threads: int | None = typer.Option(
        None, "--threads", help="torch threads (default: unchanged)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed (same seed, same weights)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON only."),
) -> None:
    """Pretrain the Neural-Motifs-style scene-graph predictor on the synthetic frame graphs."""
    from videoqa.perception.scene_graph.train import (
        SceneGraphTrainSettings,
        train_scene_graph_predictor,
    )

    with user_errors():
        settings = SceneGraphTrainSettings(
            epochs=epochs, frames_per_video=frames_per_video, batch_size=batch_size, lr=lr,
            max_train_videos=max_videos, threads=threads, seed=seed,
        )  # fmt: skip
        report = train_scene_graph_predictor(synthetic, out, settings, show_progress=not as_json)
    if as_json:
        print_json(report)
        return
    best = report.best
    attrs = ", ".join(f"{k} {v:.3f}" for k, v in best.attribute_accuracy.items())
    stderr.print(
        f"{out}: best epoch {report.best_epoch}/{settings.epochs} in {report.total_seconds:.0f} s; "
        f"val detection recall {best.det_recall:.3f} precision {best.det_precision:.3f}; "
        f"attributes {attrs}; SGCls R@20 {best.sgcls_recall[20]:.3f}, SGDet R@20 {best.sgdet_recall[20]:.3f}",
        highlight=False,
    )


def sg_extract_command(
    synthetic: Path = typer.Option(
        ..., "--synthetic", help="`videoqa synth` folder (with videos)."
    ),
    predictor: Path = typer.Option(..., "--predictor", help="Folder written by sg-train."),
    like: Path = typer.Option(..., "--like", help="Feature store whose frames to follow."),
    out: Path = typer.Option(..., "--out", help="Scene-graph store folder (created; resumed)."),
    batch_size: int = typer.Option(64, "--batch-size", help="Frames per forward pass."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON only."),
) -> None:
    """Predict scene graphs for exactly the frames of every video of a feature store."""
    from videoqa.perception.scene_graph.store import extract_scene_graphs

    columns = (
        TextColumn("[bold]sg-extract"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with user_errors(), Progress(*columns, console=stderr, disable=as_json, transient=True) as bar:
        task = bar.add_task("sg-extract", total=None)
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
    """Add ``sg-train`` and ``sg-extract`` to the ``videoqa`` app."""
    app.command("sg-train")(sg_train_command)
    app.command("sg-extract")(sg_extract_command)
