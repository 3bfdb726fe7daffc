"""``videoqa ask``: answer a question about a video, with the evidence it rests on."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from videoqa.cli._common import EXIT_USAGE, print_json, stderr, user_errors


def ask_command(
    ctx: typer.Context,
    video: Path = typer.Argument(..., help="Video file."),
    question: str = typer.Argument(..., help="The question, in quotes."),
    choices: list[str] = typer.Option(
        None,
        "--choices",
        "-c",
        help='Candidate answers after the question: --choices "reading" "eating" "sleeping".',
    ),
    model: str = typer.Option(
        "auto",
        "--model",
        "-m",
        help="auto | tiny | tiny-siglip | a hub id (openai/clip-vit-base-patch32) | a local directory | sgvlm:CHECKPOINT (a trained SGVLM).",
    ),
    frames: int = typer.Option(16, "--frames", "-n", min=1, help="Frames to sample."),
    sampler: str = typer.Option("uniform", "--sampler", help="uniform | head-tail | fps | clips."),
    rate: float = typer.Option(
        1.0, "--rate", min=0.01, help="Frames per second for --sampler fps."
    ),
    grid: int = typer.Option(0, "--grid", min=0, max=8, help="Add an N×N grid view (0: none)."),
    top_k: int = typer.Option(
        4, "--top-k", "-k", min=1, help="Localized frames the answer rests on."
    ),
    answers: Path = typer.Option(
        None, "--answers", help="Answer vocabulary file for open-ended questions."
    ),
    save_evidence: Path = typer.Option(
        None, "--save-evidence", help="Write evidence frames, grid and result.json here."
    ),
    route: str = typer.Option(
        "auto", "--route", help="auto | visual | quality: which path answers (auto recognizes)."
    ),
    semantic_routing: bool = typer.Option(
        False, "--semantic-routing", help="Let a sentence model recognize quality questions too."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result JSON only (stdout)."),
) -> None:
    """Answer QUESTION about VIDEO; multiple choice with --choices, open-ended otherwise."""
    choices = _gather_choices(ctx, choices)
    from videoqa.pipelines.ask import AskConfig, AskRun
    from videoqa.pipelines.evidence import save_evidence as write_evidence
    from videoqa.pipelines.router import QuestionRouter
    from videoqa.video.reader import probe

    with user_errors():
        probe(video)  # a missing or unreadable video fails before any model loads
        config = AskConfig(
            frames=frames,
            sampler=sampler,
            top_k=top_k,
            grid=grid,
            sampler_options={"rate": rate} if sampler == "fps" else {},
        )
        warnings: list[str] = []
        router = QuestionRouter(
            lambda: _visual_pipeline(model, answers, config, warnings), route, semantic_routing
        )
        with stderr.status(f"answering on {video.name}"):
            run = router(video, question, choices)
        result = run.result.model_copy(update={"warnings": [*warnings, *run.result.warnings]})
        if save_evidence is not None:
            run = AskRun(result=result, frames=run.frames, grid_image=run.grid_image)
            result = write_evidence(run, save_evidence)
            stderr.print(f"evidence written to {save_evidence}/", highlight=False)
    _print_timings(result.timings)
    if as_json:
        print_json(result)
    else:
        _print_result(result)


def _visual_pipeline(model, answers, config, warnings: list[str]):
    """Build the image–text pipeline (only when a question needs it); the model's
    warnings are printed and appended to ``warnings``."""
    from videoqa.pipelines.ask import AskPipeline
    from videoqa.pipelines.models import resolve_encoder
    from videoqa.pipelines.vocabulary import load_answer_vocabulary

    if model.startswith("sgvlm:"):
        from videoqa.pipelines.sgvlm import PREFIX, SGVLMAnswerer

        return SGVLMAnswerer(model[len(PREFIX) :])
    vocabulary = load_answer_vocabulary(answers) if answers else None
    resolved = resolve_encoder(model)
    for warning in resolved.warnings:
        stderr.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    warnings.extend(resolved.warnings)
    return AskPipeline(resolved.encoder, config, vocabulary)


def _gather_choices(ctx: typer.Context, choices: list[str] | None) -> list[str] | None:
    """``--choices a b c``: click binds ``a`` to the option and leaves ``b c`` as extra
    arguments; join them back. Extra arguments without ``--choices`` are a usage error."""
    extra = list(ctx.args)
    if not choices:
        if extra:
            stderr.print(
                f"[bold red]error:[/] unexpected arguments {extra} (did you mean --choices?)"
            )
            raise typer.Exit(EXIT_USAGE)
        return None
    return list(choices) + extra


def _print_timings(timings: dict[str, float]) -> None:
    parts = ", ".join(f"{k} {v:.2f}s" for k, v in timings.items())
    stderr.print(f"[dim]timings: {parts}[/]", highlight=False)


def _print_result(result) -> None:
    console = Console()
    flag = "" if result.pretrained else "  [yellow](untrained model: not a real answer)[/]"
    console.print(f"[bold]Q:[/] {result.question}")
    console.print(
        f"[bold green]A:[/] {result.answer}  (p={result.probabilities[result.answer_index]:.3f}){flag}"
    )
    if result.explanation:
        console.print(f"   {result.explanation}")
    table = Table("choice", "probability", title="candidates")
    for choice, p in zip(result.choices, result.probabilities, strict=True):
        table.add_row(choice, f"{p:.3f}")
    console.print(table)
    ev = Table("time (s)", "frame", "score", "supports", "facts", title="evidence")
    for item in result.evidence:
        ev.add_row(
            f"{item.time:.2f}",
            str(item.frame_index),
            f"{item.score:.3f}",
            item.supports or "",
            "; ".join(item.facts),
        )
    console.print(ev)
    if result.grid is not None:
        cells = ", ".join(f"({c.row},{c.col})={c.time:.1f}s" for c in result.grid.cells)
        console.print(f"grid {result.grid.grid}×{result.grid.grid}: {cells}")


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the ``videoqa`` app."""
    app.command(
        "ask",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": False},
    )(ask_command)
