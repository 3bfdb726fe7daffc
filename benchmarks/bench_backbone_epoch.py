"""Training throughput of the backbone recipes on real stored features: the whole
``TrainingLoop`` step (data order, batch gather, forward, backward, clipping, AdamW,
schedule, logging) against the model's forward + backward alone, in the same run.

Issue 20 (item 2): an epoch over the 15,889 synthetic train questions should take
seconds. For each backbone and each setting (``before`` = the configs of the first
SpARC table: dropout 0.1, every one of the 10 oracle slots a node, VGT's pair-mean
answer pooling, HGA without slot pooling; ``after`` = the configs of
``videoqa/configs/sparc/*_oracle.yaml``), the script

1. trains two epochs of ``--questions`` train questions with ``TrainingLoop`` and reads
   the loop's own training seconds of the second one (``metrics.jsonl`` ``seconds``: the
   steps only, no evaluation; the first epoch warms up allocator and kernels);
2. times, on the same model and the same batches, the batch gather alone
   (``QADataset.batch``) and forward + backward alone (``loss.backward()``, no optimiser);

3. times the loop's own step (``recipe.training_step`` through an Accelerate-prepared
   model and optimiser, ``accelerator.clip_grad_norm_``, AdamW, the schedule) on a second
   copy, interleaved with 2, each the minimum of ``--repeats`` rounds (the machine is
   shared: the minimum is the least disturbed);

and prints ms per step, the loop-step / forward+backward ratio (the physical anchor:
what the model itself costs), questions per second and the epoch time that rate gives
for 15,889 questions. ``epoch loop ms/step`` is the loop's own clock over the whole
second epoch (one sample, so it carries the machine's load at that moment). Run::

    OMP_NUM_THREADS=1 python benchmarks/bench_backbone_epoch.py \
        --benchmark data/synth --features data/synth_sg16 --questions 2048
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from accelerate import Accelerator

from videoqa.recipes import build_recipe
from videoqa.recipes.backbone import build_backbone
from videoqa.training import TrainingLoop
from videoqa.training.loop import warmup_cosine

CONFIGS = Path(__file__).resolve().parents[1] / "videoqa" / "configs" / "sparc"
TRAIN_QUESTIONS = 15_889

#: setting → backbone → overrides of ``baseline_<backbone>.yaml``.
BEFORE = {
    "hga": ["model.config.dropout=0.1", "model.config.slot_pooling=false"],
    "vgt": [
        "model.config.dropout=0.1",
        "model.config.mask_empty_nodes=false",
        "model.config.answer_pool=pair",
    ],
}
COMMON_BEFORE = [
    "model.config.hidden_size=64",
    "model.config.num_layers=1",
    "data.use_patches=true",
    "data.trim_patches=false",
    "batch_size=64",
]


def _recipe(backbone: str, setting: str, args, out: Path):
    sets = [
        f"data.benchmark_dir={args.benchmark}",
        f"data.features_dir={args.features}",
        f"data.limit={args.questions}",
        "data.test_splits=[]",
        "epochs=2",
        "checkpoint.patience=null",
        "logging.progress=false",
        f"output_dir={out}",
    ]
    if setting == "before":
        config = CONFIGS / f"baseline_{backbone}.yaml"
        sets += COMMON_BEFORE + BEFORE[backbone]
    else:
        config = CONFIGS / f"baseline_{backbone}_oracle.yaml"
    return build_recipe(config, sets, "baseline")


def _batches(recipe) -> list:
    data = recipe.data.train
    bs = recipe.config.batch_size
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    return [data.batch(order[i : i + bs]) for i in range(0, len(data), bs)]


def _timed(fn, batches) -> float:
    """Seconds per batch of ``fn(batch)`` over ``batches``."""
    start = time.perf_counter()
    for b in batches:
        fn(b)
    return (time.perf_counter() - start) / len(batches)


def prepare(backbone: str, setting: str, args, out: Path) -> dict:
    """Run the loop for two epochs; keep what the component timings need."""
    recipe = _recipe(backbone, setting, args, out)
    TrainingLoop(recipe).fit()
    records = [
        json.loads(line)
        for line in (out / "metrics.jsonl").read_text().splitlines()
        if '"kind": "epoch"' in line
    ]
    steps = records[-1]["step"] - records[-2]["step"]
    torch.manual_seed(recipe.config.seed)  # fresh models of the same config
    model = build_backbone(recipe.config, recipe.data).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, foreach=True)
    # the loop's own step, on a second copy: Accelerate-prepared model, optimiser and
    # schedule, recipe.training_step, accelerator.backward / clip_grad_norm_
    accelerator = Accelerator(cpu=True)
    torch.manual_seed(recipe.config.seed)
    loop_model = build_backbone(recipe.config, recipe.data).train()
    loop_opt = torch.optim.AdamW(loop_model.parameters(), lr=1e-4, foreach=True)
    loop_model, loop_opt = accelerator.prepare(loop_model, loop_opt)
    schedule = torch.optim.lr_scheduler.LambdaLR(loop_opt, warmup_cosine(10_000, 100))
    return {
        "recipe": recipe,
        "model": model,
        "optimizer": optimizer,
        "loop_s": records[-1]["seconds"] / steps,
        "batches": _batches(recipe),
        "accelerator": accelerator,
        "loop_model": loop_model,
        "loop_opt": loop_opt,
        "schedule": accelerator.prepare(schedule),
    }


def components(run: dict) -> dict[str, float]:
    """Gather, forward+backward and forward+backward+clip+AdamW, seconds per batch."""
    recipe, model, opt, batches = run["recipe"], run["model"], run["optimizer"], run["batches"]
    objective, data = recipe.objective, recipe.data.train
    bs = recipe.config.batch_size

    def fb(b) -> None:
        objective.loss(model, b).total.backward()
        model.zero_grad(set_to_none=True)

    def step(b) -> None:
        objective.loss(model, b).total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    acc, lm, lo, ls = run["accelerator"], run["loop_model"], run["loop_opt"], run["schedule"]

    def loop_step(b) -> None:  # what TrainingLoop._step does
        lm.train()
        recipe.training_step(lm, b, acc.backward)
        acc.clip_grad_norm_(lm.parameters(), recipe.config.optim.grad_clip)
        lo.step()
        ls.step()
        lo.zero_grad(set_to_none=True)

    index = [b.index for b in batches]
    return {
        "gather": _timed(lambda i: data.batch(i), index),
        "fb": _timed(fb, batches),
        "step": _timed(step, batches),
        "loop_step": _timed(loop_step, batches),
        "batch": bs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=2048)
    parser.add_argument("--models", nargs="*", default=["hga", "vgt"])
    parser.add_argument("--settings", nargs="*", default=["before", "after"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"{args.questions} train questions, threads={torch.get_num_threads()}, "
        f"component times: min of {args.repeats} interleaved repeats"
    )
    head = (
        "model",
        "setting",
        "B",
        "fwd+bwd ms",
        "+ clip + AdamW ms",
        "loop step ms",
        "loop step / fwd+bwd",
        "gather ms",
        "epoch loop ms/step",
        "q/s (loop step)",
        "epoch s (15,889 q)",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    with tempfile.TemporaryDirectory() as tmp:
        for backbone in args.models:
            runs = {
                s: prepare(backbone, s, args, Path(tmp) / f"{backbone}_{s}") for s in args.settings
            }
            for run in runs.values():  # warm-up
                components(run)
            best: dict[str, dict[str, float]] = {}
            for _ in range(args.repeats):
                for setting, run in runs.items():
                    r = components(run)
                    old = best.setdefault(setting, r)
                    best[setting] = {k: min(v, old[k]) for k, v in r.items()}
            for setting, run in runs.items():
                r = best[setting]
                qps = r["batch"] / (r["loop_step"] + r["gather"])
                print(
                    f"| {backbone} | {setting} | {r['batch']} | {1e3 * r['fb']:.1f} | "
                    f"{1e3 * r['step']:.1f} | {1e3 * r['loop_step']:.1f} | "
                    f"{r['loop_step'] / r['fb']:.2f} | {1e3 * r['gather']:.2f} | "
                    f"{1e3 * run['loop_s']:.1f} | {qps:.0f} | {TRAIN_QUESTIONS / qps:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
