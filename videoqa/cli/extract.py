"""``videoqa extract``: frame features into a store (the small CNN frame encoder it can
use, ``--encoder cnn:DIR``, is trained by ``videoqa train --recipe frame-encoder``)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from videoqa.batch import prepare_output
from videoqa.cli._common import (
    file_timeout_option,
    group,
    overwrite_option,
    print_json,
    resume_option,
    retry_errors_option,
    stderr,
    user_errors,
)
from videoqa.errors import UsageError

EXIT_NOTHING_EXTRACTED = 3


def _parse_options(pairs: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` pairs; values parsed as JSON when they can be (numbers, booleans)."""
    options: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--sampler-option must be KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def _progress_bar(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]extract"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        disable=quiet,
        transient=True,
    )


def extract_command(
    annotations: Path = typer.Option(
        ..., "--annotations", help="Annotation file or benchmark folder."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Feature store folder (created; --resume continues one)."
    ),
    resume: bool = resume_option("feature store"),
    overwrite: bool = overwrite_option("feature store"),
    dataset: str = typer.Option("synthetic", "--dataset", help="Registered dataset name."),
    split: list[str] = typer.Option(
        [], "--split", help="Split(s) to extract (repeat); 'all': every qa/*.jsonl of the folder."
    ),
    video_root: Path | None = typer.Option(None, "--video-root", help="Folder of the videos."),
    encoder: str = typer.Option(
        "tiny", "--encoder", help="tiny | tiny-siglip | <hub id> | <checkpoint dir> | cnn:<dir>."
    ),
    sampler: str = typer.Option("uniform", "--sampler", help="Frame sampler name."),
    sampler_option: list[str] = typer.Option([], "--sampler-option", help="KEY=VALUE (repeat)."),
    frames: int = typer.Option(32, "--frames", help="Frame budget given to the sampler."),
    patches: bool = typer.Option(False, "--patches", help="Store patch tokens too."),
    shard_size: int = typer.Option(256, "--shard-size", help="Videos per shard."),
    batch_frames: int = typer.Option(
        128, "--batch-size", help="Frames per forward pass of the encoder."
    ),
    workers: int = typer.Option(2, "--workers", help="Decoding threads."),
    file_timeout: float | None = file_timeout_option(),
    retry_errors: bool = retry_errors_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON only."),
) -> None:
    """Encode the sampled frames of every video into a resumable feature store.

    Under `accelerate launch`, process i of n extracts the id-sorted videos i::n. A video
    that fails is recorded in OUT/errors.jsonl (one line per video) and skipped; a rerun
    skips the videos done and those that failed on their unchanged file. Exit code 0 when
    the run finished (also with "nothing to do"), 3 when no video of this process could be
    extracted at all.
    """
    from videoqa.features.extract import (
        extract_features,
        load_frame_encoder,
        resolve_rank,
        videos_from_benchmark,
    )

    with user_errors():
        from accelerate import PartialState

        state = PartialState()
        prepare_output(
            out, what="feature store", resume=resume, overwrite=overwrite,
            barrier=state.wait_for_everyone, is_main=state.is_main_process,
        )  # fmt: skip
        options = _parse_options(sampler_option)
        jobs = videos_from_benchmark(dataset, annotations, splits=split, video_root=video_root)
        rank, world = resolve_rank(None, None)
        frame_encoder = load_frame_encoder(encoder, patches=patches, device=_device())
        with _progress_bar(as_json) as bar:
            task = bar.add_task("extract", total=None)
            report = extract_features(
                jobs,
                out,
                frame_encoder,
                sampler=sampler,
                frames=frames,
                sampler_options=options,
                dataset=dataset,
                shard_size=shard_size,
                batch_frames=batch_frames,
                workers=workers,
                rank=rank,
                world_size=world,
                extra={"splits": list(split)},
                progress=lambda done, todo: bar.update(task, completed=done, total=todo),
                file_timeout=file_timeout,
                retry_errors=retry_errors,
            )
    if as_json:
        print_json(report)
    else:
        _summary(report)
    if report.extracted == 0 and report.failed and report.skipped == 0:
        raise typer.Exit(code=EXIT_NOTHING_EXTRACTED)  # every video failed: nothing stored


def _device() -> str:
    from accelerate import PartialState

    return str(PartialState().device)


def _summary(report) -> None:  # noqa: ANN001 - ExtractReport, imported lazily
    rank = f" (process {report.rank} of {report.world_size})" if report.world_size > 1 else ""
    known = (
        f", {report.known_bad} failed before on the same file (--retry-errors to retry)"
        if report.known_bad
        else ""
    )
    if report.nothing_to_do:
        stderr.print(
            f"{report.out}{rank}: nothing to do: {report.skipped} of {report.assigned} "
            f"videos already in the store{known}",
            highlight=False,
        )
        return
    stderr.print(
        f"{report.out}{rank}: {report.extracted} extracted, {report.skipped} already done"
        f"{known}, {len(report.failed)} failed of {report.assigned}; {report.frames} frames "
        f"in {report.seconds:.1f} s ({report.frames_per_second:.0f} frames/s)",
        highlight=False,
    )
    for failure in report.failed[:10]:
        stderr.print(f"  [yellow]skipped[/] {failure.video_id}: {failure.reason}", highlight=False)
    if len(report.failed) > 10:
        stderr.print(f"  ... {len(report.failed) - 10} more in {report.out}/errors.jsonl")


def register(app: typer.Typer) -> None:
    """Add ``extract features`` to the ``videoqa`` app."""
    group(app, "extract").command("features")(extract_command)
