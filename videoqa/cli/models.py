"""``videoqa models``: the registered architectures, the specs ``--model`` accepts, and
the trained checkpoints found under a folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from videoqa.cli._common import group, user_errors


def models_command(
    ctx: typer.Context,
    scan: Path = typer.Option(
        Path("runs"), "--scan", help="Folder searched for trained checkpoints (checkpoints/best)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the listing as JSON (stdout)."),
) -> None:
    """List what a --model spec can name: architectures (ARCH:DIR), encoder presets,
    hub ids, and the checkpoints found under --scan.

    Examples:

      videoqa models

      videoqa models --scan experiments/runs --json
    """
    if ctx.invoked_subcommand is not None:
        return
    with user_errors():
        listing = collect(scan)
    if as_json:
        sys.stdout.write(json.dumps(listing, indent=2) + "\n")
        return
    console = Console()
    arch = Table("spec", "kind", "class", title="architectures (videoqa ask --model SPEC)")
    for row in listing["architectures"]:
        arch.add_row(row["spec"], row["kind"], row["class"])
    console.print(arch)
    presets = ", ".join(listing["encoder_presets"])
    console.print(f"zero-shot encoders: auto, {presets}, a CLIP/SigLIP hub id or folder")
    found = Table("spec", "model_type", title=f"checkpoints under {scan}")
    for row in listing["checkpoints"]:
        found.add_row(row["spec"], row["model_type"] or "?")
    console.print(found if listing["checkpoints"] else f"no checkpoints under {scan}")


def collect(scan: Path) -> dict:
    """The listing as plain data (also what ``--json`` prints)."""
    import videoqa.models.imageqa.feature  # noqa: F401
    import videoqa.perception.quality.model  # noqa: F401
    import videoqa.perception.scene_graph.motifs  # noqa: F401
    import videoqa.pipelines.sgvlm  # noqa: F401  (registers SGVLM's persisted classes)
    from videoqa.encoders import OFFLINE_PRESETS
    from videoqa.errors import CheckpointError
    from videoqa.models import MODELS
    from videoqa.persistence import PERSISTED, list_model_types, read_checkpoint_config
    from videoqa.pipelines.resolve import SGVLM, list_schemes

    answering = set(list_schemes())
    rows = []
    for name in list_model_types():
        cls = PERSISTED.get(name)
        if name in MODELS.names():
            kind, spec = "discriminative (logits (B, C) + frame weights (B, T))", f"{name}:DIR"
        elif name == SGVLM:
            kind, spec = "generative (log-likelihood + generate)", f"{name}:DIR"
        else:
            kind, spec = "perception (used inside a pipeline)", "-"
        rows.append({"spec": spec, "model_type": name, "kind": kind, "class": cls.__name__})
    rows.sort(key=lambda r: (r["spec"] == "-", r["model_type"]))
    checkpoints = []
    if scan.is_dir():
        for best in sorted(scan.rglob("checkpoints/best")):
            model_type = None
            for config in (best / "model", best):
                try:
                    model_type = read_checkpoint_config(config).get("model_type")
                    break
                except CheckpointError:  # an unreadable folder is listed as "?"
                    continue
            prefix = model_type if model_type in answering else None
            checkpoints.append(
                {"spec": f"{prefix}:{best}" if prefix else str(best), "model_type": model_type}
            )
    return {
        "architectures": rows,
        "encoder_presets": sorted(OFFLINE_PRESETS),
        "checkpoints": checkpoints,
    }


def register(app: typer.Typer) -> None:
    """``videoqa models`` lists (the group's own callback, run when no sub-command such
    as ``new-llm`` is given)."""
    group(app, "models", invoke_without_command=True).callback(invoke_without_command=True)(
        models_command
    )
