"""Atomic training checkpoints with everything a resumed run needs.

A checkpoint folder holds ``model/`` (``save_pretrained``: config.json +
model.safetensors), ``tokenizer.json``, ``config.yaml`` (the :class:`TrainConfig`) and
``state.pt`` (optimiser, scheduler, the torch / numpy / Python RNG states and the loop
position :class:`TrainState`). It is written under ``<name>.tmp`` and swapped in with
renames (``<name>`` → ``<name>.old``, ``<name>.tmp`` → ``<name>``, then ``.old``
removed), so a kill at any point leaves one complete checkpoint (``<name>`` or
``<name>.old``), which :func:`find_checkpoint` returns.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from videoqa.errors import UsageError
from videoqa.models.base import VideoQAModel
from videoqa.models.text import WordTokenizer

STATE_FILE = "state.pt"
MODEL_DIR = "model"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.yaml"


@dataclass
class TrainState:
    """Where the loop is.

    Attributes:
        epoch: epoch being trained (0-based; ``epochs`` once training is done).
        step_in_epoch: batches of ``epoch`` already trained.
        global_step: optimiser steps done.
        best_accuracy: best val accuracy (%) so far (-1 before the first evaluation).
        best_epoch: epoch of ``best_accuracy`` (-1 before).
        metrics_offset: bytes of ``metrics.jsonl`` written up to this point.
        fallback_sum, seen: causal-frame fallbacks and questions so far in ``epoch``.
        loss_sums, loss_counts: running sums of the loss terms in ``epoch``.
        epoch_seconds: training wall time spent in ``epoch`` so far.
    """

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    best_accuracy: float = -1.0
    best_epoch: int = -1
    metrics_offset: int = 0
    fallback_sum: int = 0
    seen: int = 0
    loss_sums: dict[str, float] | None = None
    loss_counts: dict[str, int] | None = None
    epoch_seconds: float = 0.0


def rng_state() -> dict[str, Any]:
    """The torch, numpy and Python global RNG states (CUDA's too when present)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": (kind, torch.from_numpy(np.asarray(keys).copy()), pos, has_gauss, cached),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy(), pos, has_gauss, cached))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    directory: Path,
    *,
    model: VideoQAModel,
    tokenizer: WordTokenizer,
    config_yaml: str,
    state: TrainState | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
) -> None:
    """Write a checkpoint atomically into ``directory``.

    Args:
        directory: final folder (e.g. ``out/checkpoints/last``); its parent is created.
        model: the unwrapped model. tokenizer: the run's tokenizer.
        config_yaml: the run's config as YAML. state/optimizer/scheduler: the resumable
            part (omitted for an inference-only checkpoint such as ``best``).
    """

    def write(tmp: Path) -> None:
        model.save_pretrained(tmp / MODEL_DIR)
        tokenizer.save(tmp / TOKENIZER_FILE)
        (tmp / CONFIG_FILE).write_text(config_yaml, encoding="utf-8")
        if state is not None:
            payload = {
                "state": asdict(state),
                "optimizer": optimizer.state_dict() if optimizer is not None else None,
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "rng": rng_state(),
            }
            torch.save(payload, tmp / STATE_FILE)

    write_dir_atomic(Path(directory), write)


def write_dir_atomic(directory: Path, write: Callable[[Path], None]) -> None:
    """Fill a folder atomically: ``write(<name>.tmp)``, fsync, then swap it in with
    renames (``<name>`` → ``<name>.old``, ``<name>.tmp`` → ``<name>``, ``.old``
    removed), so a kill at any point leaves one complete folder, ``<name>`` or
    ``<name>.old``; a stale ``.tmp`` is cleared first."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    old = directory.with_name(directory.name + ".old")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    write(tmp)
    _fsync_tree(tmp)
    if directory.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(directory, old)
    os.replace(tmp, directory)
    if old.exists():
        shutil.rmtree(old)


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def find_checkpoint(directory: Path) -> Path | None:
    """The complete checkpoint at ``directory`` (or its ``.old`` left by a kill during
    the swap), or None."""
    directory = Path(directory)
    for candidate in (directory, directory.with_name(directory.name + ".old")):
        if (candidate / MODEL_DIR).is_dir() and (candidate / TOKENIZER_FILE).is_file():
            return candidate
    return None


@dataclass
class Restored:
    """What :func:`load_training_state` read: the loop position and the raw states."""

    state: TrainState
    optimizer: dict[str, Any] | None
    scheduler: dict[str, Any] | None
    rng: dict[str, Any]


def load_training_state(directory: Path) -> Restored:
    """Read ``state.pt`` of a checkpoint.

    Raises:
        UsageError: the checkpoint has no resumable state.
    """
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        raise UsageError(f"{directory} has no {STATE_FILE}: cannot resume from it")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    return Restored(
        state=TrainState(**payload["state"]),
        optimizer=payload["optimizer"],
        scheduler=payload["scheduler"],
        rng=payload["rng"],
    )


def load_weights(model: nn.Module, directory: Path) -> None:
    """Load ``model/model.safetensors`` of a checkpoint into ``model`` (strict)."""
    from safetensors.torch import load_model

    load_model(model, str(Path(directory) / MODEL_DIR / "model.safetensors"), strict=True)
