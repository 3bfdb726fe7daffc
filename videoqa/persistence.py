"""One persistence layer for every model videoqa trains: ``config.json`` + safetensors,
written atomically, loaded from a folder or a hub id, with one typed error.

A saved model is a folder::

    config.json          {"model_type": "vgt", "format_version": 1,
                          "model_class": "videoqa.models.vgt.modeling:VGTModel",
                          ...the fields of the model's pydantic config}
    model.safetensors    the state dict (tensors only, no pickle), metadata
                         {"format": "pt", "model_type": ..., "format_version": ...}
    <extra parts>        what a class declares in ``extra_parts`` (SGVLM: ``llm/``,
                         the feature teacher: ``tokenizer.json``)

Every persisted class derives from :class:`PretrainedMixin`, sets ``model_type`` and
``config_class``, and so registers itself in :data:`PERSISTED`; :func:`load_pretrained`
reads ``model_type`` and dispatches there. Writing goes through
:func:`write_dir_atomic` (``<name>.tmp`` + fsync + rename swap), so a failed or killed
write leaves the previous checkpoint in place. Everything that goes wrong while loading
raises :class:`~videoqa.errors.CheckpointError` (exit code 4).

Why not ``huggingface_hub.PyTorchModelHubMixin``: it captures ``__init__`` arguments as
the config (our models take a typed pydantic config, SGVLM an LLM object), records no
``model_type``, writes in place (no atomic swap), and still reads ``pytorch_model.bin``
with pickle; its hub download is all we take (:func:`resolve_checkpoint` uses
``huggingface_hub.snapshot_download``).

Format versions: 1 = this layout. 0 = checkpoints written before it (no
``format_version``): the backbones, the CNN frame encoder and the feature teacher
already wrote ``model_type`` and load as they are; the localizer, SGVLM and the
scene-graph predictor wrote none, and load through their own class
(``FrameLocalizer.from_pretrained``), or through :func:`load_pretrained` when exactly one
imported class that accepts untyped checkpoints validates the config.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
from pydantic import BaseModel, ValidationError

from videoqa.errors import CheckpointError, ModelUnavailableError, UsageError
from videoqa.registry import Registry

__all__ = [
    "CONFIG_FILE",
    "FORMAT_VERSION",
    "PERSISTED",
    "WEIGHTS_FILE",
    "PretrainedMixin",
    "load_pretrained",
    "list_model_types",
    "read_checkpoint_config",
    "resolve_checkpoint",
    "write_dir_atomic",
]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
#: layout version written into ``config.json``; a newer one is refused.
FORMAT_VERSION = 1
#: keys of ``config.json`` that are not config fields.
RESERVED_KEYS = ("model_type", "format_version", "model_class")

M = TypeVar("M", bound="PretrainedMixin")

#: every persisted class, by ``model_type`` (classes register themselves on definition).
PERSISTED: Registry[type[PretrainedMixin]] = Registry("model_type")


# ---------------------------------------------------------------------------- writing
def write_dir_atomic(
    directory: Path,
    write: Callable[[Path], None],
    *,
    keep: Callable[[str], bool] | None = None,
) -> None:
    """Fill a folder atomically.

    ``write(<name>.tmp)`` fills a fresh sibling folder; its files and folders are
    fsynced; then renames swap it in (``<name>`` → ``<name>.old``, ``<name>.tmp`` →
    ``<name>``, ``.old`` removed) and the parent folder is fsynced. A kill at any point
    leaves one complete folder, ``<name>`` or ``<name>.old``; a stale ``.tmp`` is
    cleared first; when ``write`` raises, the ``.tmp`` is removed and ``<name>`` is
    untouched. An existing *file* at ``<name>`` is replaced the same way.

    Args:
        directory: the final folder (its parent is created).
        write: fills the folder it is given (which exists and is empty).
        keep: entries of the existing ``<name>`` for which ``keep(entry_name)`` is true
            and that ``write`` did not create are moved into the new folder just before
            the swap (e.g. a training report next to a model); None = replace all.

    Raises:
        UsageError: ``directory`` is the working directory or one of its parents.
        Whatever ``write`` raises.
    """
    directory = Path(os.path.abspath(directory))
    if Path.cwd() == directory or directory in Path.cwd().parents:
        raise UsageError(f"cannot replace {directory}: it holds the working directory")
    tmp = directory.with_name(directory.name + ".tmp")
    old = directory.with_name(directory.name + ".old")
    _remove(tmp)
    tmp.mkdir(parents=True)
    try:
        write(tmp)
        _fsync_tree(tmp)
    except BaseException:
        _remove(tmp)
        raise
    if keep is not None and directory.is_dir():
        for entry in sorted(directory.iterdir()):
            if keep(entry.name) and not (tmp / entry.name).exists():
                os.replace(entry, tmp / entry.name)
    if directory.exists():
        _remove(old)
        os.replace(directory, old)
    os.replace(tmp, directory)
    _remove(old)
    _fsync_dir(directory.parent)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
        elif path.is_dir():
            _fsync_dir(path)
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse directory fsync
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- reading
def resolve_checkpoint(
    name_or_path: str | Path,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
) -> Path:
    """The local folder of a checkpoint: ``name_or_path`` itself when it is a folder,
    else the snapshot of the hub repository ``name_or_path`` (``owner/name``) from
    ``huggingface_hub.snapshot_download`` — served from the local cache when it is
    there, so cached models load offline (``HF_HUB_OFFLINE=1`` never touches the net).

    Raises:
        CheckpointError: a file instead of a folder, a missing folder whose name is no
            valid repository id, or a repository that is neither cached nor
            downloadable.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise CheckpointError(
            f"{path} is a file; a checkpoint is a folder ({CONFIG_FILE} + {WEIGHTS_FILE})",
            model=str(name_or_path),
        )
    repo_id = str(name_or_path)
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise CheckpointError(
            f"no checkpoint folder {path} (and {repo_id!r} is not a hub repository id)",
            model=repo_id,
        ) from None
    from huggingface_hub import errors as hub_errors
    from huggingface_hub import snapshot_download

    hub_failures = (OSError, ValueError, getattr(hub_errors, "HTTPError", OSError))
    try:
        local = snapshot_download(
            repo_id,
            revision=revision,
            cache_dir=None if cache_dir is None else str(cache_dir),
            local_files_only=local_files_only,
        )
    except hub_failures as err:  # offline, not cached, unknown or gated repository
        raise CheckpointError(
            f"{repo_id!r} is not a local folder and could not be fetched from the hub "
            f"or its cache ({type(err).__name__}: {err}); pass a checkpoint folder, or "
            "download the repository on a connected machine first",
            model=repo_id,
        ) from None
    return Path(local)


def read_checkpoint_config(directory: str | Path) -> dict[str, Any]:
    """The ``config.json`` of a checkpoint folder as a dict (reserved keys included).

    Raises:
        CheckpointError: no such folder or file, invalid JSON, not a JSON object.
    """
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(
            f"{directory} is not a model checkpoint (no {CONFIG_FILE})", model=str(directory)
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: unreadable JSON ({err})", model=str(directory)) from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: expected a JSON object", model=str(directory))
    version = raw.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format_version {version!r} is newer than this videoqa reads "
            f"({FORMAT_VERSION}); upgrade videoqa",
            model=str(directory),
        )
    return raw


def list_model_types() -> list[str]:
    """Sorted ``model_type`` names of the persisted classes imported so far."""
    return PERSISTED.names()


def load_pretrained(
    name_or_path: str | Path,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
    **options: Any,
) -> PretrainedMixin:
    """Load any saved model: the class is the one its ``config.json`` names.

    The class is looked up in :data:`PERSISTED`; when its module has not been imported
    yet, the ``model_class`` recorded in the checkpoint (a module inside the ``videoqa``
    package, nothing else) is imported first.

    Args:
        name_or_path: a checkpoint folder or a hub repository id.
        revision, cache_dir, local_files_only: for hub ids (:func:`resolve_checkpoint`).
        options: passed on to the class's loader (e.g. the feature teacher's
            ``device``).

    Raises:
        CheckpointError: see :meth:`PretrainedMixin.from_pretrained`; also an unknown
            ``model_type``.
    """
    directory = resolve_checkpoint(
        name_or_path, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only
    )
    raw = read_checkpoint_config(directory)
    return _class_of(directory, raw)._load(directory, raw, **options)


def _class_of(directory: Path, raw: dict[str, Any]) -> type[PretrainedMixin]:
    model_type = raw.get("model_type")
    if model_type is None:
        return _untyped_class(directory, raw)
    if not isinstance(model_type, str):
        raise CheckpointError(f"{directory}: model_type must be a string", model=str(directory))
    if model_type not in PERSISTED:
        _import_recorded_module(raw.get("model_class"))
    if model_type not in PERSISTED:
        known = ", ".join(PERSISTED.names()) or "(none imported)"
        raise CheckpointError(
            f"{directory}: unknown model_type {model_type!r}; registered: {known}",
            model=str(directory),
        )
    return PERSISTED.get(model_type)


def _import_recorded_module(model_class: object) -> None:
    if not isinstance(model_class, str) or not model_class.startswith("videoqa."):
        return
    try:
        importlib.import_module(model_class.partition(":")[0])
    except ImportError:
        pass  # reported as an unknown model_type


def _untyped_class(directory: Path, raw: dict[str, Any]) -> type[PretrainedMixin]:
    """A format-0 checkpoint without ``model_type``: the one imported class accepting
    untyped checkpoints whose config validates (configs forbid unknown fields)."""
    fields = {k: v for k, v in raw.items() if k not in RESERVED_KEYS}
    fits = []
    for name in PERSISTED.names():
        cls = PERSISTED.get(name)
        if not cls.untyped_legacy:
            continue
        try:
            cls.config_class.model_validate(fields)
        except ValidationError:
            continue
        if all((directory / part).exists() for part in cls.extra_parts):
            fits.append(cls)
    if len(fits) != 1:
        names = ", ".join(c.model_type for c in fits) or "none"
        raise CheckpointError(
            f"{directory}: {CONFIG_FILE} names no model_type (an old checkpoint) and "
            f"matching it to a class gave {names}; load it with its class's "
            "from_pretrained (e.g. FrameLocalizer.from_pretrained)",
            model=str(directory),
        )
    return fits[0]


def _read_weights(path: Path, where: str) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise CheckpointError(f"{where}: no {path.name}", model=where)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(
            f"{path}: not a readable safetensors file (truncated or corrupt: {err})", model=where
        ) from None


def _tensors_to_save(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU tensors; a tensor whose storage another one shares (tied
    weights) is copied, as safetensors stores each storage once."""
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for key, value in state.items():
        tensor = value.detach().cpu()
        ptr = tensor.untyped_storage().data_ptr() if tensor.numel() else -1
        if ptr in seen or not tensor.is_contiguous():
            tensor = tensor.clone(memory_format=torch.contiguous_format)
        elif ptr != -1:
            seen.add(ptr)
        out[key] = tensor
    return out


# ---------------------------------------------------------------------------- the mixin
class PretrainedMixin:
    """Save/load of a model with a typed config: the one implementation.

    A persisted class sets two class attributes and is registered in
    :data:`PERSISTED` by defining them (``model_type`` in its own class body):

    - ``model_type``: the registry name written into ``config.json``;
    - ``config_class``: its pydantic config (``self.config`` is an instance).

    Its instances offer ``config``, ``state_dict()`` and ``load_state_dict(state,
    strict=False)`` (``nn.Module`` has both; a wrapper forwards them).

    Options (class attributes):

    - ``extra_parts``: names of the files/folders the class writes beside
      ``config.json`` and ``model.safetensors``; loading refuses a checkpoint lacking one.
    - ``external_prefixes``: state-dict key prefixes kept in an extra part instead of
      ``model.safetensors`` (SGVLM: ``"llm."``, saved with ``transformers`` under
      ``llm/``).
    - ``untyped_legacy``: format-0 checkpoints of this class wrote no ``model_type``;
      accept them.

    The extension point, for classes with extra parts (the LLM and its tokenizer, a
    word tokenizer): override :meth:`save_extra_parts` (write them) and
    :meth:`build_for_loading` (construct the object from the config and those parts).
    Nothing else about saving or loading is ever re-implemented.
    """

    model_type: ClassVar[str] = ""
    config_class: ClassVar[type[BaseModel]] = BaseModel
    extra_parts: ClassVar[tuple[str, ...]] = ()
    external_prefixes: ClassVar[tuple[str, ...]] = ()
    untyped_legacy: ClassVar[bool] = False

    config: BaseModel

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("model_type")
        if not name:
            return
        clash = set(RESERVED_KEYS) & set(cls.config_class.model_fields)
        if clash:
            raise TypeError(f"{cls.__name__}.config_class uses reserved keys {sorted(clash)}")
        PERSISTED.register(name, cls)

    # ---- extension point -------------------------------------------------------------
    def save_extra_parts(self, directory: Path) -> None:
        """Write the parts named in ``extra_parts`` into ``directory`` (the staging
        folder of the atomic write). Default: none."""

    @classmethod
    def build_for_loading(cls: type[M], config: BaseModel, directory: Path, **options: Any) -> M:
        """A new instance for ``config`` whose weights are about to be overwritten,
        built with the extra parts found in ``directory``. Default: ``cls(config)``.

        Raises:
            CheckpointError: an extra part cannot be read.
        """
        if options:
            raise UsageError(f"{cls.__name__} takes no loading options, got {sorted(options)}")
        return cls(config)  # type: ignore[call-arg]

    # ---- saving ----------------------------------------------------------------------
    def checkpoint_config(self) -> dict[str, Any]:
        """What ``config.json`` holds: the reserved keys, then the config fields."""
        cls = type(self)
        return {
            "model_type": cls.model_type,
            "format_version": FORMAT_VERSION,
            "model_class": f"{cls.__module__}:{cls.__qualname__}",
            **self.config.model_dump(mode="json"),
        }

    def persisted_state(self) -> dict[str, torch.Tensor]:
        """The state dict written to ``model.safetensors`` (``external_prefixes``
        left out)."""
        return {
            k: v
            for k, v in self.state_dict().items()  # type: ignore[attr-defined]
            if not k.startswith(self.external_prefixes)
        }

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the checkpoint folder atomically (see :func:`write_dir_atomic`).

        Files in an existing ``directory`` that are no part of a checkpoint (a training
        report, ``metrics.json``) are kept; ``config.json``, ``model.safetensors`` and
        the class's ``extra_parts`` are replaced as one.

        Returns:
            ``directory``.
        """
        cls = type(self)
        if not cls.model_type:
            raise UsageError(f"{cls.__name__} has no model_type: it cannot be saved")
        owned = {CONFIG_FILE, WEIGHTS_FILE, *cls.extra_parts}
        meta = {
            "format": "pt",
            "model_type": cls.model_type,
            "format_version": str(FORMAT_VERSION),
        }

        def write(tmp: Path) -> None:
            from safetensors.torch import save_file

            text = json.dumps(self.checkpoint_config(), indent=2) + "\n"
            (tmp / CONFIG_FILE).write_text(text, encoding="utf-8")
            save_file(_tensors_to_save(self.persisted_state()), str(tmp / WEIGHTS_FILE), meta)
            self.save_extra_parts(tmp)

        write_dir_atomic(Path(directory), write, keep=lambda name: name not in owned)
        return Path(directory)

    # ---- loading ---------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls: type[M],
        name_or_path: str | Path,
        *,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        local_files_only: bool = False,
        **options: Any,
    ) -> M:
        """Load a checkpoint written by :meth:`save_pretrained` (an ``nn.Module`` comes
        back in eval mode, on the CPU unless ``options`` say otherwise).

        Called on a base class without ``model_type`` (``VideoQAModel``), it loads
        whichever registered subclass the checkpoint names.

        Args:
            name_or_path: a checkpoint folder or a hub repository id.
            revision, cache_dir, local_files_only: for hub ids (:func:`resolve_checkpoint`).
            options: for :meth:`build_for_loading` (e.g. ``device``).

        Raises:
            CheckpointError: missing folder/files (not cached or downloadable for a hub
                id), a checkpoint of another ``model_type``, an invalid config, a
                truncated or unreadable ``model.safetensors``, or weights whose names or
                shapes do not match the config.
        """
        directory = resolve_checkpoint(
            name_or_path, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only
        )
        raw = read_checkpoint_config(directory)
        target: type[M] = cls
        if not cls.model_type:
            target = _class_of(directory, raw)  # type: ignore[assignment]
            if not issubclass(target, cls):
                raise CheckpointError(
                    f"{directory} holds a {target.model_type!r} checkpoint, not a {cls.__name__}",
                    model=str(directory),
                )
        return target._load(directory, raw, **options)

    @classmethod
    def _load(
        cls: type[M], directory: Path, raw: dict[str, Any] | None = None, **options: Any
    ) -> M:
        where = str(directory)
        raw = read_checkpoint_config(directory) if raw is None else raw
        found = raw.get("model_type")
        if found != cls.model_type and not (found is None and cls.untyped_legacy):
            raise CheckpointError(
                f"{where} holds a {found!r} checkpoint, not a {cls.model_type} checkpoint",
                model=where,
            )
        fields = {k: v for k, v in raw.items() if k not in RESERVED_KEYS}
        try:
            config = cls.config_class.model_validate(fields)
        except ValidationError as err:
            raise CheckpointError(
                f"{where}: invalid {cls.model_type} config: {err}", model=where
            ) from None
        missing = [p for p in cls.extra_parts if not (directory / p).exists()]
        if missing:
            raise CheckpointError(f"{where}: missing {', '.join(missing)}", model=where)
        state = _read_weights(directory / WEIGHTS_FILE, where)
        try:
            obj = cls.build_for_loading(config, directory, **options)
        except CheckpointError:
            raise
        except ModelUnavailableError as err:
            raise CheckpointError(f"{where}: {err}", model=where) from err
        obj._load_persisted_state(state, where)
        if isinstance(obj, torch.nn.Module):
            obj.eval()
        return obj

    def load_weights(self, name_or_path: str | Path) -> None:
        """Copy the weights of a saved checkpoint of this ``model_type`` into this object,
        in place (e.g. a training loop restoring its best epoch); the config is not
        compared, the tensor names and shapes are.

        Raises:
            CheckpointError: as :meth:`from_pretrained`, and a checkpoint of another
                ``model_type``.
        """
        directory = resolve_checkpoint(name_or_path)
        where = str(directory)
        found = read_checkpoint_config(directory).get("model_type")
        if found != type(self).model_type and not (found is None and self.untyped_legacy):
            raise CheckpointError(
                f"{where} holds a {found!r} checkpoint, not a {type(self).model_type} one",
                model=where,
            )
        self._load_persisted_state(_read_weights(directory / WEIGHTS_FILE, where), where)

    def _load_persisted_state(self, state: dict[str, torch.Tensor], where: str) -> None:
        """Check names and shapes against the freshly built object, then copy.

        Raises:
            CheckpointError: missing, unexpected or mis-shaped tensors.
        """
        expected = self.persisted_state()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        shapes = [
            f"{k}: saved {tuple(state[k].shape)}, config {tuple(v.shape)}"
            for k, v in expected.items()
            if k in state and tuple(state[k].shape) != tuple(v.shape)
        ]
        if missing or unexpected or shapes:
            problems = [
                f"missing {missing[:4]}" if missing else "",
                f"unexpected {unexpected[:4]}" if unexpected else "",
                f"shapes {shapes[:4]}" if shapes else "",
            ]
            raise CheckpointError(
                f"{where}: weights do not match the config: " + "; ".join(p for p in problems if p),
                model=where,
            )
        self.load_state_dict(state, strict=False)  # type: ignore[attr-defined]
