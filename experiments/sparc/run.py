"""The SpARC ablation on the synthetic benchmark (issue 5): every variant × backbone × seed.

Variants (SpARC §3; the recipe switches of ``videoqa/configs/sparc/*.yaml``):

* ``baseline``   plain CE on the whole video (``--recipe baseline``)
* ``temporal``   L_g + w_c·L_c (guided prediction on the causal frames + consistency)
* ``spatial``    CE on the whole video + w_s·L_s (spatial distillation from the teacher)
* ``sparc``      L_g + w_c·L_c + w_s·L_s
* ``sparc+tgm``  full SpARC with temporal-guided mixup

Usage (each run is a ``videoqa train`` in its own process, ``--jobs`` at a time, one
torch thread each; a finished run — one with ``results.json`` — is skipped, so an
interrupted sweep resumes)::

    python experiments/sparc/run.py sweep --benchmark B --features F --teacher T \
        --out runs/sparc_exp --epochs 6 --jobs 2
    python experiments/sparc/run.py table --out runs/sparc_exp --md docs/results/sparc.md

``table`` writes mean ± std over seeds of the test accuracy per question type and
family, plus CPU time (user + system seconds of each run's process).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import typer

CONFIGS = Path(__file__).resolve().parents[2] / "videoqa" / "configs" / "sparc"
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "baseline": ("baseline", []),
    "temporal": ("sparc", ["sparc.w_s=0"]),
    "spatial": ("sparc", ["sparc.temporal_guidance=false"]),
    "sparc": ("sparc", []),
    "sparc+tgm": ("sparc", ["sparc.mixup.enabled=true"]),
}
BACKBONES = ("hga", "vgt")
FAMILIES = {"D": "descriptive", "R": "relationship", "T": "temporal", "C": "causal"}
TYPES = ("DA", "DC", "DE", "RS", "TP", "TN", "TW", "CW", "CO")

app = typer.Typer(add_completion=False, no_args_is_help=True)


@dataclass(frozen=True)
class Run:
    backbone: str
    variant: str
    seed: int

    def folder(self, root: Path) -> Path:
        return root / self.backbone / self.variant.replace("+", "_") / f"seed{self.seed}"


def _command(run: Run, args: dict, root: Path) -> list[str]:
    recipe, extra = VARIANTS[run.variant]
    sets = [
        f"data.benchmark_dir={args['benchmark']}",
        f"data.features_dir={args['features']}",
        f"data.teacher_path={args['teacher']}",
        "data.test_splits=[test,comp]",
        *([f"epochs={args['epochs']}"] if args["epochs"] else []),
        f"seed={run.seed}",
        "logging.log_every=50",
        *extra,
        *args["sets"],
    ]
    config = CONFIGS / f"{recipe}_{run.backbone}{args['suffix']}.yaml"
    cmd = [sys.executable, __file__, "one", "--recipe", recipe, "--config", str(config)]
    cmd += ["--out", str(run.folder(root))]
    for s in sets:
        cmd += ["--set", s]
    return cmd


@app.command()
def one(
    recipe: str = typer.Option(...),
    config: Path = typer.Option(...),
    out: Path = typer.Option(...),
    sets: list[str] = typer.Option([], "--set"),
) -> None:
    """Train one run in this process and record its CPU and wall time in ``time.json``."""
    import torch

    from videoqa.recipes import build_recipe
    from videoqa.training import TrainingLoop

    torch.set_num_threads(1)
    start = time.perf_counter()
    job = build_recipe(config, [*sets, f"output_dir={out}"], recipe)
    TrainingLoop(job).fit(resume=(out / "checkpoints").exists())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    times = {"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": time.perf_counter() - start}
    (out / "time.json").write_text(json.dumps(times) + "\n")


@app.command()
def sweep(
    benchmark: Path = typer.Option(...),
    features: Path = typer.Option(...),
    teacher: Path = typer.Option(...),
    out: Path = typer.Option(Path("runs/sparc_exp")),
    epochs: int = typer.Option(0, help="Epochs (0 = the config's: at most, with patience)."),
    suffix: str = typer.Option(
        "_oracle", help="Config file suffix: baseline_<backbone><suffix>.yaml ('' = the old ones)."
    ),
    seeds: int = typer.Option(3),
    jobs: int = typer.Option(2),
    backbones: list[str] = typer.Option(list(BACKBONES), "--backbone"),
    variants: list[str] = typer.Option(list(VARIANTS), "--variant"),
    sets: list[str] = typer.Option([], "--set", help="Extra overrides for every run."),
    runs: list[str] = typer.Option(
        [], "--run", help="backbone:variant:seed, in this order, instead of the whole grid."
    ),
    skip: list[str] = typer.Option([], "--skip", help="backbone:variant:seed not to start."),
) -> None:
    """Run every (backbone, variant, seed) not finished yet, ``jobs`` at a time."""
    args = {"benchmark": benchmark, "features": features, "teacher": teacher}
    args |= {"epochs": epochs, "sets": sets, "suffix": suffix}
    grid = [Run(b, v, s) for s in range(seeds) for b in backbones for v in variants]
    if runs:
        grid = [Run(b, v, int(s)) for b, v, s in (r.split(":") for r in runs)]
    skipped = {Run(b, v, int(s)) for b, v, s in (r.split(":") for r in skip)}
    todo = [r for r in grid if r not in skipped and not (r.folder(out) / "time.json").exists()]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    running: list[tuple[Run, subprocess.Popen]] = []
    while todo or running:
        while todo and len(running) < jobs:
            run = todo.pop(0)
            run.folder(out).mkdir(parents=True, exist_ok=True)
            log = (run.folder(out) / "train.log").open("w")
            cmd = _command(run, args, out)
            running.append((run, subprocess.Popen(cmd, stdout=log, stderr=log, env=env)))
            print(f"start {run}", flush=True)
        time.sleep(2)
        for item in list(running):
            run, proc = item
            if proc.poll() is not None:
                running.remove(item)
                print(f"done  {run} rc={proc.returncode}", flush=True)


@app.command("score-best")
def score_best(folder: Path = typer.Argument(...)) -> None:
    """Score ``checkpoints/best`` of a run that was stopped before it finished (deadline)
    on its test splits; writes ``results_partial.json`` (same layout as ``results.json``,
    plus ``"finished": false``) so ``table`` can report it, marked as not finished."""
    import torch

    from videoqa.recipes import build_recipe

    torch.set_num_threads(1)
    job = build_recipe(folder / "config.yaml")
    model = job.setup(None).model
    job.restore_best(model, folder / "checkpoints" / "best")
    model.eval()
    epochs = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in epochs if r.get("kind") == "epoch"]
    best = max(range(len(epochs)), key=lambda i: epochs[i]["val_accuracy"])
    out = {
        "finished": False,
        "best_epoch": best,
        "best_value": epochs[best]["val_accuracy"],
        "tests": job.test(model, folder, True),
    }
    (folder / "results_partial.json").write_text(json.dumps(out, indent=2) + "\n")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "best_epoch": best + 1,
                "epochs": len(epochs),
                "cpu_s_scoring": usage.ru_utime + usage.ru_stime,
            }
        )
    )


def _accuracies(folder: Path) -> dict[str, float]:
    done = (folder / "results.json").exists()
    result = json.loads((folder / ("results.json" if done else "results_partial.json")).read_text())
    rows: dict[str, float] = {}
    for split, res in result["tests"].items():
        scores = res["scores"]
        rows[f"{split}:all"] = scores["overall"]["percent"]
        for key, summary in scores["per_type"].items():
            rows[f"{split}:{key}"] = summary["percent"]
        for key, summary in scores.get("per_group", {}).items():
            rows[f"{split}:{FAMILIES.get(key, key)}"] = summary["percent"]
    rows["val(best)"] = result["best_value"]
    rows["best_epoch"] = result["best_epoch"] + 1
    epochs = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    rows["epochs"] = sum(1 for r in epochs if r.get("kind") == "epoch")
    rows["finished"] = float(done)
    timing = folder / "time.json"
    rows["cpu_s"] = json.loads(timing.read_text())["cpu_s"] if timing.exists() else float("nan")
    return rows


def collect(root: Path) -> dict[tuple[str, str], list[dict[str, float]]]:
    """(backbone, variant) → one accuracy row per finished seed."""
    out: dict[tuple[str, str], list[dict[str, float]]] = {}
    for b in BACKBONES:
        for v in VARIANTS:
            seeds = sorted((root / b / v.replace("+", "_")).glob("seed*"))
            done = [
                _accuracies(s)
                for s in seeds
                if (s / "results.json").exists() or (s / "results_partial.json").exists()
            ]
            if done:
                out[(b, v)] = done
    return out


def _cell(values: list[float]) -> str:
    arr = np.asarray(values, dtype=float)
    std = arr.std(ddof=1) if arr.size > 1 else 0.0
    return f"{arr.mean():.1f} ± {std:.1f}"


@app.command()
def table(out: Path = typer.Option(Path("runs/sparc_exp")), md: Path | None = None) -> None:
    """Print (and write to ``md``) the mean ± std table over seeds."""
    runs = collect(out)
    if not runs:
        raise typer.Exit(1)
    keys = sorted({k for rows in runs.values() for r in rows for k in r if k.startswith("test:")})
    group_cols = [f"test:{f}" for f in (*FAMILIES.values(), "all") if f"test:{f}" in keys]
    type_cols = [f"test:{t}" for t in TYPES if f"test:{t}" in keys]
    lines = []
    for title, cols in (("by family", group_cols), ("by question type", type_cols)):
        head = ["backbone", "variant", "n", *[c.split(":")[1] for c in cols]]
        lines += [f"### Test accuracy (%) {title}", "", "| " + " | ".join(head) + " |"]
        lines.append("|" + "---|" * len(head))
        for (b, v), rows in runs.items():
            cells = [_cell([r[c] for r in rows if c in r]) for c in cols]
            lines.append("| " + " | ".join([b, v, str(len(rows)), *cells]) + " |")
        lines.append("")
    head = [
        "backbone",
        "variant",
        "val (best)",
        "comp (novel combos)",
        "best epoch / epochs run",
        "CPU s / run",
    ]
    lines += ["### Validation, compositional split and cost", "", "| " + " | ".join(head) + " |"]
    lines.append("|" + "---|" * len(head))
    for (b, v), rows in runs.items():
        comp = _cell([r["comp:all"] for r in rows]) if "comp:all" in rows[0] else "-"
        cpu = np.mean([r["cpu_s"] for r in rows])
        stops = ", ".join(
            f"{r['best_epoch']:.0f}/{r['epochs']:.0f}" + ("" if r["finished"] else " (cut)")
            for r in rows
        )
        lines.append(
            f"| {b} | {v} | {_cell([r['val(best)'] for r in rows])} | {comp} | {stops} "
            f"| {cpu:.0f} |"
        )
    total = sum(r["cpu_s"] for rows in runs.values() for r in rows)
    lines += ["", f"Total CPU time over {sum(map(len, runs.values()))} runs: {total / 60:.1f} min."]
    text = "\n".join(lines) + "\n"
    print(text)
    if md is not None:
        md.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    app()
