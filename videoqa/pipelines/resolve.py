"""One resolver from a model spec to a ready answering pipeline, for ``videoqa ask``,
``videoqa eval --model``, the Python API (:class:`videoqa.VideoQA`) and the server.

In the manner of open_clip's ``parse_model_name`` / ``create_model_and_transforms``
(one library function maps ``hf-hub:`` ids and local folders to the model *with its
preprocessing*), :func:`resolve` turns a spec into an :class:`Answerer` that decodes,
samples and encodes a video exactly as the model needs and returns a typed
:class:`~videoqa.pipelines.schema.AskResult`:

==============================  ===========================================================
spec                            answers with
==============================  ===========================================================
``auto`` (default)              the zero-shot image–text pipeline with
                                ``openai/clip-vit-base-patch32`` when it is cached or
                                downloadable, else the random ``tiny`` preset with a warning
``tiny``, ``tiny-siglip``       the zero-shot pipeline with a random-weight preset (offline)
``owner/name``, ``hf-hub:ID``   the zero-shot pipeline with a CLIP/SigLIP hub checkpoint
``hga:DIR`` ``vgt:DIR``         a trained backbone (``runs/NAME/checkpoints/best``) with the
``transformer:DIR``             frame encoder, sampler and frame count it was trained on
                                (:mod:`videoqa.pipelines.backbone`); ``DIR`` may also be a
                                hub id holding that layout
``sgvlm:DIR``                   a trained SGVLM with its frame encoder and scene-graph
                                predictor (:mod:`videoqa.pipelines.sgvlm`)
``mcg:DIR``                     a trained MCG, end to end on pixels
                                (:mod:`videoqa.pipelines.mcg`)
``DIR``                         whichever of the above its files say: ``model/`` +
                                ``tokenizer.json`` (backbone), ``config.json`` + ``llm/``
                                (SGVLM), ``config.json`` of model_type ``mcg`` (MCG), or
                                a saved CLIP/SigLIP folder
==============================  ===========================================================

A spec that names nothing loadable raises
:class:`~videoqa.errors.ModelUnavailableError` (exit code 4) saying what was expected;
invalid options raise :class:`~videoqa.errors.UsageError` (exit code 2).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from videoqa.errors import ModelUnavailableError, UsageError
from videoqa.pipelines.ask import AskRun

__all__ = [
    "Answerer",
    "ModelSpec",
    "ResolveOptions",
    "list_schemes",
    "parse_spec",
    "resolve",
]

SGVLM = "sgvlm"
MCG = "mcg"
HF_HUB = "hf-hub"
AUTO = "auto"
Kind = Literal["zero-shot", "backbone", "sgvlm", "mcg"]


@runtime_checkable
class Answerer(Protocol):
    """What :func:`resolve` returns: ``answerer(video, question, choices_or_None) ->
    AskRun``.

    Attributes:
        name: what answered (recorded in results and prediction files).
        pretrained: whether real (non-random) weights produced the answer.
        warnings: what the user must be told about this model; also in every result.
        settings: JSON-ready options that change the answers (frames, sampler, top-k,
            frame encoder, ...), for a prediction file's settings record.
    """

    name: str
    pretrained: bool
    warnings: list[str]

    @property
    def settings(self) -> dict[str, object]: ...

    def __call__(
        self, video: str | Path, question: str, choices: Sequence[str] | None = None
    ) -> AskRun: ...


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec.

    Attributes:
        spec: the spec as given.
        kind: ``zero-shot`` (image–text encoder), ``backbone`` or ``sgvlm``.
        arch: the architecture (``vgt``, ``sgvlm``; for a bare backbone folder None:
            read from its ``model/config.json``), None for zero-shot.
        target: what is loaded: a folder, a hub id or an encoder preset name.
    """

    spec: str
    kind: Kind
    arch: str | None
    target: str


class ResolveOptions(BaseModel):
    """Options of :func:`resolve` (the ``ask`` / ``eval`` flags map onto these).

    Attributes:
        frames, sampler, sampler_options: how many frames and which sampler. The
            zero-shot pipeline uses them (default 16, ``uniform``); a trained model
            answers from the preprocessing it was trained with, and a differing request
            becomes a warning.
        top_k: evidence frames per answer.
        grid: N of an N×N grid view (zero-shot pipeline only).
        vocabulary: candidates of open-ended questions (default: the bundled list).
        answers: a vocabulary file to read them from instead.
        device: torch device of the models.
        batch_size: frames per frame-encoder forward pass.
        cache_size: prepared videos kept for further questions.
        triplets_per_frame: scene-graph facts per SGVLM evidence frame.
    """

    model_config = ConfigDict(extra="forbid")

    frames: int | None = Field(None, ge=1, le=1024)
    sampler: str | None = None
    sampler_options: dict[str, float | int] = Field(default_factory=dict)
    top_k: int = Field(4, ge=1)
    grid: int = Field(0, ge=0, le=8)
    vocabulary: list[str] | None = None
    answers: Path | None = None
    device: str = "cpu"
    batch_size: int = Field(32, ge=1)
    cache_size: int = Field(8, ge=0)
    triplets_per_frame: int = Field(3, ge=0)


def list_schemes() -> list[str]:
    """The ``arch:`` prefixes a spec may start with: every registered backbone,
    ``sgvlm`` and ``hf-hub``."""
    from videoqa.models import list_models

    return sorted({*list_models(), SGVLM, MCG, HF_HUB})


def _expected_layouts() -> str:
    return (
        "a trained backbone (model/ + tokenizer.json + preprocessing.json, as in "
        "runs/NAME/checkpoints/best), an SGVLM checkpoint (config.json + llm/), or a saved "
        "CLIP/SigLIP folder (config.json, weights, tokenizer, preprocessor_config.json)"
    )


def _folder_kind(path: Path) -> tuple[Kind, str | None]:
    """What a checkpoint folder holds, from its files.

    Raises:
        ModelUnavailableError: none of the known layouts.
    """
    from videoqa.pipelines.backbone import find_backbone_checkpoint

    if find_backbone_checkpoint(path) is not None:
        return "backbone", None
    config = path / "config.json"
    model_type = None
    if config.is_file():
        try:
            raw = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raw = {}
        model_type = raw.get("model_type") if isinstance(raw, dict) else None
        if model_type == SGVLM or (path / "llm").is_dir():
            return "sgvlm", SGVLM
        if model_type == MCG:
            return "mcg", MCG
        if model_type in ("clip", "siglip"):
            return "zero-shot", None
    hint = ""
    if model_type is not None:
        hint = (
            f" ({path} holds a {model_type!r} model without the files around it that "
            "answering needs; point at the checkpoint folder above model/)"
        )
    raise ModelUnavailableError(
        f"{path} is not a checkpoint videoqa can answer with: expected {_expected_layouts()}"
        f"{hint}. Other ways out: --model tiny (offline, random weights) or a cached hub id.",
        model=str(path),
    )


def parse_spec(spec: str) -> ModelSpec:
    """Parse a model spec (see the module docstring).

    Raises:
        ModelUnavailableError: an empty spec, an unknown ``arch:`` prefix, a prefix
            without a checkpoint, or a folder of no known layout.
    """
    text = spec.strip()
    if not text:
        raise ModelUnavailableError("the model spec is empty; try --model tiny", model=spec)
    path = Path(text).expanduser()
    scheme, sep, rest = text.partition(":")
    if sep and not path.exists() and "/" not in scheme:
        return _parse_prefixed(text, scheme, rest.strip())
    if path.is_dir():
        kind, arch = _folder_kind(path)
        return ModelSpec(text, kind, arch, text)
    return ModelSpec(text, "zero-shot", None, text)  # a preset, a hub id, or a missing folder


def _parse_prefixed(text: str, scheme: str, rest: str) -> ModelSpec:
    schemes = list_schemes()
    if scheme not in schemes:
        extra = ""
        if scheme == "cnn":
            extra = " (cnn:DIR names a frame encoder, which features are extracted with, not a model that answers)"
        raise ModelUnavailableError(
            f"unknown model prefix {scheme + ':'!r} in {text!r}{extra}; known prefixes: "
            f"{', '.join(s + ':' for s in schemes)}, or give a folder, a hub id, 'tiny' or "
            "'auto'",
            model=text,
        )
    if not rest:
        raise ModelUnavailableError(
            f"{text!r} names no checkpoint: write {scheme}:DIR (e.g. "
            f"{scheme}:runs/NAME/checkpoints/best)",
            model=text,
        )
    if scheme == HF_HUB:
        return ModelSpec(text, "zero-shot", None, rest)
    if scheme == SGVLM:
        return ModelSpec(text, "sgvlm", SGVLM, rest)
    if scheme == MCG:
        return ModelSpec(text, "mcg", MCG, rest)
    return ModelSpec(text, "backbone", scheme, rest)


def _local_folder(target: str, spec: str) -> Path:
    """``target`` as a folder: itself, or the snapshot of a hub repository holding it.

    Raises:
        ModelUnavailableError: neither a folder nor a cached/downloadable hub repository.
    """
    path = Path(target).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ModelUnavailableError(f"{spec}: {target} is a file, not a checkpoint folder", spec)
    if target.count("/") == 1 and not target.startswith((".", "/", "~")):
        from videoqa.persistence import resolve_checkpoint

        return resolve_checkpoint(target)
    raise ModelUnavailableError(
        f"{spec}: no such checkpoint folder {target!r}; expected {_expected_layouts()}", spec
    )


def _options(options: dict[str, object]) -> ResolveOptions:
    try:
        return ResolveOptions(**options)
    except ValidationError as err:
        raise UsageError(f"invalid model options: {err}") from None


def resolve(spec: str = AUTO, **options: object) -> Answerer:
    """A ready answering pipeline for ``spec`` (see the module docstring).

    Args:
        spec: ``auto``, ``tiny``, a hub id, ``hf-hub:ID``, ``ARCH:DIR`` or a folder.
        options: :class:`ResolveOptions` fields.

    Returns:
        an :class:`Answerer`; its ``warnings`` say what the user must know (a fallback
        to random weights, a checkpoint trained on random-encoder features, options the
        model cannot honour).

    Raises:
        ModelUnavailableError: the spec names nothing loadable here (exit code 4).
        UsageError: invalid options, an unreadable ``answers`` file.
    """
    opts = _options(options)
    parsed = parse_spec(spec)
    vocabulary = opts.vocabulary
    if vocabulary is None and opts.answers is not None:
        from videoqa.pipelines.vocabulary import load_answer_vocabulary

        vocabulary = load_answer_vocabulary(opts.answers)
    if parsed.kind == "zero-shot":
        return _zero_shot(parsed, opts, vocabulary)
    folder = _local_folder(parsed.target, parsed.spec)
    if parsed.kind == "sgvlm":
        return _sgvlm(parsed, folder, opts)
    if parsed.kind == "mcg":
        return _mcg(parsed, folder, opts)
    from videoqa.pipelines.backbone import BackboneAnswerer

    answerer = BackboneAnswerer(
        folder,
        arch=parsed.arch,
        name=parsed.spec if parsed.arch else None,
        top_k=opts.top_k,
        frames=opts.frames,
        sampler=opts.sampler,
        vocabulary=vocabulary,
        batch_size=opts.batch_size,
        device=opts.device,
        cache_size=opts.cache_size,
    )
    answerer.warnings.extend(_unused_grid(opts, answerer.model.model_type))
    return answerer


def _zero_shot(parsed: ModelSpec, opts: ResolveOptions, vocabulary: list[str] | None) -> Answerer:
    from videoqa.pipelines.ask import AskConfig, AskPipeline
    from videoqa.pipelines.models import resolve_encoder

    config = AskConfig(
        frames=opts.frames or 16,
        sampler=opts.sampler or "uniform",
        sampler_options=opts.sampler_options,
        top_k=opts.top_k,
        grid=opts.grid,
        batch_size=opts.batch_size,
    )
    resolved = resolve_encoder(parsed.target, device=opts.device)
    return AskPipeline(
        resolved.encoder, config, vocabulary, cache_size=opts.cache_size, warnings=resolved.warnings
    )


def _ignored_sampling(opts: ResolveOptions, frames: int, sampler: str) -> list[str]:
    """The frame count / sampler the user asked for that a model with a fixed input
    (``frames`` frames from ``sampler``, as in its training) cannot honour."""
    asked = []
    if opts.frames is not None and opts.frames != frames:
        asked.append(f"{opts.frames} frames")
    if opts.sampler is not None and opts.sampler != sampler:
        asked.append(f"the {opts.sampler!r} sampler")
    return asked


def _sgvlm(parsed: ModelSpec, folder: Path, opts: ResolveOptions) -> Answerer:
    from videoqa.pipelines.sgvlm import SGVLMAnswerer

    answerer = SGVLMAnswerer(
        folder,
        triplets_per_frame=opts.triplets_per_frame,
        top_k=opts.top_k,
        name=parsed.spec,
        device=opts.device,
    )
    cfg = answerer.model.config
    asked = _ignored_sampling(opts, cfg.num_frames, "uniform")
    if asked:
        answerer.warnings.append(
            f"{' and '.join(asked)} asked for, but this SGVLM was trained on {cfg.num_frames} "
            "uniformly sampled frames: answering with those"
        )
    answerer.warnings.extend(_unused_grid(opts, SGVLM))
    return answerer


def _mcg(parsed: ModelSpec, folder: Path, opts: ResolveOptions) -> Answerer:
    from videoqa.pipelines.mcg import MCGAnswerer

    answerer = MCGAnswerer(folder, top_k=opts.top_k, name=parsed.spec, device=opts.device)
    cfg = answerer.model.config
    asked = _ignored_sampling(opts, cfg.num_frames, cfg.eval_sampler)
    if asked:
        answerer.warnings.append(
            f"{' and '.join(asked)} asked for, but this MCG answers from {cfg.num_frames} "
            f"{cfg.eval_sampler!r}-sampled frames, as it was evaluated in training: using those"
        )
    answerer.warnings.extend(_unused_grid(opts, MCG))
    return answerer


def _unused_grid(opts: ResolveOptions, arch: str) -> list[str]:
    if not opts.grid:
        return []
    return [f"--grid is a zero-shot view; a {arch} checkpoint answers without it"]
