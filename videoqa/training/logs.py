"""Training logs: ``metrics.jsonl`` (one JSON object per logged step or epoch) and the
training-curve figure ``curve.png``."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any


class MetricsLog:
    """Append-only JSON-lines log; each line is flushed and fsynced when written.

    Args:
        path: the ``metrics.jsonl`` file (created with its folder).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(exist_ok=True)

    def write(self, record: dict[str, Any]) -> None:
        """Append one record (a JSON object: ``kind`` ``step`` or ``epoch``, ``epoch``,
        ``step``, …) as one line; NaN / inf become null (strict JSON)."""
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(strict_json(record), allow_nan=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def strict_json(value: Any) -> Any:
    """``value`` with NaN / inf floats as None (what strict JSON can hold), recursively
    through dicts, lists and tuples."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    return value


def trim_metrics(path: Path, global_step: int, epoch: int) -> int:
    """Keep the records of ``path`` that were logged before a checkpoint taken at
    optimiser step ``global_step`` with ``epoch`` epochs finished: step records with
    ``step <= global_step`` and epoch records with ``epoch < epoch``. Lines that are not
    JSON objects (a kill mid-write, NUL bytes) are dropped. Decided by content, never by
    a byte offset; the file is rewritten atomically.

    Returns:
        the number of records kept.
    """
    path = Path(path)
    if not path.is_file():
        return 0
    kept = []
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line.strip("\x00 \t"))
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict):
            continue
        if record.get("kind") == "epoch":
            keep = isinstance(record.get("epoch"), int) and record["epoch"] < epoch
        else:
            keep = isinstance(record.get("step"), int) and record["step"] <= global_step
        if keep:
            kept.append(json.dumps(record, allow_nan=False))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
    os.replace(tmp, path)
    return len(kept)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl`` file, in order."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def plot_curve(records: list[dict[str, Any]], path: Path, metric: str = "val_accuracy") -> None:
    """Draw train loss terms per step (left) and the val ``metric`` per epoch (right)
    into ``path`` (PNG, matplotlib's Agg backend; no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r for r in records if r.get("kind") == "step"]
    epochs = [r for r in records if r.get("kind") == "epoch"]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    names = sorted({k for r in steps for k in r["losses"]}, key=lambda k: (k != "loss", k))
    for name in names:
        points = [
            (r["step"], r["losses"][name]) for r in steps if r["losses"].get(name) is not None
        ]
        ax_loss.plot([p[0] for p in points], [p[1] for p in points], label=name)
    ax_loss.set(xlabel="step", ylabel="loss", title="train loss terms")
    if names:
        ax_loss.legend()
    points = [(r["epoch"] + 1, r[metric]) for r in epochs if r.get(metric) is not None]
    ax_acc.plot([p[0] for p in points], [p[1] for p in points], "o-")
    ax_acc.set(xlabel="epoch", ylabel=metric, title=f"val {metric}")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
