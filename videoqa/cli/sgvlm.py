"""``videoqa models new-llm``: a from-scratch LLM for a benchmark's vocabulary (SGVLM's
training stages run as recipes: ``videoqa train --recipe localizer | sgvlm``)."""

from __future__ import annotations

from pathlib import Path

import typer

from videoqa.batch import prepare_output
from videoqa.cli._common import group, overwrite_option, stderr, user_errors


def llm_command(
    benchmark: Path = typer.Option(
        ..., "--annotations", help="Annotation file or benchmark folder."
    ),
    out: Path = typer.Option(..., "--out", help="Folder for the LLM and its tokenizer."),
    overwrite: bool = overwrite_option("LLM folder"),
    dataset: str = typer.Option("synthetic", "--dataset", help="Registered dataset name."),
    splits: list[str] = typer.Option(
        ["train"], "--split", help="Splits whose text trains the tokenizer."
    ),
    hidden: int = typer.Option(128, "--hidden", help="Hidden width."),
    layers: int = typer.Option(2, "--layers", help="Transformer layers."),
    heads: int = typer.Option(4, "--heads", help="Attention heads."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random weights: same seed, same LM."),
) -> None:
    """Train a word-level tokenizer on the questions and answers and save a randomly
    initialised Llama-architecture LM beside it (SGVLM then trains it in full)."""
    import torch

    from videoqa.data import load_dataset
    from videoqa.encoders.hf import quiet_transformers
    from videoqa.models.sgvlm.configuration import SGVLMConfig
    from videoqa.models.sgvlm.llm import TinyLMConfig, create_tiny_llm

    with user_errors():
        prepare_output(out, what="LLM folder", overwrite=overwrite, can_resume=False)
        texts = [SGVLMConfig.model_fields["prompt_template"].default]
        for split in splits:
            for sample in load_dataset(dataset, benchmark, split=split).samples:
                texts.append(sample.question)
                texts.extend(sample.choices or (str(sample.answer),))
        config = TinyLMConfig(
            hidden_size=hidden, num_layers=layers, num_heads=heads, intermediate_size=2 * hidden
        )
        torch.manual_seed(seed)
        with quiet_transformers():  # no "Writing model shards" bar
            create_tiny_llm(texts, out, config)
    stderr.print(f"wrote a random {layers}-layer LM of width {hidden} and its tokenizer to {out}")


def register(app: typer.Typer) -> None:
    """Add ``models new-llm`` to the ``videoqa`` app."""
    group(app, "models", invoke_without_command=True).command("new-llm")(llm_command)
