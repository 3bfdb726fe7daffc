"""Atomic, resumable training checkpoints that load without executing code.

``checkpoints/last/`` holds ``weights.safetensors`` (the unwrapped model's state),
``config.yaml`` (the run's config), and the loop position, the optimiser and scheduler
state dicts and the torch / numpy / Python RNG states as ``state.json`` (the structure,
numbers and strings) + ``state.safetensors`` (every tensor, referenced from the JSON by
name). Nothing is pickled, so loading a shared or downloaded run folder cannot run code.
The folder is written under ``<name>.tmp`` and swapped in with renames
(:func:`videoqa.persistence.write_dir_atomic`), so a kill at any point leaves one
complete checkpoint, ``<name>`` or ``<name>.old``, which :func:`find_checkpoint` returns.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

from videoqa.errors import CheckpointError
from videoqa.persistence import write_dir_atomic

STATE_FILE = "state.json"
STATE_TENSORS = "state.safetensors"
WEIGHTS_FILE = "weights.safetensors"
CONFIG_FILE = "config.yaml"


def rng_state() -> dict[str, Any]:
    """The torch, numpy and Python global RNG states (CUDA's too when present)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [kind, torch.from_numpy(np.asarray(keys).copy()), pos, has_gauss, cached],
        "python": _to_lists(random.getstate()),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy(), pos, has_gauss, cached))
    random.setstate(_to_tuples(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _to_lists(value: Any) -> Any:
    return [_to_lists(v) for v in value] if isinstance(value, tuple | list) else value


def _to_tuples(value: Any) -> Any:
    return tuple(_to_tuples(v) for v in value) if isinstance(value, list) else value


def _split_tensors(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """``value`` with every tensor replaced by ``{"__tensor__": name}`` (tensors go into
    ``tensors``); dict keys become strings, with ``{"__int_keys__": ...}`` marking dicts
    whose keys were ints (optimizer state is keyed by parameter index)."""
    if isinstance(value, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = value.detach().cpu().contiguous()
        return {"__tensor__": name}
    if isinstance(value, dict):
        int_keys = bool(value) and all(isinstance(k, int) for k in value)
        body = {str(k): _split_tensors(v, tensors) for k, v in value.items()}
        return {"__int_keys__": body} if int_keys else body
    if isinstance(value, tuple | list):
        return [_split_tensors(v, tensors) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in a resumable state")


def _join_tensors(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            return tensors[value["__tensor__"]]
        if set(value) == {"__int_keys__"}:
            return {int(k): _join_tensors(v, tensors) for k, v in value["__int_keys__"].items()}
        return {k: _join_tensors(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_join_tensors(v, tensors) for v in value]
    return value


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
        tensors: dict[str, torch.Tensor] = {}
        structure = _split_tensors(payload, tensors)
        save_file(tensors, str(tmp / STATE_TENSORS))
        text = json.dumps(structure, allow_nan=True)
        (tmp / STATE_FILE).write_text(text, encoding="utf-8")

    write_dir_atomic(Path(directory), write)


def find_checkpoint(directory: Path) -> list[Path]:
    """The complete resumable checkpoints at ``directory``, newest first: ``directory``
    itself and the ``.old`` copy a kill during the swap can leave (empty when none)."""
    directory = Path(directory)
    return [
        c
        for c in (directory, directory.with_name(directory.name + ".old"))
        if all((c / name).is_file() for name in (STATE_FILE, STATE_TENSORS, WEIGHTS_FILE))
    ]


def load_state(directory: Path) -> dict[str, Any]:
    """Read the resumable state of a checkpoint (``state.json`` + ``state.safetensors``;
    no pickle, so nothing in the folder can execute code).

    Returns:
        ``{"state", "optimizer", "scheduler", "rng"}``.

    Raises:
        CheckpointError: missing, truncated or damaged files, references to tensors
            that are not there, or missing entries.
    """
    directory = Path(directory)
    path, blob = directory / STATE_FILE, directory / STATE_TENSORS
    for needed in (path, blob):
        if not needed.is_file():
            raise CheckpointError(f"{needed}: missing: cannot resume from {directory}")
    try:
        structure = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: damaged resumable state ({err})") from None
    try:
        tensors = load_file(str(blob))
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{blob}: damaged resumable state ({err})") from None
    try:
        payload = _join_tensors(structure, tensors)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: does not match {blob.name} ({err})") from None
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
