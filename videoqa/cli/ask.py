"""``videoqa ask``: answer a question about a video, with the evidence it rests on."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from videoqa.cli._common import list_option_command, print_json, stderr, user_errors
from videoqa.errors import UsageError


def ask_command(
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
        help="auto | tiny | tiny-siglip | a hub id (openai/clip-vit-base-patch32) | a folder | "
        "hga:DIR | vgt:DIR | transformer:DIR (a trained backbone, e.g. "
        "runs/NAME/checkpoints/best) | sgvlm:DIR (a trained SGVLM).",
    ),
    frames: int = typer.Option(
        None,
        "--frames",
        "-n",
        min=1,
        help="Frames to sample (default 16; a trained model uses the count it was trained on).",
    ),
    sampler: str = typer.Option(
        None,
        "--sampler",
        help="uniform | head-tail | fps | clips (default uniform; a trained model uses its own).",
    ),
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
        "auto",
        "--route",
        help="auto | visual | quality | speech: which path answers (auto recognizes).",
    ),
    subtitles: Path = typer.Option(
        None,
        "--subtitles",
        help="Subtitle file (.srt / .vtt) read as what is said, instead of transcribing.",
    ),
    semantic_routing: bool = typer.Option(
        False,
        "--semantic-routing",
        help="Let a sentence model recognize quality and speech questions too.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result JSON only (stdout)."),
) -> None:
    """Answer QUESTION about VIDEO; multiple choice with --choices, open-ended otherwise."""
    choices = list(choices) if choices else None
    from videoqa.pipelines.ask import AskRun
    from videoqa.pipelines.evidence import save_evidence as write_evidence
    from videoqa.pipelines.resolve import resolve
    from videoqa.pipelines.router import QuestionRouter
    from videoqa.video.reader import probe

    options = {
        "frames": frames,
        "sampler": sampler,
        "sampler_options": {"rate": rate} if sampler == "fps" else {},
        "top_k": top_k,
        "grid": grid,
        "answers": answers,
    }
    with user_errors():
        probe(video)  # a missing or unreadable video fails before any model loads
        if subtitles is not None:
            from videoqa.data.subtitles import read_subtitles

            read_subtitles(subtitles)  # a missing or broken subtitle file fails here too
        router = QuestionRouter(
            lambda: _loaded(resolve(model, **options)),
            route,
            semantic_routing,
            subtitles=subtitles,
        )
        with stderr.status(f"answering on {video.name}"):
            run = router(video, question, choices)
        result = run.result
        if save_evidence is not None:
            try:
                result = write_evidence(AskRun(result, run.frames, run.grid_image), save_evidence)
            except OSError as err:
                raise UsageError(f"cannot write the evidence to {save_evidence}: {err}") from None
            stderr.print(f"evidence written to {save_evidence}/", highlight=False)
    _print_timings(result.timings)
    if as_json:
        print_json(result)
    else:
        _print_result(result)


def _loaded(answerer):
    """Print the answerer's warnings (a fallback, random weights, ignored options) on
    stderr once it is loaded; the results carry them too."""
    for warning in answerer.warnings:
        stderr.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    return answerer


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
        spanned = item.start is not None and item.end is not None
        ev.add_row(
            f"{item.start:.2f}-{item.end:.2f}" if spanned else f"{item.time:.2f}",
            str(item.frame_index) if item.frame_index is not None else item.modality,
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
    app.command("ask", cls=list_option_command("--choices", "-c"))(ask_command)
