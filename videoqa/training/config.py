"""Typed training configuration, loaded from YAML with ``--set a.b=value`` overrides.

Every section refuses unknown keys, so a typo in a YAML file or an override is an error
(:class:`~videoqa.errors.UsageError`, exit code 2) instead of a silently ignored
setting. Relative paths are taken relative to the working directory.

Example YAML (see ``videoqa/configs/sparc/*.yaml`` for the shipped ones)::

    data: {benchmark_dir: bench, features_dir: feats, teacher_path: teacher.h5}
    model: {name: hga, config: {hidden_size: 256}}
    optim: {lr: 1.0e-4, warmup_ratio: 0.1}
    recipe: {name: sparc, w_c: 1.0, w_s: 0.5, threshold: 0.4}
    epochs: 10
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from videoqa.errors import UsageError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Section):
    """Where the training data is.

    Attributes:
        dataset: registered dataset name of the benchmark (``videoqa.data``), also
            choosing the evaluation protocol (``videoqa.eval.protocols``).
        benchmark_dir: annotations folder (for ``synthetic``: the ``videoqa synth`` output).
        features_dir: a :class:`~videoqa.features.store.FeatureStore` folder.
        teacher_path: a :class:`~videoqa.features.teacher_store.TeacherStore` (SpARC
            needs one; the baseline ignores it).
        train_split, val_split: split names; test_splits: splits scored at the end.
        max_question_len, max_answer_len: most words kept per question / candidate.
        min_word_count: words seen fewer times in the train split map to ``unk``.
        limit: keep only the first N questions of every split (quick runs), or None.
        use_patches: feed the store's patch/region tokens to the model (``QABatch.patches``;
            VGT's object graph uses them).
    """

    dataset: str = "synthetic"
    benchmark_dir: Path
    features_dir: Path
    teacher_path: Path | None = None
    train_split: str = "train"
    val_split: str = "val"
    test_splits: list[str] = Field(default_factory=lambda: ["test"])
    max_question_len: int = Field(24, ge=1)
    max_answer_len: int = Field(8, ge=1)
    min_word_count: int = Field(1, ge=1)
    limit: int | None = Field(None, ge=1)
    use_patches: bool = False


class ModelSection(_Section):
    """Which backbone: ``name`` in ``videoqa.models.MODELS`` and its config fields.

    ``feature_dim`` and ``vocab_size`` are filled in from the feature store and the
    tokenizer when absent from ``config``.
    """

    name: str = "hga"
    config: dict[str, Any] = Field(default_factory=dict)


class OptimConfig(_Section):
    """AdamW with linear warm-up then cosine decay to zero, and gradient clipping.

    Attributes:
        lr: peak learning rate; weight_decay: AdamW decoupled weight decay.
        warmup_ratio: share of all optimiser steps spent warming up linearly from 0.
        grad_clip: max global L2 norm of the gradients (0 = no clipping).
    """

    lr: float = Field(1e-4, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    grad_clip: float = Field(1.0, ge=0)


class MixupConfig(_Section):
    """Mixup: temporal-guided (``sparc``) or whole-video (``baseline``).

    Attributes:
        enabled: apply it; prob: chance a batch gets the mixup term.
        alpha, beta: ``λ ~ Beta(alpha, beta)``; weight: ``w_m`` of ``L_m``.
    """

    enabled: bool = False
    alpha: float = Field(1.0, gt=0)
    beta: float = Field(1.0, gt=0)
    prob: float = Field(1.0, ge=0, le=1)
    weight: float = Field(1.0, ge=0)


class RecipeConfig(_Section):
    """Options of the training recipe (SpARC §3; the ``baseline`` uses ``mixup`` only).

    Attributes:
        name: recipe name (``baseline`` or ``sparc``); None = taken from the command line.
        temporal_guidance: main term ``L_g`` on the causal frames plus ``w_c·L_c``;
            off: plain CE on the whole video.
        w_c: weight of the consistency loss ``L_c``.
        w_s: weight of the spatial distillation ``L_s`` (0 = off).
        threshold: ``t`` of ``V_c = {f_k | p_{k,a} > t}``.
        fallback_topk: frames kept when none is above ``t``.
        batch_passes: run the forward passes that share shapes as one batch.
        split_backward: back-propagate the spatial and mixup terms right after their
            own forward (before the next pass), so at most the two passes of
            ``L_g + w_c·L_c`` hold activations at once (same gradients, less memory).
        mixup: see :class:`MixupConfig`.
    """

    name: str | None = None
    temporal_guidance: bool = True
    w_c: float = Field(1.0, ge=0)
    w_s: float = Field(1.0, ge=0)
    threshold: float = Field(0.5, ge=0, le=1)
    fallback_topk: int = Field(1, ge=1)
    batch_passes: bool = True
    split_backward: bool = True
    mixup: MixupConfig = Field(default_factory=MixupConfig)


class TrainConfig(_Section):
    """Everything a training run depends on.

    Attributes:
        data, model, optim, recipe: the sections above.
        epochs: passes over the train split; batch_size: questions per step.
        eval_batch_size: questions per evaluation step.
        seed: seeds model init, data order, dropout and the recipes' sampling.
        output_dir: run folder (checkpoints, ``metrics.jsonl``, ``curve.png``).
        log_every: log the train loss every N steps (1 = every step).
        checkpoint_every: also checkpoint every N steps inside an epoch (0 = epoch ends
            only).
        cpu: force the CPU even where an accelerator is present.
    """

    data: DataConfig
    model: ModelSection = Field(default_factory=ModelSection)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    recipe: RecipeConfig = Field(default_factory=RecipeConfig)
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(64, ge=1)
    eval_batch_size: int = Field(256, ge=1)
    seed: int = Field(0, ge=0)
    output_dir: Path = Path("runs/train")
    log_every: int = Field(10, ge=1)
    checkpoint_every: int = Field(0, ge=0)
    cpu: bool = False

    def to_yaml(self) -> str:
        """The config as YAML text (round-trips through :func:`parse_config`)."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"a.b.c=value"`` into ``(["a", "b", "c"], value)``; the value is parsed as
    YAML (``3`` → int, ``0.5`` → float, ``true``, ``[a, b]``, ``null``, else text; numeric
    text such as ``1e-4`` is turned into a number by the typed field it lands in).

    Raises:
        UsageError: no ``=`` or an empty key part.
    """
    key, sep, raw = text.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(p.strip() for p in parts):
        raise UsageError(f"--set expects key.path=value, got {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return [p.strip() for p in parts], value


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with every ``key.path=value`` of ``overrides`` set.

    Raises:
        UsageError: a malformed override, or a path through a non-mapping value.
    """
    out = _deep_copy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = out
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise UsageError(f"--set {text}: {part!r} is not a section")
            node = child
        node[path[-1]] = value
    return out


def _deep_copy(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in raw.items()}


def parse_config(raw: dict[str, Any], overrides: list[str] | None = None) -> TrainConfig:
    """Validate a mapping (plus overrides) into a :class:`TrainConfig`.

    Raises:
        UsageError: unknown keys, wrong types or values, listing the first problems.
    """
    merged = apply_overrides(raw, overrides or [])
    try:
        return TrainConfig.model_validate(merged)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()[:5]
        )
        raise UsageError(f"invalid training config: {problems}") from None


def load_config(path: Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML file into a :class:`TrainConfig`, then apply ``overrides``.

    Raises:
        UsageError: missing/unreadable file, YAML that is not a mapping, invalid fields.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise UsageError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: expected a YAML mapping at the top level")
    return parse_config(raw, overrides)
