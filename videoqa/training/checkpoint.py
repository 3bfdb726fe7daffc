"""Atomic, resumable training checkpoints that load without executing code.

``checkpoints/last/`` holds ``weights.safetensors`` (the unwrapped model's state),
``config.yaml`` (the run's config) and ``state.pt``: the loop position, the optimiser
and scheduler state dicts and the torch / numpy / Python RNG states — tensors and plain
containers only, read back with ``torch.load(weights_only=True)``, so a planted pickle
payload is refused instead of run. The folder is written under ``<name>.tmp`` and swapped
in with renames (:func:`write_dir_atomic`), so a kill at any point leaves one complete
checkpoint, ``<name>`` or ``<name>.old``, which :func:`find_checkpoint` returns.
"""

from __future__ import annotations

import os
import pickle
import random
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from torch import nn

from videoqa.errors import CheckpointError

STATE_FILE = "state.pt"
WEIGHTS_FILE = "weights.safetensors"
CONFIG_FILE = "config.yaml"


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


def save_resumable(
    directory: Path,
    *,
    model: nn.Module,
    config_yaml: str,
    state: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
) -> None:
    """Write the resumable checkpoint atomically into ``directory``.

    Args:
        directory: final folder (``out/checkpoints/last``); its parent is created.
        model: the unwrapped model. config_yaml: the run's config as YAML.
        state: the loop position (plain JSON-like values). optimizer, scheduler: their
            ``state_dict`` is saved.
    """

    def write(tmp: Path) -> None:
        save_model(model, str(tmp / WEIGHTS_FILE))
        (tmp / CONFIG_FILE).write_text(config_yaml, encoding="utf-8")
        payload = {
            "state": state,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
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


def find_checkpoint(directory: Path) -> list[Path]:
    """The complete resumable checkpoints at ``directory``, newest first: ``directory``
    itself and the ``.old`` copy a kill during the swap can leave (empty when none)."""
    directory = Path(directory)
    return [
        c
        for c in (directory, directory.with_name(directory.name + ".old"))
        if (c / STATE_FILE).is_file() and (c / WEIGHTS_FILE).is_file()
    ]


def load_state(directory: Path) -> dict[str, Any]:
    """Read ``state.pt`` of a resumable checkpoint (``weights_only=True``).

    Returns:
        ``{"state", "optimizer", "scheduler", "rng"}``.

    Raises:
        CheckpointError: missing, truncated or damaged file, a pickle payload that is
            not plain tensors and containers, or missing entries.
    """
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: missing: cannot resume from {directory}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (
        pickle.UnpicklingError,
        RuntimeError,
        EOFError,
        zipfile.BadZipFile,
        OSError,
        ValueError,
        AttributeError,
        TypeError,
    ) as err:
        raise CheckpointError(
            f"{path}: damaged or unsafe resumable state ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''})"
        ) from None
    missing = {"state", "optimizer", "scheduler", "rng"} - set(
        payload if isinstance(payload, dict) else {}
    )
    if missing:
        raise CheckpointError(f"{path}: not a videoqa training state (missing {sorted(missing)})")
    return payload


def load_trained_weights(model: nn.Module, directory: Path) -> None:
    """Load ``weights.safetensors`` of a resumable checkpoint into ``model`` (strict).

    Raises:
        CheckpointError: missing or damaged file, or weights of another model.
    """
    path = Path(directory) / WEIGHTS_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: missing")
    try:
        load_model(model, str(path), strict=True)
    except (SafetensorError, RuntimeError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{path}: damaged or of another model ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''})"
        ) from None
