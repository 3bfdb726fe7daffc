"""MCG experiments on the synthetic benchmark (docs/results/mcg.md): ablations of the
multi-granularity contrast and of pre-training, generative vs classification head, and
head-tail vs uniform sampling on the long-video split. Every run goes through the one
training loop with a shipped config plus ``--set`` overrides; one JSON per run lands in
experiments/mcg/results/ (a run whose JSON exists is skipped, so the script resumes).

    nice -n 10 env OMP_NUM_THREADS=1 python experiments/mcg/run.py short --data /tmp/mcg/data/short --runs /tmp/mcg/runs
    nice -n 10 env OMP_NUM_THREADS=1 python experiments/mcg/run.py long --data /tmp/mcg/data/long --runs /tmp/mcg/runs

Sizes are tiny (CPU budget of a shared 2-core machine): 4 frames of 32 px, 2-block
towers 64 wide, 1,200 training questions; see docs/results/mcg.md for what that means.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from videoqa.recipes import build_recipe
from videoqa.training import TrainingLoop
from videoqa.training.logs import read_metrics

RESULTS = Path(__file__).resolve().parent / "results"
SEEDS = (0, 1, 2)
SIZE = [
    "model.vocab_size=400",
    "model.config.num_frames=4",
    "model.config.video={hidden_size: 64, num_layers: 2, num_heads: 4, intermediate_size: 128, image_size: 32, patch_size: 8, num_frames: 4}",
    "model.config.text={hidden_size: 64, num_layers: 2, num_heads: 4, intermediate_size: 128, fusion_layers: 1, decoder_layers: 2}",
    "logging.progress=false",
]
#: pre-training variants: name -> (instance_weight, token_weight)
PRETRAIN = {"full": (1.0, 1.0), "no_token": (1.0, 0.0), "no_instance": (0.0, 1.0), "mlm_only": (0.0, 0.0)}
#: fine-tuning variants: name -> (pre-training variant or None, instance, token, extra overrides)
FINETUNE = {
    "mcg": ("full", 0.5, 0.5, []),
    "no_token": ("no_token", 0.5, 0.0, []),
    "no_instance": ("no_instance", 0.0, 0.5, []),
    "no_contrast": ("mlm_only", 0.0, 0.0, []),
    "no_pretrain": (None, 0.5, 0.5, []),
    "classifier": ("full", 0.5, 0.5, ["model.config.head=classifier"]),
}


def _run(name: str, config: str, overrides: list[str], out: Path) -> dict:
    path = RESULTS / f"{name}.json"
    if path.is_file():
        return json.loads(path.read_text())
    torch.set_num_threads(1)
    recipe = build_recipe(config, [*overrides, f"output_dir={out / name}"])
    wall, cpu = time.perf_counter(), time.process_time()
    result = TrainingLoop(recipe).fit(overwrite=True)
    record = {
        "name": name,
        "config": config,
        "overrides": overrides,
        "cpu_seconds": time.process_time() - cpu,
        "wall_seconds": time.perf_counter() - wall,
        "best_epoch": result.best_epoch,
        "best_value": result.best_value,
        "curve": [
            {k: r.get(k) for k in ("epoch", "train_losses", "val_accuracy", "val_recall_at_1", "val_loss")}
            for r in read_metrics(out / name / "metrics.jsonl")
            if r.get("kind") == "epoch"
        ],
        "tests": result.tests,
    }
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{name}: best {result.best_value} cpu {record['cpu_seconds']:.0f}s", flush=True)
    return record


def short(data: Path, runs: Path, seeds=SEEDS) -> None:
    base = [f"data.benchmark_dir={data}", *SIZE]
    for seed in seeds:
        for variant, (inst, tok) in PRETRAIN.items():
            _run(
                f"pretrain_{variant}_s{seed}",
                "pretrain_synthetic",
                [*base, f"seed={seed}", "epochs=12", "batch_size=16",
                 f"mcg.instance_weight={inst}", f"mcg.token_weight={tok}"],
                runs,
            )  # fmt: skip
        for variant, (pre, inst, tok, extra) in FINETUNE.items():
            init = [f"model.init_from={runs / f'pretrain_{pre}_s{seed}' / 'checkpoints' / 'best'}"] if pre else []
            _run(
                f"ft_{variant}_s{seed}",
                "mcg_synthetic_mc",
                [*base, f"seed={seed}", "epochs=8", "batch_size=32", "data.limit=1200",
                 "mcg.eval_limit=200", f"mcg.instance_weight={inst}", f"mcg.token_weight={tok}",
                 *init, *extra],
                runs,
            )  # fmt: skip


def long(data: Path, runs: Path, seeds=SEEDS) -> None:
    base = [f"data.benchmark_dir={data}", *SIZE]
    for seed in seeds:
        for sampler in ("head-tail", "uniform"):
            _run(
                f"long_{sampler}_s{seed}",
                "mcg_synthetic_mc",
                [*base, f"seed={seed}", "epochs=8", "batch_size=32", "data.limit=1200",
                 "mcg.eval_limit=200", "mcg.instance_weight=0.5", "mcg.token_weight=0.5",
                 f"model.config.train_sampler={sampler}"],
                runs,
            )  # fmt: skip


def plateau(data: Path, runs: Path, seeds=(0,)) -> None:
    """One longer run of the full MCG (25 epochs, all 2,678 training questions) to see
    whether the tiny model leaves chance at all with more training."""
    base = [f"data.benchmark_dir={data}", *SIZE]
    for seed in seeds:
        init = f"model.init_from={runs / f'pretrain_full_s{seed}' / 'checkpoints' / 'best'}"
        _run(
            f"plateau_mcg_s{seed}",
            "mcg_synthetic_mc",
            [*base, f"seed={seed}", "epochs=25", "batch_size=32", "mcg.eval_limit=200",
             "mcg.instance_weight=0.5", "mcg.token_weight=0.5", init],
            runs,
        )  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("which", choices=["short", "long", "plateau"])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="*", default=None)
    args = parser.parse_args()
    if args.seeds is None:
        args.seeds = [0] if args.which == "plateau" else list(SEEDS)
    RESULTS.mkdir(parents=True, exist_ok=True)
    {"short": short, "long": long, "plateau": plateau}[args.which](args.data, args.runs, tuple(args.seeds))
    sys.exit(0)
