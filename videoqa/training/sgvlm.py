"""Stage 3 of SGVLM (Dai et al., 2025, §3.5): end-to-end VideoQA fine-tuning of the
localizer, both Q-Formers, their projections and the LLM (in full, with LoRA, or
frozen), the scene-graph predictor staying frozen (its tokens come precomputed).

Run folder (``SGVLMTrainConfig.output_dir``)::

    config.yaml                 the resolved config
    metrics.jsonl               step and epoch records
    checkpoints/last/           state.pt (trainable weights, optimizer, scheduler, RNG,
                                epoch): resume
    checkpoints/best/           best val accuracy (``SGVLM.from_pretrained``)
    predictions/<split>.mc.jsonl / .oe.jsonl   multiple-choice / generated answers
    results.json                val and test scores (accuracy per type; WUPS for
                                open-ended answers; localizer moment-retrieval metrics)

Checkpoints are written to ``*.tmp`` and renamed; resuming restarts at the epoch after
the last finished one with the same data order (a function of ``(seed, epoch)``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from pydantic import BaseModel, ConfigDict, Field
from rich.progress import Progress

from videoqa.data.schema import QASample
from videoqa.errors import UsageError
from videoqa.models.sgvlm.modeling import SGVLM, build_sgvlm
from videoqa.training.checkpoint import rng_state, set_rng_state, write_dir_atomic
from videoqa.training.config import apply_overrides
from videoqa.training.logs import keep_epochs
from videoqa.training.loop import warmup_cosine
from videoqa.training.sgvlm_data import SGVLMData
from videoqa.training.sgvlm_eval import SplitScores, evaluate_split


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SGVLMDataSettings(_Section):
    """Where the questions, frame features and scene-graph tokens are.

    ``scene_graphs_dir`` None trains without scene graphs (the NoSG model needs none).
    """

    dataset: str = "synthetic"
    benchmark_dir: Path
    features_dir: Path
    scene_graphs_dir: Path | None = None
    use_patches: bool = True
    train_split: str = "train"
    val_split: str = "val"
    test_splits: list[str] = Field(default_factory=lambda: ["test"])
    limit: int | None = Field(None, gt=0)


class SGVLMOptimSettings(_Section):
    """AdamW with linear warm-up and cosine decay, per-step gradient clipping."""

    epochs: int = Field(4, gt=0)
    batch_size: int = Field(32, gt=0)
    lr: float = Field(5e-4, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.05, ge=0, lt=1)
    grad_clip: float = Field(1.0, gt=0)


class SGVLMTrainConfig(_Section):
    """A stage-3 run.

    Attributes:
        llm: hub id or directory of the causal LM (with its tokenizer).
        localizer_dir: stage-2 localizer checkpoint, None = train it from scratch.
        model: :class:`~videoqa.models.sgvlm.config.SGVLMConfig` fields (input widths,
            ``vocab_size`` and ``llm_dim`` are filled from the data and the LLM).
        open_ended: also generate answers on the test splits (accuracy, WUPS).
    """

    data: SGVLMDataSettings
    llm: str
    localizer_dir: Path | None = None
    model: dict[str, Any] = Field(default_factory=dict)
    optim: SGVLMOptimSettings = SGVLMOptimSettings()
    output_dir: Path
    seed: int = 0
    eval_batch_size: int = Field(64, gt=0)
    open_ended: bool = True
    log_every: int = Field(20, gt=0)


def load_sgvlm_config(path: Path, overrides: list[str] | None = None) -> SGVLMTrainConfig:
    """Read a YAML run config and apply ``a.b=value`` overrides.

    Raises:
        UsageError: unreadable YAML or an unknown/invalid field.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    raw = apply_overrides(raw, overrides or [])
    try:
        return SGVLMTrainConfig.model_validate(raw)
    except ValueError as exc:
        raise UsageError(f"invalid SGVLM config {path}: {exc}") from exc


def _samples(cfg: SGVLMDataSettings, split: str) -> list[QASample]:
    from videoqa.data import load_dataset

    bench = load_dataset(cfg.dataset, cfg.benchmark_dir, split=split)
    return list(bench.samples[: cfg.limit] if cfg.limit else bench.samples)


def _stores(cfg: SGVLMDataSettings, need_sg: bool):
    from videoqa.features.store import FeatureStore

    sg = None
    if need_sg:
        if cfg.scene_graphs_dir is None:
            raise UsageError("this model reads scene graphs: set data.scene_graphs_dir")
        from videoqa.perception.scene_graph.store import SceneGraphStore

        sg = SceneGraphStore(cfg.scene_graphs_dir)
    return FeatureStore(cfg.features_dir), sg


def build_run(config: SGVLMTrainConfig) -> tuple[SGVLM, dict[str, SGVLMData]]:
    """The model (stage-2 localizer loaded) and the train/val/test data of a run."""
    from videoqa.features.store import FeatureStore

    probe = FeatureStore(config.data.features_dir)
    meta = probe.meta
    fields = dict(config.model)
    fields.setdefault("frame_dim", meta.dim)
    if config.data.use_patches:
        fields.setdefault("patch_dim", meta.patch_dim)
    fields.setdefault("frame_encoder", meta.encoder)
    fields.setdefault("num_frames", meta.frames or None)
    fields.setdefault("trained_on", f"{config.data.dataset}:{config.data.benchmark_dir}")
    use_sg = fields.get("use_scene_graph", True)
    features, sg = _stores(config.data, use_sg)
    if sg is not None:
        fields.setdefault("scene_graph_predictor", sg.meta.source)
    model = build_sgvlm(fields, config.llm, config.localizer_dir)
    splits = [config.data.train_split, config.data.val_split, *config.data.test_splits]
    data = {
        split: SGVLMData(
            _samples(config.data, split), features, model.processor, sg, config.data.use_patches
        )
        for split in dict.fromkeys(splits)
    }
    return model, data


def _save_last(out: Path, model: SGVLM, optimizer, scheduler, epoch: int, best: dict) -> None:
    def write(tmp: Path) -> None:
        payload = {
            "epoch": epoch,
            "best": best,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": rng_state(),
            "trainable": {
                k: v.detach().cpu() for k, v in model.named_parameters() if v.requires_grad
            },
        }
        torch.save(payload, tmp / "state.pt")

    write_dir_atomic(out / "checkpoints" / "last", write)


def _append(path: Path, record: dict) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def _train_epoch(model, data: SGVLMData, optimizer, scheduler, config, epoch, log: Path) -> float:
    opt = config.optim
    order = torch.randperm(
        len(data), generator=torch.Generator().manual_seed(config.seed * 1000 + epoch)
    )
    steps = math.ceil(len(data) / opt.batch_size)
    model.train()
    total = 0.0
    with Progress(transient=True) as progress:
        task = progress.add_task(f"epoch {epoch}", total=steps)
        for step in range(steps):
            index = order[step * opt.batch_size : (step + 1) * opt.batch_size]
            batch = data.batch(index)
            rows = index.tolist()
            parts = model.loss(
                batch,
                [data.answer_texts[i] for i in rows],
                [data.candidates[i] for i in rows],
                data.answers[index],
            )
            optimizer.zero_grad(set_to_none=True)
            parts.total.backward()
            torch.nn.utils.clip_grad_norm_(
                [p for p in model.parameters() if p.requires_grad], opt.grad_clip
            )
            optimizer.step()
            scheduler.step()
            total += float(parts.total.detach())
            if step % config.log_every == 0 or step == steps - 1:
                _append(
                    log,
                    {
                        "kind": "step",
                        "epoch": epoch,
                        "step": step,
                        "loss": float(parts.total.detach()),
                        "lm": float(parts.lm.detach()),
                        "localizer": float(parts.localizer.detach()),
                        "mc": float(parts.mc.detach()),
                        "lr": scheduler.get_last_lr()[0],
                    },
                )
            progress.advance(task)
    return total / steps


def train_sgvlm(
    config: SGVLMTrainConfig, *, resume: bool = False, stop_after: int | None = None
) -> dict[str, Any] | None:
    """Run stage 3: train, keep the best val epoch, score the test splits.

    ``stop_after`` ends the process after that many epochs (counted from 0, checkpoint
    written) as a kill would, without scoring: the run then continues with ``resume``.

    Returns:
        the content of ``results.json`` (None when stopped by ``stop_after``).

    Raises:
        UsageError: ``resume`` without a checkpoint, or an output folder holding another
            run when not resuming.
    """
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    out = Path(config.output_dir)
    last = out / "checkpoints" / "last"
    if not resume and (out / "metrics.jsonl").exists():
        raise UsageError(f"{out} already holds a run: pass --resume or another output_dir")
    model, data = build_run(config)
    train = data[config.data.train_split]
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=config.optim.lr, weight_decay=config.optim.weight_decay
    )
    total_steps = config.optim.epochs * math.ceil(len(train) / config.optim.batch_size)
    warmup = int(config.optim.warmup_ratio * total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(total_steps, warmup))
    start, best = 0, {"epoch": -1, "accuracy": -1.0}
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(json.loads(config.model_dump_json())))
    if resume:
        start, best = _restore(model, optimizer, scheduler, last, out / "metrics.jsonl")
    log = out / "metrics.jsonl"
    for epoch in range(start, config.optim.epochs):
        loss = _train_epoch(model, train, optimizer, scheduler, config, epoch, log)
        val = evaluate_split(
            model,
            data[config.data.val_split],
            config.data.dataset,
            config.eval_batch_size,
            open_ended=False,
        )
        _append(
            log,
            {
                "kind": "epoch",
                "epoch": epoch,
                "train_loss": loss,
                "val_accuracy": val.accuracy,
                "val_by_group": val.by_group,
            },
        )
        if val.accuracy > best["accuracy"]:
            best = {"epoch": epoch, "accuracy": val.accuracy}
            write_dir_atomic(out / "checkpoints" / "best", model.save_pretrained)
        _save_last(out, model, optimizer, scheduler, epoch, best)
        if stop_after is not None and epoch + 1 >= stop_after:
            return None
    return _final(config, out, data, best)


def _restore(model, optimizer, scheduler, last: Path, log: Path) -> tuple[int, dict]:
    found = [d for d in (last, last.with_name(last.name + ".old")) if (d / "state.pt").is_file()]
    if not found:
        raise UsageError(f"nothing to resume: {last} has no state.pt")
    payload = torch.load(found[0] / "state.pt", map_location="cpu", weights_only=False)
    with torch.no_grad():
        named = dict(model.named_parameters())
        for key, value in payload["trainable"].items():
            named[key].copy_(value)
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    set_rng_state(payload["rng"])
    epoch = int(payload["epoch"])
    keep_epochs(log, epoch + 1)
    return epoch + 1, payload["best"]


def _final(config: SGVLMTrainConfig, out: Path, data: dict[str, SGVLMData], best: dict) -> dict:
    model = SGVLM.from_pretrained(out / "checkpoints" / "best")
    results: dict[str, Any] = {"best_epoch": best["epoch"], "best_val_accuracy": best["accuracy"]}
    tests: dict[str, SplitScores] = {}
    for split in config.data.test_splits:
        tests[split] = evaluate_split(
            model,
            data[split],
            config.data.dataset,
            config.eval_batch_size,
            open_ended=config.open_ended,
            predictions_dir=out / "predictions",
            split=split,
        )
    results["tests"] = {k: v.model_dump() for k, v in tests.items()}
    # strict JSON: metrics undefined on a split (no long moments: NaN) become null
    text = json.dumps(_nan_to_none(results), indent=2, allow_nan=False)
    (out / "results.json").write_text(text)
    return results


def _nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value
