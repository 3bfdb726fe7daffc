"""Load an image–text encoder by registered name, hub id or local directory.

Failing fast offline: ``from_pretrained`` of an uncached hub id on a machine without
network waits on ``huggingface_hub``'s retries (measured 46 s here, two files × five
retries with back-off) before it fails. :func:`load_encoder` therefore looks in the local
cache first, and when the files are not there it only goes to the hub when offline mode
is off and a TCP connection to the hub endpoint opens within ~1 s.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
import transformers
from huggingface_hub import constants as hf_constants
from huggingface_hub import try_to_load_from_cache
from huggingface_hub.errors import EntryNotFoundError

from videoqa.encoders.base import ImageTextEncoder
from videoqa.encoders.hf import PRESET_CONFIG_KEY, HFDualEncoder, quiet_transformers
from videoqa.encoders.registry import ENCODERS, OFFLINE_PRESETS, PRETRAINED
from videoqa.encoders.spec import PretrainedSpec
from videoqa.encoders.tiny import build_tiny
from videoqa.errors import ModelUnavailableError

WEIGHT_FILES: tuple[str, ...] = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
"""File names under which ``transformers`` checkpoints keep their weights."""

PROBE_TIMEOUT_S = 1.0
"""Seconds allowed to resolve the hub host and open a TCP connection to it."""

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_TRUE = {"1", "on", "yes", "true"}


def _is_offline() -> bool:
    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return hf_constants.HF_HUB_OFFLINE or env.strip().lower() in _TRUE


def _cache_location(cache_dir: str | Path | None) -> str:
    return str(cache_dir) if cache_dir is not None else hf_constants.HF_HUB_CACHE


def _cached_file(repo_id: str, filename: str, cache_dir: str | Path | None) -> str | None:
    found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
    return found if isinstance(found, str) else None


def _hub_cached(repo_id: str, cache_dir: str | Path | None) -> bool:
    """Whether ``config.json`` and a weights file of ``repo_id`` are in the HF cache."""
    if _cached_file(repo_id, "config.json", cache_dir) is None:
        return False
    return any(_cached_file(repo_id, f, cache_dir) for f in WEIGHT_FILES)


def _probe_target() -> tuple[str, int]:
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    url = urlparse(proxy or os.environ.get("HF_ENDPOINT") or hf_constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    return url.hostname or "", port


def hub_reachable(timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the hub endpoint (or the HTTPS proxy) opens in time.

    Name resolution runs in a daemon thread so that a hanging DNS lookup cannot block
    longer than ``timeout`` seconds (at most ``2 · timeout`` in all).
    """
    host, port = _probe_target()
    if not host:
        return False
    result: list[bool] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=connect, daemon=True)
    worker.start()
    worker.join(2 * timeout)
    return bool(result and result[0])


_WAYS_OUT = (
    " Ways out: `--model tiny` (offline preset, random weights), a local checkpoint "
    "directory, or a hub id whose files are in the local Hugging Face cache."
)


def _unavailable(
    name: str, source: str, reason: str, cache_dir: str | Path | None
) -> ModelUnavailableError:
    where = f" (hub id {source!r})" if source != name else ""
    message = (
        f"Encoder {name!r}{where} cannot be loaded: {reason}. Its files are not in the local "
        f"Hugging Face cache ({_cache_location(cache_dir)}) and cannot be downloaded here. "
        "Ways out: use the offline preset `--model tiny` (random weights, to run the "
        "pipeline end to end); pass a local directory holding a saved checkpoint "
        "(config.json, weights, tokenizer and preprocessor_config.json); or download it "
        f"on a connected machine (`hf download {source}`) and copy the cache here "
        "(HF_HOME / HF_HUB_CACHE)."
    )
    return ModelUnavailableError(message, model=name)


def _read_arch(config_path: Path, name: str) -> str:
    try:
        model_type = json.loads(config_path.read_text(encoding="utf-8")).get("model_type")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as err:
        raise ModelUnavailableError(f"{name}: unreadable {config_path.name}: {err}", name) from err
    if model_type not in ENCODERS:
        raise ModelUnavailableError(
            f"{name}: model_type {model_type!r} in {config_path.name} is not a supported "
            f"image-text encoder; supported: {', '.join(ENCODERS.names())}",
            name,
        )
    return model_type


def _from_pretrained(
    adapter: type[HFDualEncoder],
    source: str,
    *,
    name: str,
    device: str | torch.device,
    **hub: Any,
) -> HFDualEncoder:
    """Load model, tokenizer and image processor of ``source`` (a directory or hub id).

    Raises:
        ModelUnavailableError: a file is missing or unreadable, a package the tokenizer
            needs is missing (SigLIP's sentencepiece), or the weights leave parameters of
            the model uninitialised.
    """
    try:
        with quiet_transformers():
            model, info = adapter.model_class().from_pretrained(
                source, dtype=torch.float32, output_loading_info=True, **hub
            )
        tokenizer = transformers.AutoTokenizer.from_pretrained(source, **hub)
        processor = transformers.AutoImageProcessor.from_pretrained(source, backend="pil", **hub)
    except (OSError, EntryNotFoundError) as err:
        raise ModelUnavailableError(f"{name}: could not load {source!r}: {err}", name) from err
    except ImportError as err:  # e.g. SigLIP's sentencepiece tokenizer without sentencepiece
        raise ModelUnavailableError(
            f"{name}: loading {source!r} needs a package that is not installed: {err}", name
        ) from err
    if info["missing_keys"]:
        missing = ", ".join(sorted(info["missing_keys"])[:5])
        raise ModelUnavailableError(f"{name}: the weights lack parameters ({missing}, ...)", name)
    pretrained = not getattr(model.config, PRESET_CONFIG_KEY, None)
    spec = adapter.spec_from_checkpoint(
        model.config, tokenizer, processor, name=name, pretrained=pretrained
    )
    return adapter(model, tokenizer, processor, spec, name=name, device=device)


def _check_against_registry(encoder: HFDualEncoder, registered: PretrainedSpec) -> None:
    if not registered.preprocessing_matches(encoder.spec):
        warnings.warn(
            f"{registered.name}: the checkpoint's files differ from the registered spec "
            f"(registered {registered.model_dump()}, loaded {encoder.spec.model_dump()}); "
            "using the checkpoint's files",
            stacklevel=3,
        )


def _load_dir(path: Path, name: str, device: str | torch.device) -> HFDualEncoder:
    config = path / "config.json"
    if not config.is_file():
        raise ModelUnavailableError(
            f"{name}: directory {str(path)!r} holds no config.json, so it is not a saved "
            "transformers checkpoint (expected config.json, model weights, tokenizer files "
            "and preprocessor_config.json, as written by save_pretrained / save_tiny)",
            name,
        )
    adapter = ENCODERS.get(_read_arch(config, name))
    return _from_pretrained(adapter, str(path), name=name, device=device, local_files_only=True)


def _use_cache_only(
    repo_id: str,
    name: str,
    cached: bool,
    local_files_only: bool | None,
    cache_dir: str | Path | None,
) -> bool:
    """Whether to load with ``local_files_only=True``; raises when that cannot work.

    Cached files are used without any request unless ``local_files_only=False`` asks
    for a refresh and the hub answers the probe; uncached files need offline mode off
    and a reachable hub.
    """
    if local_files_only or _is_offline():
        if not cached:
            reason = (
                "local_files_only=True and the files are not cached"
                if local_files_only
                else "offline mode is on (HF_HUB_OFFLINE) and the files are not cached"
            )
            raise _unavailable(name, repo_id, reason, cache_dir)
        return True
    if cached and local_files_only is None:
        return True
    if hub_reachable():
        return False
    if cached:  # a refresh was asked for, but the hub cannot answer: use the cache
        return True
    host, port = _probe_target()
    raise _unavailable(name, repo_id, f"the hub ({host}:{port}) is unreachable", cache_dir)


def _load_hub(
    repo_id: str,
    name: str,
    registered: PretrainedSpec | None,
    *,
    local_files_only: bool | None,
    cache_dir: str | Path | None,
    device: str | torch.device,
) -> HFDualEncoder:
    cached = _hub_cached(repo_id, cache_dir)
    offline = _use_cache_only(repo_id, name, cached, local_files_only, cache_dir)
    hub = {"cache_dir": cache_dir, "local_files_only": offline}
    if registered is not None:
        adapter = ENCODERS.get(registered.arch)
    else:
        try:
            config_file = transformers.utils.cached_file(repo_id, "config.json", **hub)
        except OSError as err:
            raise _unavailable(name, repo_id, str(err).splitlines()[0], cache_dir) from err
        adapter = ENCODERS.get(_read_arch(Path(config_file), name))
    encoder = _from_pretrained(adapter, repo_id, name=name, device=device, **hub)
    if registered is not None:
        _check_against_registry(encoder, registered)
    return encoder


def _resolve(name_or_path: str | Path) -> tuple[str, PretrainedSpec | None, Path | None]:
    """``(name, registered spec or None, local directory or None)``."""
    name = str(name_or_path)
    if isinstance(name_or_path, str) and name in PRETRAINED:
        return name, PRETRAINED.get(name), None
    path = Path(name).expanduser()
    if path.is_dir():
        return name, None, path
    if path.exists():
        raise ModelUnavailableError(
            f"{name!r} is a file; expected a checkpoint directory.{_WAYS_OUT}", name
        )
    looks_like_path = (
        isinstance(name_or_path, Path)
        or name.startswith(("/", ".", "~"))
        or name.count("/") > 1
        or (os.sep != "/" and os.sep in name)
    )
    if looks_like_path:
        raise ModelUnavailableError(f"no such directory: {name!r}.{_WAYS_OUT}", name)
    if not _HUB_ID.match(name) or ".." in name:
        raise ModelUnavailableError(
            f"{name!r} is neither a registered encoder ({', '.join(PRETRAINED.names())}), "
            f"an existing directory, nor a hub id (owner/name).{_WAYS_OUT}",
            name,
        )
    return name, None, None


def load_encoder(
    name_or_path: str | Path,
    *,
    local_files_only: bool | None = None,
    cache_dir: str | Path | None = None,
    device: str | torch.device = "cpu",
) -> ImageTextEncoder:
    """Load an image–text encoder.

    Args:
        name_or_path: a registered name (:func:`~videoqa.encoders.registry.list_encoders`,
            e.g. ``"openai/clip-vit-base-patch32"`` or the offline preset ``"tiny"``), any
            Hugging Face hub id of a CLIP/SigLIP checkpoint, or a local directory written
            by ``save_pretrained`` / :func:`~videoqa.encoders.tiny.save_tiny` (the
            architecture is read from ``config.json``'s ``model_type``).
        local_files_only: ``True``: never use the network; ``None`` (default): use the
            cache when the files are there, else download when the hub is reachable;
            ``False``: like ``None`` but also ask the hub for a newer revision of cached
            files when it is reachable. Ignored for presets and directories.
        cache_dir: Hugging Face hub cache to use instead of the default
            (``HF_HUB_CACHE``).
        device: torch device of the forward passes.

    Returns:
        a CLIP or SigLIP adapter; ``pretrained`` is ``False`` for the offline presets
        and for directories saved from them.

    Raises:
        ModelUnavailableError: not cached and not downloadable (offline, hub unreachable,
            unknown repository), a directory without ``config.json``, or a ``model_type``
            that is not ``clip``/``siglip``. Uncached hub ids fail in about a second
            (the reachability probe) or at once when offline.
    """
    name, registered, path = _resolve(name_or_path)
    if registered is not None and registered.source is None and name in OFFLINE_PRESETS:
        return build_tiny(name, device=device)
    if path is not None:
        return _load_dir(path, name, device)
    repo_id = registered.source if registered is not None else name
    return _load_hub(
        repo_id,
        name,
        registered,
        local_files_only=local_files_only,
        cache_dir=cache_dir,
        device=device,
    )


def is_available(
    name_or_path: str | Path,
    *,
    cache_dir: str | Path | None = None,
    allow_download: bool = False,
) -> bool:
    """Whether :func:`load_encoder` can load ``name_or_path``.

    Cheap: looks at files only (offline presets: always; directories: ``config.json`` and
    a weights file; hub ids: ``config.json`` and a weights file in the HF cache). With
    ``allow_download=True`` an uncached hub id also counts when offline mode is off and
    the hub endpoint answers a TCP probe (at most ~2 s; whether the repository exists is
    not checked). Never downloads and never raises for bad names (returns ``False``).
    """
    try:
        name, registered, path = _resolve(name_or_path)
    except ModelUnavailableError:
        return False
    if registered is not None and registered.source is None:
        return name in OFFLINE_PRESETS
    if path is not None:
        return (path / "config.json").is_file() and any((path / f).is_file() for f in WEIGHT_FILES)
    repo_id = registered.source if registered is not None else name
    if _hub_cached(repo_id, cache_dir):
        return True
    return allow_download and not _is_offline() and hub_reachable()
