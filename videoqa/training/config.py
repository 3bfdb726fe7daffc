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
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from videoqa.errors import UsageError

C = TypeVar("C", bound="RunConfig")


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
        trim_patches: cut each batch's patch tokens after the last slot that holds a
            token in some frame of the batch (see :class:`~videoqa.training.data.QADataset`);
            exact only for models that mask all-zero tokens.
        qtypes: keep only questions of these types in every split (controlled runs on
            one question family, e.g. ``[DA, DC, DE]``), or None for all.
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
    trim_patches: bool = False
    qtypes: list[str] | None = None


class ModelSection(_Section):
    """Which backbone: ``name`` in ``videoqa.models.MODELS`` and its config fields.

    ``feature_dim`` and ``vocab_size`` are filled in from the feature store and the
    tokenizer when absent from ``config``.
    """

    name: str = "hga"
    config: dict[str, Any] = Field(default_factory=dict)


class OptimConfig(_Section):
    """AdamW and gradient clipping, shared by every recipe.

    Attributes:
        lr: peak learning rate; weight_decay: AdamW decoupled weight decay.
        grad_clip: max global L2 norm of the gradients (0 = no clipping).
    """

    lr: float = Field(1e-4, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    grad_clip: float = Field(1.0, ge=0)


class SchedulerConfig(_Section):
    """The one learning-rate schedule: linear warm-up, then a cosine or linear decay
    (:func:`videoqa.training.loop.warmup_schedule`).

    Attributes:
        warmup_ratio: share of all optimiser steps spent warming up linearly from 0.
        warmup_steps: warm-up length in steps; overrides ``warmup_ratio`` when set.
        min_lr_ratio: the decay ends at ``min_lr_ratio · lr`` (0 = decay to zero).
        decay: ``cosine`` (default) or ``linear`` (BERT's, as MCG's released code).
    """

    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    warmup_steps: int | None = Field(None, ge=0)
    min_lr_ratio: float = Field(0.0, ge=0, le=1)
    decay: Literal["cosine", "linear"] = "cosine"


class CheckpointConfig(_Section):
    """When to checkpoint and which epoch to keep as ``checkpoints/best``.

    Attributes:
        every_n_steps: also write the resumable checkpoint every N optimiser steps
            inside an epoch (0 = at epoch ends only).
        every_n_epochs: write the resumable checkpoint at the end of every N-th epoch
            and of the last one (1 = every epoch; a larger value suits many cheap epochs,
            e.g. full-batch training where one epoch is one step). A resumed run restarts
            from the last one written, logging the epochs after it again.
        monitor: validation metric choosing the best epoch (None = the recipe's own).
        mode: ``max`` (higher is better) or ``min``.
        patience: stop training once this many epochs have passed without a better
            monitored value (early stopping); None = train every epoch.
    """

    every_n_steps: int = Field(0, ge=0)
    every_n_epochs: int = Field(1, ge=1)
    monitor: str | None = None
    mode: Literal["max", "min"] = "max"
    patience: int | None = Field(None, ge=1)


class LoggingConfig(_Section):
    """What the loop reports.

    Attributes:
        log_every: write a step record to ``metrics.jsonl`` every N steps.
        progress: show a progress bar and one line per epoch on stderr.
    """

    log_every: int = Field(10, ge=1)
    progress: bool = True


class RunConfig(_Section):
    """The sections every recipe's config has; a recipe's config class adds its own
    (``data``, ``model``, and its options under its own name).

    Attributes:
        recipe: recipe name (None = taken from ``--recipe``).
        epochs: passes over the train split; batch_size: training examples per step.
        eval_batch_size: examples per evaluation step.
        seed: seeds model init, data order, dropout and the recipes' sampling.
        output_dir: the run folder (checkpoints, ``metrics.jsonl``, ``curve.png``).
        cpu: force the CPU even where an accelerator is present.
        optim, scheduler, checkpoint, logging: the shared sections above.
    """

    recipe: str | None = None
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(64, ge=1)
    eval_batch_size: int = Field(256, ge=1)
    seed: int = Field(0, ge=0)
    output_dir: Path = Path("runs/train")
    cpu: bool = False
    optim: OptimConfig = Field(default_factory=OptimConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    def to_yaml(self) -> str:
        """The config as YAML text (round-trips through :func:`parse_config`)."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


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


class BaselineOptions(_Section):
    """Options of the ``baseline`` objective (plain CE on the whole video).

    Attributes:
        batch_passes: run the forward passes that share shapes as one batch.
        mixup: whole-video mixup, see :class:`MixupConfig`.
    """

    batch_passes: bool = True
    mixup: MixupConfig = Field(default_factory=MixupConfig)


class SparcOptions(BaselineOptions):
    """Options of the ``sparc`` objective (SpARC §3).

    Attributes:
        temporal_guidance: main term ``L_g`` on the causal frames plus ``w_c·L_c``;
            off: plain CE on the whole video.
        w_c: weight of the consistency loss ``L_c``.
        w_s: weight of the spatial distillation ``L_s`` (0 = off).
        threshold: ``t`` of ``V_c = {f_k | p_{k,a} > t}``.
        fallback_topk: frames kept when none is above ``t``.
        split_backward: back-propagate the spatial and mixup terms right after their
            own forward (before the next pass), so at most the two passes of
            ``L_g + w_c·L_c`` hold activations at once (same gradients, less memory).
        batch_passes, mixup: as in :class:`BaselineOptions` (mixup is temporal-guided).
    """

    temporal_guidance: bool = True
    w_c: float = Field(1.0, ge=0)
    w_s: float = Field(1.0, ge=0)
    threshold: float = Field(0.5, ge=0, le=1)
    fallback_topk: int = Field(1, ge=1)
    split_backward: bool = True


class BackboneConfig(RunConfig):
    """Config of the backbone recipes (``baseline``, ``sparc``): a multiple-choice
    backbone on stored frame features.

    Attributes:
        data: see :class:`DataConfig`; model: see :class:`ModelSection`.
    """

    data: DataConfig
    model: ModelSection = Field(default_factory=ModelSection)


class BaselineConfig(BackboneConfig):
    """``baseline`` recipe config: :class:`BackboneConfig` + ``baseline`` options."""

    baseline: BaselineOptions = Field(default_factory=BaselineOptions)


class SparcConfig(BackboneConfig):
    """``sparc`` recipe config: :class:`BackboneConfig` + ``sparc`` options."""

    sparc: SparcOptions = Field(default_factory=SparcOptions)


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


def parse_config(
    raw: dict[str, Any],
    overrides: list[str] | None = None,
    config_class: type[C] = RunConfig,  # type: ignore[assignment]
) -> C:
    """Validate a mapping (plus overrides) into ``config_class`` (a recipe's config).

    Raises:
        UsageError: unknown keys, wrong types or values, listing the first problems.
    """
    merged = apply_overrides(raw, overrides or [])
    try:
        return config_class.model_validate(merged)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()[:5]
        )
        raise UsageError(f"invalid training config: {problems}") from None


def load_config(
    path: Path,
    overrides: list[str] | None = None,
    config_class: type[C] = RunConfig,  # type: ignore[assignment]
) -> C:
    """Read a YAML file into ``config_class``, then apply ``overrides``. The one config
    loader: every recipe's config goes through it.

    Raises:
        UsageError: missing/unreadable file, YAML that is not a mapping, invalid fields.
    """
    return parse_config(read_yaml(path), overrides, config_class)


def read_yaml(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML config file.

    Raises:
        UsageError: missing/unreadable file, invalid YAML, not a mapping.
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
    return raw
