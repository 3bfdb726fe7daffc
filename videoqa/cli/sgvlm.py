"""``videoqa sgvlm-llm`` (a from-scratch LLM for a benchmark's vocabulary) and
``videoqa sgvlm-train`` (SGVLM stage 3: end-to-end VideoQA fine-tuning)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from videoqa.cli._common import stderr, user_errors


def llm_command(
    benchmark: Path = typer.Option(..., "--benchmark", help="Benchmark folder (annotations)."),
    out: Path = typer.Option(..., "--out", help="Folder for the LLM and its tokenizer."),
    dataset: str = typer.Option("synthetic", "--dataset", help="Registered dataset name."),
    splits: list[str] = typer.Option(
        ["train"], "--split", help="Splits whose text trains the tokenizer."
    ),
    hidden: int = typer.Option(128, "--hidden", help="Hidden width."),
    layers: int = typer.Option(2, "--layers", help="Transformer layers."),
    heads: int = typer.Option(4, "--heads", help="Attention heads."),
) -> None:
    """Train a word-level tokenizer on the questions and answers and save a randomly
    initialised Llama-architecture LM beside it (SGVLM then trains it in full)."""
    from videoqa.data import load_dataset
    from videoqa.models.sgvlm.configuration import SGVLMConfig
    from videoqa.models.sgvlm.llm import TinyLMConfig, create_tiny_llm

    with user_errors():
        texts = [SGVLMConfig.model_fields["prompt_template"].default]
        for split in splits:
            for sample in load_dataset(dataset, benchmark, split=split).samples:
                texts.append(sample.question)
                texts.extend(sample.choices or (str(sample.answer),))
        config = TinyLMConfig(
            hidden_size=hidden, num_layers=layers, num_heads=heads, intermediate_size=2 * hidden
        )
        create_tiny_llm(texts, out, config)
    stderr.print(f"wrote a random {layers}-layer LM of width {hidden} and its tokenizer to {out}")


def train_command(
    config: Path = typer.Option(..., "--config", help="SGVLM run config (YAML)."),
    overrides: list[str] = typer.Option([], "--set", help="Override a value: key.path=value."),
    out: Path | None = typer.Option(None, "--out", help="Run folder (overrides output_dir)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint."),
) -> None:
    """Fine-tune SGVLM end to end, keep the best val epoch, score the test splits."""
    from videoqa.training.sgvlm import load_sgvlm_config, train_sgvlm

    with user_errors():
        extra = [f"output_dir={out}"] if out is not None else []
        cfg = load_sgvlm_config(config, [*overrides, *extra])
        stderr.print(f"training SGVLM into {cfg.output_dir}")
        result = train_sgvlm(cfg, resume=resume)
    table = Table(title=f"SGVLM: best epoch {result['best_epoch'] + 1}")
    table.add_column("split / family")
    table.add_column("MC accuracy (%)")
    table.add_column("OE WUPS@0.9 (%)")
    table.add_row("val (best)", f"{result['best_val_accuracy']:.2f}", "")
    for split, res in result["tests"].items():
        oe = res.get("open_ended") or {}
        table.add_row(
            split, f"{res['accuracy']:.2f}", f"{oe.get('all', {}).get('wups9', float('nan')):.2f}"
        )
        for fam, acc in res["by_group"].items():
            table.add_row(
                f"  {fam}", f"{acc:.2f}", f"{oe.get(fam, {}).get('wups9', float('nan')):.2f}"
            )
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``videoqa`` app."""
    app.command("sgvlm-llm")(llm_command)
    app.command("sgvlm-train")(train_command)
