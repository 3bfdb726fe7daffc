"""A fresh ``videoqa eval --dataset nextqa-oe`` process, end to end (run by hand).

    python benchmarks/bench_eval_oe.py                      # 3 runs each: cold and warm cache
    python benchmarks/bench_eval_oe.py --tree /tmp/old      # the same command from another checkout

Scores NExT-OE's own HGA val predictions (``../shared/data/nextqa_oe``, 5,343 answers)
with NLTK's tagger from ``../shared/data/nltk_data`` when present. Each run is a new
Python process (``python -c "from videoqa.cli.main import main; main()"``); wall time
and the child's CPU time (user + sys, from ``getrusage``) are printed per run, with the
median. "cold" gives every run an empty cache directory (WordNet is parsed and cached),
"warm" one shared, filled directory.

``--tree DIR`` puts ``DIR`` first on ``PYTHONPATH`` (an older checkout, e.g. made with
``git archive <commit> | tar -x -C DIR``) and scores a flat ``{"<video>_<qid>": answer}``
copy of the file, which older versions can read; such a tree has no WordNet cache.
Target: the whole command under 5 s on this project's 2-core machines.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CODE = "import sys; from videoqa.cli.main import main; sys.argv[0] = 'videoqa'; main()"


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float, dict]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(  # cwd elsewhere: "-c" puts the cwd first on sys.path
        [sys.executable, "-c", CODE, *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode != 0:
        raise SystemExit(f"exit {out.returncode}: {out.stderr[-2000:]}")
    return wall, cpu, json.loads(out.stdout)


def _series(name: str, args: list[str], env: dict[str, str], runs: int, cold: bool) -> None:
    walls, cpus = [], []
    report: dict = {}
    shared = tempfile.mkdtemp(prefix="videoqa-cache-")
    if not cold:
        _run(args, {**env, "VIDEOQA_CACHE_DIR": shared})  # fill the cache, untimed
    for _ in range(runs):
        cache = tempfile.mkdtemp(prefix="videoqa-cache-") if cold else shared
        wall, cpu, report = _run(args, {**env, "VIDEOQA_CACHE_DIR": cache})
        walls.append(wall)
        cpus.append(cpu)
    load = os.getloadavg()[0]
    groups = {k: v["wups0"] for k, v in report.get("by_group", {}).items()}
    print(
        f"{name}: wall {' / '.join(f'{w:.2f}' for w in walls)} s (median "
        f"{statistics.median(walls):.2f}), CPU {' / '.join(f'{c:.2f}' for c in cpus)} s "
        f"(median {statistics.median(cpus):.2f}); load {load:.1f}; WUPS {report.get('wups0')} "
        f"{groups}; normalizer: {report.get('normalizer')}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tree", type=Path, help="run another checkout's videoqa")
    parser.add_argument("--no-tagger", action="store_true", help="do not set NLTK_DATA")
    opts = parser.parse_args()
    ann = DATA / "nextqa_oe" / "val.csv"
    preds = DATA / "nextqa_oe" / "hga_val_predictions.json"
    if not preds.is_file():
        raise SystemExit(f"{preds} is not here")
    env = dict(os.environ)
    if (DATA / "nltk_data").is_dir() and not opts.no_tagger:
        env["NLTK_DATA"] = str(DATA / "nltk_data")
    if opts.tree is not None:
        env["PYTHONPATH"] = f"{opts.tree.resolve()}{os.pathsep}{env.get('PYTHONPATH', '')}"
        nested = json.loads(preds.read_text())
        flat = {f"{v}_{q}": a for v, answers in nested.items() for q, a in answers.items()}
        preds = Path(tempfile.mkdtemp()) / "hga_val_flat.json"
        preds.write_text(json.dumps(flat))
    args = ["eval", "--dataset", "nextqa-oe", "--annotations", str(ann)]
    args += ["--predictions", str(preds), "--json"]
    label = f"tree {opts.tree}" if opts.tree else "this checkout"
    _series(f"{label}, cold cache", args, env, opts.runs, cold=True)
    if opts.tree is None:
        _series(f"{label}, warm cache", args, env, opts.runs, cold=False)


if __name__ == "__main__":
    main()
