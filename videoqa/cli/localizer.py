"""``videoqa localizer-train``: SGVLM stage 2, pretrain the question-conditioned frame
localizer on the answer intervals of a synthetic benchmark (UniVTG objective)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from videoqa.cli._common import stderr, user_errors

HEADLINE = (
    "MR-full-R1@0.5",
    "MR-full-R1@0.7",
    "MR-full-mAP",
    "HL-min-VeryGood-mAP",
    "HL-min-VeryGood-Hit1",
)


def localizer_train_command(
    benchmark: Path = typer.Option(..., "--benchmark", help="Synthetic benchmark folder."),
    features: Path = typer.Option(..., "--features", help="Feature store of its videos."),
    tokenizer: Path = typer.Option(
        ..., "--tokenizer", help="LLM tokenizer folder (AutoTokenizer)."
    ),
    out: Path = typer.Option(..., "--out", help="Run folder."),
    scene_graphs: Path | None = typer.Option(
        None, "--scene-graphs", help="Scene-graph store aligned with the features (omit: NoSG)."
    ),
    epochs: int = typer.Option(5, "--epochs", min=1),
    batch_size: int = typer.Option(64, "--batch-size", min=2),
    lr: float = typer.Option(1e-3, "--lr"),
    hidden_size: int = typer.Option(128, "--hidden-size", min=8),
    no_attention_mask: bool = typer.Option(
        False, "--no-attention-mask", help="Ablation: every token attends to every token."
    ),
    max_train_questions: int | None = typer.Option(None, "--max-train-questions", min=1),
    seed: int = typer.Option(0, "--seed"),
    threads: int | None = typer.Option(None, "--threads", min=1, help="torch intra-op threads."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
) -> None:
    """Train the localizer, score val (QVHighlights MR/HL metrics) every epoch, keep the best."""
    import torch
    from transformers import AutoTokenizer

    from videoqa.training.localizer import (
        LocalizerModelSettings,
        LocalizerTrainSettings,
        train_localizer,
    )

    if threads is not None:
        torch.set_num_threads(threads)
    with user_errors():
        settings = LocalizerTrainSettings(
            benchmark=benchmark,
            features=features,
            scene_graphs=scene_graphs,
            output_dir=out,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            max_train_questions=max_train_questions,
            seed=seed,
            model=LocalizerModelSettings(
                hidden_size=hidden_size, attention_mask=not no_attention_mask
            ),
        )
        tok = AutoTokenizer.from_pretrained(str(tokenizer))
        stderr.print(f"training the frame localizer into {out}")
        result = train_localizer(settings, tok, resume=resume)
    table = Table(title=f"localizer: best epoch {result.best_epoch + 1} ({result.seconds:.0f} s)")
    table.add_column("val metric")
    table.add_column("%")
    for key in HEADLINE:
        if key in result.best_metrics:
            table.add_row(key, f"{result.best_metrics[key]:.2f}")
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add this module's command(s) to the ``videoqa`` app."""
    app.command("localizer-train")(localizer_train_command)
