"""``videoqa synth``: generate the synthetic fine-grained VideoQA benchmark."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from videoqa.batch import prepare_output
from videoqa.cli._common import (
    group,
    overwrite_option,
    print_json,
    resume_option,
    stderr,
    user_errors,
)

EXIT_USAGE = 2


def synth_command(
    out: Path = typer.Option(..., "--out", help="Output folder (created)."),
    overwrite: bool = overwrite_option("benchmark folder"),
    videos: int = typer.Option(100, "--videos", help="Number of videos over all splits."),
    seed: int = typer.Option(0, "--seed", help="Base seed: same seed, same files."),
    frames: int = typer.Option(64, "--frames", help="Frames per video."),
    size: int = typer.Option(112, "--size", help="Frame width = height in pixels (even)."),
    fps: float = typer.Option(16.0, "--fps", help="Frames per second."),
    workers: int = typer.Option(0, "--workers", help="Worker processes (0 = one per CPU)."),
    no_videos: bool = typer.Option(
        False, "--no-videos", help="Write scene graphs and questions only (no MP4 encoding)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON only."),
) -> None:
    """Generate videos, scene graphs and balanced questions (train/val/test/comp splits)."""
    from videoqa.synth.config import SynthConfig
    from videoqa.synth.generate import generate_dataset

    try:
        cfg = SynthConfig(videos=videos, seed=seed, frames=frames, size=size, fps=fps)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        stderr.print(
            f"[bold red]error:[/] {where + ': ' if where else ''}{message}", highlight=False
        )
        raise typer.Exit(code=EXIT_USAGE) from None
    start = time.perf_counter()
    with user_errors():
        prepare_output(out, what="benchmark", overwrite=overwrite, can_resume=False)
        report = generate_dataset(out, cfg, workers=workers or None, write_videos=not no_videos)
    seconds = time.perf_counter() - start
    if as_json:
        print_json(report)
        return
    table = Table(title=f"{out} (seed {seed}, {seconds:.1f} s)")
    for col in ("split", "videos", "questions", "frame questions"):
        table.add_column(col)
    for name, split in report.splits.items():
        table.add_row(name, str(split.videos), str(split.questions), str(split.frame_questions))
    Console().print(table)


def synth_features_command(
    benchmark: Path = typer.Option(..., "--annotations", help="A `videoqa data synth` folder."),
    out: Path = typer.Option(
        ..., "--out", help="Feature store folder (created; --resume continues one)."
    ),
    resume: bool = resume_option("feature store"),
    overwrite: bool = overwrite_option("feature store"),
    frames: int = typer.Option(16, "--frames", help="Frames per video."),
    sampler: str = typer.Option("uniform", "--sampler", help="Frame sampler."),
    splits: list[str] = typer.Option(
        ["train", "val", "test", "comp"], "--split", help="Splits whose videos are written."
    ),
) -> None:
    """Write oracle features (ground-truth scene-graph object tokens) into a feature store,
    to train VideoQA models with perfect perception (CLEVRER-style oracle setting)."""
    from videoqa.synth.features import write_scene_graph_store

    with user_errors():
        prepare_output(out, what="feature store", resume=resume, overwrite=overwrite)
        start = time.perf_counter()
        written = write_scene_graph_store(
            benchmark, out, frames=frames, sampler=sampler, splits=splits
        )
    stderr.print(f"{written} videos written to {out} in {time.perf_counter() - start:.1f} s")


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the ``videoqa`` app."""
    group(app, "data").command("synth")(synth_command)
    group(app, "extract").command("oracle")(synth_features_command)
