"""Training logs: ``metrics.jsonl`` (one JSON object per logged step or epoch) and the
training-curve figure ``curve.png``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class StepRecord(BaseModel):
    """A logged training step.

    Attributes:
        epoch: 0-based epoch; step: optimiser steps done (1-based); lr: learning rate.
        losses: loss terms of this step (``loss``, ``main``, ``consistency``, ``spatial``,
            ``mixup`` when computed). fallback: questions of the batch whose causal
            frames used the top-k fallback.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["step"] = "step"
    epoch: int
    step: int
    lr: float
    losses: dict[str, float]
    fallback: int = 0


class EpochRecord(BaseModel):
    """An epoch: mean train losses and the validation scores (percent).

    Attributes:
        val_accuracy: overall val accuracy (%); val_per_type / val_per_group: type or
            group code → accuracy (%). fallback_rate: share of train questions that used
            the causal-frame fallback this epoch. seconds: wall time of the epoch's
            training steps.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["epoch"] = "epoch"
    epoch: int
    step: int
    train_losses: dict[str, float]
    val_accuracy: float
    val_per_type: dict[str, float] = Field(default_factory=dict)
    val_per_group: dict[str, float] = Field(default_factory=dict)
    fallback_rate: float = 0.0
    seconds: float = 0.0


class MetricsLog:
    """Append-only JSON-lines log; each line is flushed and fsynced when written.

    Args:
        path: the ``metrics.jsonl`` file (created with its folder).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(exist_ok=True)

    def write(self, record: StepRecord | EpochRecord) -> None:
        """Append one record as one line."""
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(record.model_dump_json() + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def size(self) -> int:
        """Bytes written so far (saved in checkpoints)."""
        return self.path.stat().st_size

    def truncate(self, size: int) -> None:
        """Drop everything after byte ``size`` (what a resumed run will log again)."""
        with self.path.open("r+b") as handle:
            handle.truncate(size)


def keep_epochs(path: Path, epochs: int) -> None:
    """Drop the JSON lines of ``path`` whose ``epoch`` is ``>= epochs`` (what a run
    resumed at epoch ``epochs`` logs again), rewriting the file atomically."""
    if not path.is_file():
        return
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    kept = [ln for ln in lines if json.loads(ln)["epoch"] < epochs]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(ln + "\n" for ln in kept), encoding="utf-8")
    os.replace(tmp, path)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl`` file, in order."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def plot_curve(records: list[dict[str, Any]], path: Path) -> None:
    """Draw train loss terms per step (left) and val accuracy per epoch (right) into
    ``path`` (PNG, matplotlib's Agg backend; no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r for r in records if r.get("kind") == "step"]
    epochs = [r for r in records if r.get("kind") == "epoch"]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    names = sorted({k for r in steps for k in r["losses"]}, key=lambda k: (k != "loss", k))
    for name in names:
        points = [(r["step"], r["losses"][name]) for r in steps if name in r["losses"]]
        ax_loss.plot([p[0] for p in points], [p[1] for p in points], label=name)
    ax_loss.set(xlabel="step", ylabel="loss", title="train loss terms")
    if names:
        ax_loss.legend()
    ax_acc.plot([r["epoch"] + 1 for r in epochs], [r["val_accuracy"] for r in epochs], "o-")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="val accuracy")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
