"""The one training loop every recipe runs on.

It owns seeding, AdamW, the warm-up/cosine schedule, gradient clipping, Accelerate
(one CPU process here; DDP / DeepSpeed / FSDP under ``accelerate launch``), the data
order, ``metrics.jsonl``, atomic checkpoints, exact resume and the best-epoch choice;
the :class:`~videoqa.training.recipe.Recipe` supplies data, model, loss, evaluation
and the inference checkpoint.

Run folder (``config.output_dir``)::

    config.yaml                 the resolved config
    metrics.jsonl               one JSON object per logged step / epoch
    curve.png                   train loss terms and the monitored val metric
    checkpoints/last/           resumable: weights.safetensors, state.json +
                                state.safetensors, config.yaml
    checkpoints/best/           the recipe's inference checkpoint of the best epoch
    results.json                best epoch and value, steps, the recipe's test scores

Resume restores weights, optimiser, scheduler, RNGs and the loop position from
``checkpoints/last`` (or ``last.old`` when a kill hit the swap or ``last`` is
damaged), keeps the ``metrics.jsonl`` records that were logged before that checkpoint
(by content: their ``step`` / ``epoch``), and continues at the same step. The data
order depends only on ``(seed, epoch)``, so the losses repeat an uninterrupted run.
The resumable state is JSON plus safetensors (:mod:`videoqa.training.checkpoint`):
nothing is unpickled, so a shared or downloaded run folder cannot execute code.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from pydantic import BaseModel
from rich.console import Console
from torch.utils.data import DataLoader

from videoqa.batch import prepare_output
from videoqa.errors import CheckpointError, UsageError
from videoqa.persistence import write_dir_atomic
from videoqa.training.checkpoint import (
    find_checkpoint,
    load_state,
    load_trained_weights,
    save_resumable,
    set_rng_state,
)
from videoqa.training.data import EpochShuffleSampler
from videoqa.training.logs import MetricsLog, plot_curve, read_metrics, strict_json, trim_metrics
from videoqa.training.recipe import EpochStats, Recipe, RecipeSetup

#: Files and folders of a run; ``--overwrite`` removes exactly these.
RUN_FILES = (
    "config.yaml",
    "metrics.jsonl",
    "curve.png",
    "checkpoints",
    "results.json",
    "predictions",
)


def warmup_schedule(
    total_steps: int, warmup_steps: int, min_ratio: float = 0.0, decay: str = "cosine"
) -> Callable[[int], float]:
    """LR multiplier of optimiser step ``step`` (0-based): linear from ``1/(w+1)`` to 1
    over the ``w = warmup_steps`` first steps, then a decay from 1 to ``min_ratio`` at
    ``total_steps``: ``cosine`` (Loshchilov & Hutter, SGDR, ICLR 2017, without restarts)
    or ``linear`` (BERT's schedule, Devlin et al. 2019, which MCG's released code uses).

    Raises:
        UsageError: negative step counts, ``min_ratio`` outside ``[0, 1]`` or an unknown
            ``decay``.
    """
    if total_steps < 0 or warmup_steps < 0 or not 0.0 <= min_ratio <= 1.0:
        raise UsageError(
            f"warmup schedule: bad schedule total={total_steps} warmup={warmup_steps} "
            f"min_ratio={min_ratio}"
        )
    if decay not in ("cosine", "linear"):
        raise UsageError(f"unknown learning-rate decay {decay!r}; expected cosine or linear")

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        if decay == "linear":
            shape = 1.0 - progress
        else:
            shape = 0.5 * (1.0 + math.cos(math.pi * progress))
        if min_ratio == 0.0:
            return shape
        return min_ratio + (1.0 - min_ratio) * shape

    return factor


def warmup_cosine(
    total_steps: int, warmup_steps: int, min_ratio: float = 0.0
) -> Callable[[int], float]:
    """:func:`warmup_schedule` with the cosine decay (the default schedule).

    Raises:
        UsageError: see :func:`warmup_schedule`.
    """
    return warmup_schedule(total_steps, warmup_steps, min_ratio, "cosine")


@dataclass
class TrainState:
    """Where the loop is (saved in ``state.json``).

    Attributes:
        epoch: epoch being trained (0-based; ``epochs`` once training is done).
        step_in_epoch: batches of ``epoch`` already trained.
        global_step: optimiser steps done.
        best_value: best monitored val metric so far (None before the first epoch).
        best_epoch: epoch of ``best_value`` (-1 before).
        seen: training examples so far in ``epoch``; counters: summed step counters.
        loss_sums, loss_counts: running sums of the loss terms in ``epoch``.
        epoch_seconds: training wall time spent in ``epoch`` so far.
    """

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    best_value: float | None = None
    best_epoch: int = -1
    seen: int = 0
    counters: dict[str, float] = field(default_factory=dict)
    loss_sums: dict[str, float] = field(default_factory=dict)
    loss_counts: dict[str, int] = field(default_factory=dict)
    epoch_seconds: float = 0.0


class RunResult(BaseModel):
    """Outcome of :meth:`TrainingLoop.fit` (also ``results.json``).

    Attributes:
        recipe: recipe name; monitor: the val metric that chose the best epoch.
        best_epoch, best_value: the epoch kept in ``checkpoints/best`` and its metric.
        steps: optimiser steps done; tests: the recipe's test scores.
        output_dir: the run folder.
    """

    recipe: str
    monitor: str
    best_epoch: int
    best_value: float | None
    steps: int
    tests: dict[str, Any]
    output_dir: Path


class Interrupted(Exception):
    """Raised by :meth:`TrainingLoop.fit` when ``stop_after_steps`` is reached (after the
    checkpoint of that step was written): what a kill at that point leaves behind."""


@dataclass
class _Prepared:
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    loader: DataLoader
    scheduler: torch.optim.lr_scheduler.LRScheduler
    sampler: EpochShuffleSampler
    state: TrainState = field(default_factory=TrainState)


class TrainingLoop:
    """Train ``recipe`` with its config.

    Args:
        recipe: the stage to train (its ``config`` is the run's config).
        console: where progress and per-epoch lines go (default: stderr).

    Example::

        recipe = RECIPES.get("sparc")(load_config(path, config_class=SparcConfig))
        result = TrainingLoop(recipe).fit()
    """

    def __init__(self, recipe: Recipe, *, console: Console | None = None) -> None:
        self.recipe = recipe
        self.config = recipe.config
        self.out = Path(self.config.output_dir)
        self.accelerator = Accelerator(cpu=self.config.cpu)
        self.console = console or Console(stderr=True)
        self.monitor = self.config.checkpoint.monitor or recipe.monitor
        self.log: MetricsLog | None = None

    # ------------------------------------------------------------------ set-up
    def _prepare(self) -> _Prepared:
        cfg = self.config
        set_seed(cfg.seed)
        setup: RecipeSetup = self.recipe.setup(self.accelerator)
        model = setup.model
        params = setup.parameters
        if params is None:
            params = [p for p in model.parameters() if p.requires_grad]
        # foreach: one fused update over all parameters (on CPU torch's default is a
        # Python loop over them; the same update rule, ~40 % less optimiser time at SpARC
        # sizes, benchmarks/README.md)
        optimizer = torch.optim.AdamW(
            params, lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay, foreach=True
        )
        size = len(setup.train_dataset)
        if size == 0:
            raise UsageError(f"recipe {self.recipe.name!r}: the train split is empty")
        sampler = EpochShuffleSampler(size, cfg.seed)
        loader = DataLoader(
            setup.train_dataset,
            batch_size=cfg.batch_size,
            sampler=sampler,
            collate_fn=setup.collate_fn,
            generator=torch.Generator().manual_seed(cfg.seed),
        )
        model, optimizer, loader = self.accelerator.prepare(model, optimizer, loader)
        # Optimiser steps of the whole run: this process's batches per epoch (the loader
        # is sharded across processes). An AcceleratedScheduler advances num_processes
        # times per optimiser step, so the schedule is laid out over that many ticks.
        steps = len(loader) * cfg.epochs * self.accelerator.num_processes
        sched = cfg.scheduler
        warmup = (
            sched.warmup_steps * self.accelerator.num_processes
            if sched.warmup_steps is not None
            else int(sched.warmup_ratio * steps)
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, warmup_schedule(steps, warmup, sched.min_lr_ratio, sched.decay)
        )
        scheduler = self.accelerator.prepare(scheduler)
        return _Prepared(model, optimizer, loader, scheduler, sampler)

    def _restore(self, run: _Prepared) -> None:
        last = self.out / "checkpoints" / "last"
        restored = None
        errors: list[str] = []
        for ckpt in find_checkpoint(last):
            try:
                restored = load_state(ckpt)
                load_trained_weights(self.accelerator.unwrap_model(run.model), ckpt)
                break
            except CheckpointError as err:
                errors.append(str(err))
                restored = None
        if restored is None:
            detail = "; ".join(errors) or f"no checkpoint in {last}"
            raise CheckpointError(f"--resume: cannot resume {self.out}: {detail}")
        if errors:
            self.console.print(f"[yellow]warning:[/] {errors[0]}; resuming from {ckpt}")
        try:
            run.optimizer.load_state_dict(restored["optimizer"])
            run.scheduler.load_state_dict(restored["scheduler"])
            set_rng_state(restored["rng"])
            run.state = TrainState(**restored["state"])
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise CheckpointError(
                f"{ckpt / 'state.json'}: does not fit this run ({type(err).__name__}: {err})"
            ) from None
        if self.accelerator.is_main_process:
            trim_metrics(self.log.path, run.state.global_step, run.state.epoch)

    # ------------------------------------------------------------------ the loop
    def fit(
        self,
        resume: bool = False,
        *,
        overwrite: bool = False,
        stop_after_steps: int | None = None,
    ) -> RunResult:
        """Train ``config.epochs`` epochs (continuing ``checkpoints/last`` with
        ``resume``), then score the best checkpoint with the recipe's test.

        Args:
            resume: continue the run in ``output_dir``.
            overwrite: delete the run in ``output_dir`` and start again.
            stop_after_steps: raise :class:`Interrupted` once that many optimiser steps
                are done and checkpointed (tests of resume; what a kill leaves).

        Raises:
            UsageError: a run already in ``output_dir`` without ``resume``/``overwrite``.
            CheckpointError: ``resume`` with no usable checkpoint.
            Interrupted: ``stop_after_steps`` reached.
        """
        prepare_output(
            self.out,
            what="run",
            resume=resume,
            overwrite=overwrite,
            holds=("metrics.jsonl", "checkpoints"),
            deletes=RUN_FILES,
            resume_needs_output=True,
            barrier=self.accelerator.wait_for_everyone,
            is_main=self.accelerator.is_main_process,
        )
        if self.accelerator.is_main_process:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.yaml").write_text(self.config.to_yaml(), encoding="utf-8")
        self.accelerator.wait_for_everyone()
        self.log = MetricsLog(self.out / "metrics.jsonl")
        run = self._prepare()
        if resume:
            self._restore(run)
        self._stop_after = stop_after_steps
        while run.state.epoch < self.config.epochs and not self._patience_spent(run.state):
            self._train_epoch(run)
            self._end_epoch(run)
        if run.state.epoch < self.config.epochs and self.accelerator.is_main_process:
            self.console.print(
                f"early stop after epoch {run.state.epoch}: no better {self.monitor} for "
                f"{self.config.checkpoint.patience} epochs (best: epoch {run.state.best_epoch + 1})",
                highlight=False,
            )
        return self._finish(run)

    def _patience_spent(self, state: TrainState) -> bool:
        """Whether ``checkpoint.patience`` epochs have passed since the best one (a
        function of the saved state only, so a resumed run stops where it would have)."""
        patience = self.config.checkpoint.patience
        if patience is None or state.best_epoch < 0:
            return False
        return state.epoch - 1 - state.best_epoch >= patience

    def _train_epoch(self, run: _Prepared) -> None:
        state, cfg = run.state, self.config
        run.sampler.set_epoch(state.epoch)
        if hasattr(run.loader, "set_epoch"):
            run.loader.set_epoch(state.epoch)
        loader = run.loader
        if state.step_in_epoch:
            loader = self.accelerator.skip_first_batches(run.loader, state.step_in_epoch)
        total = len(run.loader)
        with self._progress(f"epoch {state.epoch + 1}/{cfg.epochs}", total) as advance:
            advance(state.step_in_epoch)
            for batch in loader:
                start = time.perf_counter()
                out = self._step(run, batch)
                state.epoch_seconds += time.perf_counter() - start
                state.step_in_epoch += 1
                state.global_step += 1
                state.seen += out.size
                for name, value in out.counters.items():
                    state.counters[name] = state.counters.get(name, 0) + value
                for name, value in out.losses.items():
                    state.loss_sums[name] = state.loss_sums.get(name, 0.0) + value
                    state.loss_counts[name] = state.loss_counts.get(name, 0) + 1
                if state.global_step % cfg.logging.log_every == 0:
                    self._write(
                        {
                            "kind": "step",
                            "epoch": state.epoch,
                            "step": state.global_step,
                            "lr": float(run.scheduler.get_last_lr()[0]),
                            "losses": out.losses,
                            **out.log,
                        }
                    )
                every = cfg.checkpoint.every_n_steps
                if every and state.global_step % every == 0:
                    self._save_last(run)
                    self._maybe_stop(state)
                advance(1)

    def _step(self, run: _Prepared, batch: Any):
        run.model.train()
        out = self.recipe.training_step(run.model, batch, self.accelerator.backward)
        if self.config.optim.grad_clip > 0:
            self.accelerator.clip_grad_norm_(run.model.parameters(), self.config.optim.grad_clip)
        run.optimizer.step()
        run.scheduler.step()
        run.optimizer.zero_grad(set_to_none=True)
        return out

    def _end_epoch(self, run: _Prepared) -> None:
        state = run.state
        model = self.accelerator.unwrap_model(run.model)
        was_training = model.training
        model.eval()
        stats = EpochStats(epoch=state.epoch, seen=state.seen, counters=dict(state.counters))
        metrics = self.recipe.evaluate(model, stats)
        model.train(was_training)
        if self.monitor not in metrics:
            raise UsageError(
                f"recipe {self.recipe.name!r} reports no {self.monitor!r} "
                f"(it reports {sorted(metrics)})"
            )
        value = float(metrics[self.monitor])
        self._write(
            {
                "kind": "epoch",
                "epoch": state.epoch,
                "step": state.global_step,
                "train_losses": {
                    k: state.loss_sums[k] / state.loss_counts[k] for k in state.loss_sums
                },
                **metrics,
                "seconds": round(state.epoch_seconds, 3),
            }
        )
        if self._better(value, state.best_value):
            state.best_value, state.best_epoch = value, state.epoch
            if self.accelerator.is_main_process:
                write_dir_atomic(
                    self.out / "checkpoints" / "best",
                    lambda tmp: self.recipe.save_model(model, tmp),
                )
        if self.config.logging.progress and self.accelerator.is_main_process:
            losses = ", ".join(
                f"{k} {state.loss_sums[k] / state.loss_counts[k]:.4f}" for k in state.loss_sums
            )
            best = " (best)" if state.best_epoch == state.epoch else ""
            self.console.print(
                f"epoch {state.epoch + 1}/{self.config.epochs}: {losses}; "
                f"{self.monitor} {value:.4g}{best}",
                highlight=False,
            )
        state.epoch += 1
        state.step_in_epoch = state.seen = 0
        state.counters, state.loss_sums, state.loss_counts = {}, {}, {}
        state.epoch_seconds = 0.0
        every = self.config.checkpoint.every_n_epochs
        if (
            state.epoch % every == 0
            or state.epoch >= self.config.epochs
            or (self._patience_spent(state))
        ):
            self._save_last(run)
        self._maybe_stop(state)

    def _better(self, value: float, best: float | None) -> bool:
        if math.isnan(value):
            return False
        if best is None:
            return True
        return value > best if self.config.checkpoint.mode == "max" else value < best

    def _maybe_stop(self, state: TrainState) -> None:
        if self._stop_after is not None and state.global_step >= self._stop_after:
            raise Interrupted(f"stopped after {state.global_step} steps")

    def _write(self, record: dict[str, Any]) -> None:
        if self.accelerator.is_main_process:
            self.log.write(record)

    def _save_last(self, run: _Prepared) -> None:
        self.accelerator.wait_for_everyone()
        if not self.accelerator.is_main_process:
            return
        save_resumable(
            self.out / "checkpoints" / "last",
            model=self.accelerator.unwrap_model(run.model),
            config_yaml=self.config.to_yaml(),
            state=asdict(run.state),
            optimizer=run.optimizer,
            scheduler=run.scheduler,
        )

    def _finish(self, run: _Prepared) -> RunResult:
        model = self.accelerator.unwrap_model(run.model)
        best = self.out / "checkpoints" / "best"
        if best.is_dir():
            self.recipe.restore_best(model, best)
        model.eval()
        tests = self.recipe.test(model, self.out, self.accelerator.is_main_process)
        result = RunResult(
            recipe=self.recipe.name,
            monitor=self.monitor,
            best_epoch=run.state.best_epoch,
            best_value=run.state.best_value,
            steps=run.state.global_step,
            tests=tests,
            output_dir=self.out,
        )
        if self.accelerator.is_main_process:
            text = json.dumps(strict_json(result.model_dump(mode="json")), indent=2)
            (self.out / "results.json").write_text(text + "\n", encoding="utf-8")
            plot_curve(
                read_metrics(self.log.path),
                self.out / "curve.png",
                metric=self.recipe.plot_metric(),
            )
        return result

    @contextmanager
    def _progress(self, label: str, total: int) -> Iterator[Callable[[int], None]]:
        """A progress bar of ``total`` batches on the console (main process, when
        ``logging.progress``); yields ``advance(n)``."""
        if not (self.config.logging.progress and self.accelerator.is_main_process):
            yield lambda n: None
            return
        from rich.progress import Progress

        with Progress(console=self.console, transient=True) as progress:
            task = progress.add_task(label, total=total)
            yield lambda n: progress.advance(task, n)
