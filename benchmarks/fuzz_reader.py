"""Fuzz campaign against the video reader: many damaged videos, typed errors only.

Run by hand (not by pytest), from the repository root, ideally alone and niced::

    nice -n 10 python benchmarks/fuzz_reader.py                    # 10,000 mutants, 2 workers
    python benchmarks/fuzz_reader.py --mutants 500 --workers 1     # a quick look
    python benchmarks/fuzz_reader.py --campaign 3 --out /tmp/fuzz  # another seeded draw

The seeds are :data:`videoqa.video.fuzz.SEEDS` (written with the ffmpeg command line),
mutant ``n`` of campaign ``c`` is :func:`videoqa.video.fuzz.mutant` (a pure function of
``(c, n)``: any mutant can be rebuilt from its number), and each mutant is read by
:func:`videoqa.video.fuzz.check_file` in a worker process. A worker that crashes (a
signal) or stops answering for ``--hang-seconds`` is killed; its current mutant counts as
``crash`` or ``hang`` and a new worker goes on with the next one.

Output: counts by outcome (``ok``, ``partial``, ``error``, ``timeout`` with the error
class and the stage it came from; the bugs ``untyped``, ``invariant``, ``pixels``,
``crash``, ``hang``), the outcomes per seed, and ``OUT/report.json`` with everything plus the bug
mutants written as files under ``OUT/bugs/`` to reproduce them.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from videoqa.video import fuzz  # noqa: E402

BUGS = ("untyped", "invariant", "pixels", "crash", "hang")


def _worker(seeds_dir: Path, campaign: int, start: int, stop: int, all_exact: bool) -> None:
    """Check mutants ``start`` ... ``stop - 1``; one JSON line per mutant on stdout."""
    seeds = {p.name: p.read_bytes() for p in sorted(seeds_dir.iterdir()) if p.is_file()}
    for mutant in fuzz.mutants(seeds, stop - start, campaign=campaign, start=start):
        exact = all_exact or fuzz.seed_exact(mutant.seed)
        outcome = fuzz.check_bytes(mutant.data, Path(mutant.seed).suffix, exact=exact)
        row = {"n": mutant.number, "seed": mutant.seed, "kind": mutant.kind,
               "status": outcome.status, "error": outcome.error, "stage": outcome.stage,
               "key": outcome.key, "detail": outcome.detail[:300]}  # fmt: skip
        sys.stdout.write(json.dumps(row) + "\n")
        sys.stdout.flush()


class _Run:
    """One worker process over the mutant range ``[next, stop)``."""

    def __init__(self, args: argparse.Namespace, seeds_dir: Path, start: int, stop: int) -> None:
        self.next, self.stop = start, stop
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--seeds",
               str(seeds_dir), "--campaign", str(args.campaign), "--start", str(start),
               "--stop", str(stop), *(["--all-exact"] if args.all_exact else [])]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
        )
        self.last = time.monotonic()


def _campaign(args: argparse.Namespace, seeds_dir: Path) -> list[dict]:
    """Run the mutants in ``--workers`` processes; returns one row per mutant."""
    chunk = max(1, min(args.chunk, args.mutants // max(1, args.workers) or 1))
    ranges = collections.deque(
        (s, min(s + chunk, args.mutants)) for s in range(0, args.mutants, chunk)
    )
    rows: dict[int, dict] = {}
    running: list[_Run] = []
    selector = selectors.DefaultSelector()
    seeds = {p.name: p.read_bytes() for p in sorted(seeds_dir.iterdir()) if p.is_file()}
    started = time.monotonic()

    def lost(run: _Run, status: str) -> None:
        mutant = fuzz.mutant(seeds, run.next, args.campaign)
        rows[run.next] = {"n": run.next, "seed": mutant.seed, "kind": mutant.kind,
                          "status": status, "error": "", "stage": "", "key": status,
                          "detail": f"worker exit {run.proc.returncode}"}  # fmt: skip
        if run.next + 1 < run.stop:
            ranges.appendleft((run.next + 1, run.stop))

    while ranges or running:
        while ranges and len(running) < args.workers:
            run = _Run(args, seeds_dir, *ranges.popleft())
            selector.register(run.proc.stdout, selectors.EVENT_READ, run)
            running.append(run)
        for key, _ in selector.select(timeout=1.0):
            run = key.data
            line = run.proc.stdout.readline()
            if line:
                row = json.loads(line)
                rows[row["n"]] = row
                run.next, run.last = row["n"] + 1, time.monotonic()
                if len(rows) % 500 == 0:
                    rate = len(rows) / (time.monotonic() - started)
                    print(f"  {len(rows)} / {args.mutants} ({rate:.0f}/s)", file=sys.stderr)
                continue
            selector.unregister(run.proc.stdout)
            run.proc.wait()
            running.remove(run)
            if run.next < run.stop:  # died before its range was done
                lost(run, "crash")
        for run in list(running):
            if time.monotonic() - run.last > args.hang_seconds:
                run.proc.kill()
                run.proc.wait()
                selector.unregister(run.proc.stdout)
                running.remove(run)
                lost(run, "hang")
    return [rows[n] for n in sorted(rows)]


def _report(rows: list[dict], seconds: float, args: argparse.Namespace, out: Path) -> dict:
    by_key = collections.Counter(row["key"] for row in rows)
    by_status = collections.Counter(row["status"] for row in rows)
    per_seed: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for row in rows:
        per_seed[row["seed"]][row["status"]] += 1
    bugs = [row for row in rows if row["status"] in BUGS]
    report = {
        "mutants": len(rows),
        "campaign": args.campaign,
        "all_exact": args.all_exact,
        "seconds": round(seconds, 1),
        "by_status": dict(by_status.most_common()),
        "by_outcome": dict(by_key.most_common()),
        "per_seed": {seed: dict(c) for seed, c in sorted(per_seed.items())},
        "bugs": bugs,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutants", type=int, default=10_000, help="mutants to check")
    parser.add_argument("--campaign", type=int, default=0, help="seed of the mutations")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--chunk", type=int, default=500, help="mutants per worker process")
    parser.add_argument("--hang-seconds", type=float, default=120.0,
                        help="a worker silent this long is killed (its mutant: hang)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="report folder (default: tmp)")
    parser.add_argument("--all-exact", action="store_true",
                        help="also require the same pixels on every read path for the seeds "
                        "the reader does not promise it for (VP8, open GOPs): to measure")  # fmt: skip
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--stop", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.seeds, args.campaign, args.start, args.stop, args.all_exact)
        return
    if fuzz.ffmpeg_path() is None:
        sys.exit("fuzz_reader: the seeds are made with the ffmpeg command line; install ffmpeg")
    out = args.out or Path(tempfile.mkdtemp(prefix="videoqa-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)
    seeds_dir = out / "seeds"
    seeds = fuzz.make_seeds(seeds_dir)
    print(f"{len(seeds)} seeds in {seeds_dir}; {args.mutants} mutants, campaign "
          f"{args.campaign}, {args.workers} workers", file=sys.stderr)  # fmt: skip
    start = time.perf_counter()
    rows = _campaign(args, seeds_dir)
    report = _report(rows, time.perf_counter() - start, args, out)
    if report["bugs"]:
        bug_dir = out / "bugs"
        bug_dir.mkdir(exist_ok=True)
        data = {p.name: p.read_bytes() for p in seeds_dir.iterdir()}
        for row in report["bugs"]:
            mutant = fuzz.mutant(data, row["n"], args.campaign)
            (bug_dir / f"{row['n']:06d}_{row['kind']}_{mutant.seed}").write_bytes(mutant.data)
    print(f"\n{report['mutants']} mutants in {report['seconds']} s (campaign {args.campaign})")
    print("\nby status:")
    for status, count in report["by_status"].items():
        print(f"  {count:6d}  {status}")
    print("\nby outcome:")
    for key, count in report["by_outcome"].items():
        print(f"  {count:6d}  {key}")
    print(f"\nbugs: {len(report['bugs'])}")
    for row in report["bugs"][:20]:
        print(f"  #{row['n']} {row['seed']} {row['kind']}: {row['status']} {row['error']} "
              f"@{row['stage']}: {row['detail'][:160]}")  # fmt: skip
    print(f"\nreport: {out / 'report.json'}")


if __name__ == "__main__":
    main()
