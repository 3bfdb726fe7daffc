"""``videoqa quality assess | fit-mos | export`` (the quality model trains with
``videoqa train --recipe quality``)."""

from __future__ import annotations

import csv
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from videoqa.batch import prepare_output
from videoqa.cli._common import group, overwrite_option, print_json, user_errors
from videoqa.errors import DataFormatError


def quality_command(
    video: Path = typer.Argument(..., help="Video file."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON only."),
    plot: Path = typer.Option(
        None, "--plot", help="Write a timeline PNG of the per-second scores here."
    ),
    model: Path = typer.Option(
        None, "--model", help="Quality model file (default: the shipped one)."
    ),
) -> None:
    """Rate a video's quality (1-5): overall, per dimension and per second."""
    from videoqa.perception.quality.assess import (
        DISTORTION_DESCRIPTIONS,
        assess_video,
        plot_timeline,
    )
    from videoqa.perception.quality.model import QualityModel

    with user_errors():
        qmodel = QualityModel.load(model) if model is not None else None
        report = assess_video(video, qmodel)
    if plot is not None:
        plot_timeline(report, plot)
    if as_json:
        print_json(report)
        return
    console = Console()
    console.print(
        f"[bold]{video}[/]: {report.label} ([bold]{report.score:.2f}[/] / 5); "
        f"most likely distortion: {DISTORTION_DESCRIPTIONS[report.main_distortion]} "
        f"(p={report.distortions[report.main_distortion]:.2f}, none p={report.distortions['none']:.2f})"
    )
    dims = Table(title="dimensions", show_header=True)
    for col in ("dimension", "score", "label", "worst second (s)"):
        dims.add_column(col)
    for d in report.dimensions:
        dims.add_row(d.name.replace("_", " "), f"{d.score:.2f}", d.label, f"{d.worst_second:.1f}")
    console.print(dims)
    secs = Table(title="per second", show_header=True)
    for col in ("time (s)", "score", "label", "distortion", "p"):
        secs.add_column(col)
    from videoqa.perception.quality.assess import quality_label

    for s in report.seconds:
        secs.add_row(
            f"{s.start:.1f}-{s.end:.1f}",
            f"{s.score:.2f}",
            quality_label(s.score),
            s.distortion,
            f"{s.probability:.2f}",
        )
    console.print(secs)
    console.print(
        f"analysis took {report.compute_seconds:.2f} s for {report.duration:.2f} s of video"
    )
    if plot is not None:
        console.print(f"timeline written to {plot}")


def _read_mos_table(path: Path, video_root: Path) -> tuple[list[Path], list[float]]:
    """``video,mos`` rows of a CSV (header required; extra columns ignored)."""
    if not path.is_file():
        raise DataFormatError(f"MOS table not found: {path}")
    videos, mos = [], []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"video", "mos"} <= set(reader.fieldnames):
            raise DataFormatError(f"{path} needs a header with 'video' and 'mos' columns")
        for row in reader:
            try:
                mos.append(float(row["mos"]))
            except ValueError as exc:
                raise DataFormatError(f"{path}: bad MOS {row['mos']!r}") from exc
            videos.append(video_root / row["video"])
    return videos, mos


def quality_fit_mos_command(
    mos_csv: Path = typer.Option(..., "--mos-csv", help="A video,mos CSV (header required)."),
    out: Path = typer.Option(..., "--out", help="Folder for the re-fitted model."),
    overwrite: bool = overwrite_option("model folder"),
    video_root: Path = typer.Option(
        Path("."), "--video-root", help="Folder the CSV's video paths are relative to."
    ),
    mos_range: tuple[float, float] = typer.Option(
        (1.0, 5.0), "--mos-range", help="Worst and best MOS values."
    ),
    model: Path = typer.Option(
        None, "--model", help="Model to start from (default: the shipped one)."
    ),
) -> None:
    """Re-fit the quality model's overall score on a MOS table (least squares).

    Examples:

      videoqa quality fit-mos --mos-csv mos.csv --video-root videos --mos-range 0 100 --out fitted/

      videoqa quality assess clip.mp4 --model fitted/

    Training the model itself: videoqa train --recipe quality --config quality
    """
    from videoqa.perception.quality.calibration import fit_mos
    from videoqa.perception.quality.features import extract_quality_features
    from videoqa.perception.quality.model import QualityModel, load_default_model

    with user_errors():
        prepare_output(out, what="model", overwrite=overwrite, can_resume=False)
        base = QualityModel.load(model) if model is not None else load_default_model()
        videos, mos = _read_mos_table(mos_csv, video_root)
        feats = [extract_quality_features(v).matrix() for v in videos]
        fitted = fit_mos(base, feats, mos, mos_range)
        path = fitted.save_pretrained(out)
        typer.echo(
            f"MOS fit on {len(videos)} videos, RMSE {fitted.report['mos_fit']['rmse']:.3f}; "
            f"model written to {path}"
        )


def quality_export_command(
    work: Path = typer.Option(..., "--work", help="Training work folder (holds manifest.json)."),
    out: Path = typer.Option(..., "--out", help="Output instruction JSON."),
    overwrite: bool = overwrite_option("instruction file"),
    interleave: bool = typer.Option(
        False, "--interleave", help="Expand <video> into <keyframe><motion> pairs."
    ),
) -> None:
    """Export the distorted set as VQA²-style instruction data (LLaVA conversations)."""
    from videoqa.perception.quality.export import export_instructions

    with user_errors():
        prepare_output(out, what="instruction file", overwrite=overwrite, can_resume=False)
        n = export_instructions(work, out, interleave=interleave)
    typer.echo(f"{n} records written to {out}")


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the ``videoqa`` app."""
    quality = group(app, "quality")
    quality.command("assess")(quality_command)
    quality.command("fit-mos")(quality_fit_mos_command)
    quality.command("export")(quality_export_command)
