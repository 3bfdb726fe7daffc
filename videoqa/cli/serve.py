"""``videoqa serve``: the HTTP API and the web page (:mod:`videoqa.server`)."""

from __future__ import annotations

from pathlib import Path

import typer

from videoqa.cli._common import stderr, user_errors
from videoqa.errors import UsageError


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port."),
    model: list[str] = typer.Option(
        None,
        "--model",
        "-m",
        help="A model to serve (repeat for several; the first is the default): any "
        "`ask --model` spec (auto, tiny, a hub id, vgt:DIR, sgvlm:DIR, ...). Default: auto.",
    ),
    video_root: Path = typer.Option(
        None, "--video-root", help="A folder whose videos may be named by path (nothing outside it)."
    ),
    max_upload_mb: float = typer.Option(500.0, "--max-upload-mb", min=0.001, help="Largest upload, MiB."),
    store_mb: float = typer.Option(4000.0, "--store-mb", min=0.001, help="All stored uploads together, MiB."),
    max_videos: int = typer.Option(64, "--max-videos", min=1, help="Most stored uploads."),
    ttl: float = typer.Option(
        3600.0, "--ttl", min=1.0, help="Seconds an unused upload or a finished job's result is kept."
    ),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Inference worker threads."),
    queue: int = typer.Option(16, "--queue", min=0, help="Asks waiting beyond the running ones (more: 429)."),
    job_timeout: float = typer.Option(600.0, "--job-timeout", min=1.0, help="Seconds a job may run."),
    route: str = typer.Option("auto", "--route", help="auto | visual | quality."),
    frames: int = typer.Option(None, "--frames", "-n", min=1, help="Frames to sample (as ask)."),
    top_k: int = typer.Option(4, "--top-k", "-k", min=1, help="Evidence frames per answer."),
    grid: int = typer.Option(0, "--grid", min=0, max=8, help="Add an N×N grid view (0: none)."),
) -> None:
    """Serve the HTTP API and the web page; open http://HOST:PORT/ in a browser."""
    import uvicorn

    from videoqa.server import ServerConfig, create_app

    options: dict[str, object] = {"top_k": top_k, "grid": grid}
    if frames is not None:
        options["frames"] = frames
    with user_errors():
        if video_root is not None and not video_root.is_dir():
            raise UsageError(f"--video-root {video_root} is not a folder")
        config = ServerConfig(
            models=list(model) if model else ["auto"],
            route=route,
            video_root=video_root,
            max_upload_mb=max_upload_mb,
            store_mb=store_mb,
            max_videos=max_videos,
            ttl_s=ttl,
            workers=workers,
            queue=queue,
            job_timeout_s=job_timeout,
            options=options,
        )
        with stderr.status(f"loading {', '.join(config.models)}"):
            app = create_app(config)
        for name, qa in app.state.videoqa.models.items():
            for warning in qa.warnings:
                stderr.print(f"[bold yellow]warning:[/] {name}: {warning}", highlight=False)
    stderr.print(f"serving on http://{host}:{port}/ (Ctrl+C stops; uploads are deleted)", highlight=False)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:  # also when uvicorn cannot bind the port: the uploads folder never outlives us
        app.state.videoqa.store.close()


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the ``videoqa`` app."""
    app.command("serve")(serve_command)
