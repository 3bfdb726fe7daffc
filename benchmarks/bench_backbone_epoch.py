"""Training throughput of the backbone recipes on real stored features: the whole
``TrainingLoop`` step (data order, batch gather, forward, backward, clipping, AdamW,
schedule, logging) against the model's forward + backward alone, in the same run.

Issue 20 (item 2): an epoch over the 15,889 synthetic train questions should take
seconds. For each backbone and each setting (``before`` = the configs of the first
SpARC table: dropout 0.1, every one of the 10 oracle slots a node, VGT's pair-mean
answer pooling, HGA without slot pooling; ``after`` = the configs of
``videoqa/configs/sparc/*_oracle.yaml``), the script

1. trains one epoch of ``--questions`` train questions with ``TrainingLoop`` and reads
   the loop's own training seconds (``metrics.jsonl`` ``seconds``: the steps only, no
   evaluation);
2. times, on the same model and the same batches, the batch gather alone
   (``QADataset.batch``) and forward + backward alone (``loss.backward()``, no optimiser);

and prints ms per step, questions per second and the loop/forward+backward ratio (the
physical anchor: what the model itself costs), plus the epoch time that rate gives for
15,889 questions. Run::

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

from videoqa.recipes import build_recipe
from videoqa.recipes.backbone import build_backbone
from videoqa.training import TrainingLoop

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
        "epochs=1",
        "logging.progress=false",
        f"output_dir={out}",
    ]
    if setting == "before":
        config = CONFIGS / f"baseline_{backbone}.yaml"
        sets += COMMON_BEFORE + BEFORE[backbone]
    else:
        config = CONFIGS / f"baseline_{backbone}_oracle.yaml"
    return build_recipe(config, sets, "baseline")


def _forward_backward(recipe, model, batches) -> float:
    """Seconds per batch of forward + loss + backward alone (grads dropped)."""
    model.train()
    objective = recipe.objective
    for b in batches[:2]:
        objective.loss(model, b).total.backward()
    model.zero_grad(set_to_none=True)
    start = time.perf_counter()
    for b in batches:
        objective.loss(model, b).total.backward()
        model.zero_grad(set_to_none=True)
    return (time.perf_counter() - start) / len(batches)


def measure(backbone: str, setting: str, args) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        recipe = _recipe(backbone, setting, args, Path(tmp) / "run")
        loop = TrainingLoop(recipe)
        loop.fit()
        record = [
            json.loads(line)
            for line in (Path(tmp) / "run" / "metrics.jsonl").read_text().splitlines()
            if '"kind": "epoch"' in line
        ][-1]
        steps = record["step"]
        loop_s = record["seconds"] / steps
        data = recipe.data.train
        bs = recipe.config.batch_size
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
        start = time.perf_counter()
        batches = [data.batch(order[i : i + bs]) for i in range(0, len(data), bs)]
        gather_s = (time.perf_counter() - start) / len(batches)
        torch.manual_seed(recipe.config.seed)  # a fresh model of the same config
        model = build_backbone(recipe.config, recipe.data)
        fb_s = _forward_backward(recipe, model, batches)
    return {"batch": bs, "steps": steps, "loop_ms": 1e3 * loop_s, "fb_ms": 1e3 * fb_s,
            "gather_ms": 1e3 * gather_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--benchmark", type=Path, required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--questions", type=int, default=2048)
    parser.add_argument("--models", nargs="*", default=["hga", "vgt"])
    parser.add_argument("--settings", nargs="*", default=["before", "after"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{args.questions} train questions, threads={torch.get_num_threads()}")
    head = ("model", "setting", "B", "loop ms/step", "fwd+bwd ms", "gather ms",
            "loop/fb", "q/s (loop)", "epoch s (15,889 q)")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for backbone in args.models:
        for setting in args.settings:
            r = measure(backbone, setting, args)
            qps = r["batch"] / (r["loop_ms"] / 1e3)
            print(
                f"| {backbone} | {setting} | {r['batch']} | {r['loop_ms']:.1f} | "
                f"{r['fb_ms']:.1f} | {r['gather_ms']:.2f} | {r['loop_ms'] / r['fb_ms']:.2f} | "
                f"{qps:.0f} | {TRAIN_QUESTIONS / qps:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
