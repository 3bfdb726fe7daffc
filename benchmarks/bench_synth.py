"""Speed and validity of the synthetic benchmark generator (run by hand, not by pytest).

    python benchmarks/bench_synth.py --videos 1000 --workers 2          # speed (writes MP4s)
    python benchmarks/bench_synth.py --videos 1000 --validity           # + blind / oracle

Prints wall seconds for generating ``--videos`` videos of 64 frames at 112×112, 16 fps
(the issue's target: 1,000 videos in under 2 minutes on 2 cores), the time per video
of each stage in one process, and with ``--validity`` the blind-baseline and oracle
accuracies per question type.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def stage_times(n: int) -> dict[str, float]:
    """Milliseconds per video of each stage, in this process."""
    from videoqa.synth.config import SynthConfig
    from videoqa.synth.encode import write_mp4
    from videoqa.synth.generate import _Job, process_video
    from videoqa.synth.render import render_video
    from videoqa.synth.simulate import simulate

    cfg = SynthConfig(videos=n)
    out: dict[str, list[float]] = {"simulate": [], "render": [], "encode": [], "questions": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            t0 = time.perf_counter()
            graph = simulate(cfg, "train", i)
            t1 = time.perf_counter()
            frames = list(render_video(graph))
            t2 = time.perf_counter()
            write_mp4(Path(tmp) / "v.mp4", frames, fps=cfg.fps)
            t3 = time.perf_counter()
            process_video(_Job(cfg, "train", i, None, False, False))  # simulate + questions
            t4 = time.perf_counter()
            out["simulate"].append(t1 - t0)
            out["render"].append(t2 - t1)
            out["encode"].append(t3 - t2)
            out["questions"].append((t4 - t3) - (t1 - t0))
    return {k: 1000 * float(np.median(v)) for k, v in out.items()}


def validity(videos: int, seed: int, workers: int) -> None:
    from videoqa.synth import BlindBaseline, SynthConfig, View, generate_annotations
    from videoqa.synth.oracle import oracle_accuracy

    data = generate_annotations(SynthConfig(videos=videos, seed=seed), workers=workers)
    train, test = data.qa["train"], data.qa["test"]
    print("questions: " + ", ".join(f"{s} {len(q)}" for s, q in data.qa.items()))
    blind = BlindBaseline().fit(train)
    for name, samples in (("train", train), ("test", test), ("comp", data.qa["comp"])):
        acc = blind.accuracy(samples)
        print(f"blind {name:5s}: " + " ".join(f"{k} {v:.3f}" for k, v in acc.items()))
    for view in View:
        acc = oracle_accuracy(test + data.qa["comp"], data.graphs, view).accuracy
        print(
            f"oracle {view.value:10s}: " + " ".join(f"{k} {v:.3f}" for k, v in sorted(acc.items()))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stages", type=int, default=20, help="videos for the stage timing")
    parser.add_argument("--validity", action="store_true")
    args = parser.parse_args()
    from videoqa.synth import SynthConfig, generate_dataset

    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()}")
    print("ms per video: " + ", ".join(f"{k} {v:.1f}" for k, v in stage_times(args.stages).items()))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = SynthConfig(videos=args.videos, seed=args.seed)
        start = time.perf_counter()
        report = generate_dataset(Path(tmp) / "synth", cfg, workers=args.workers)
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (Path(tmp) / "synth").rglob("*") if p.is_file())
    n = sum(s.questions for s in report.splits.values())
    print(
        f"{args.videos} videos, {args.workers} workers: {seconds:.1f} s "
        f"({1000 * seconds / args.videos:.1f} ms/video), {n} questions, {size / 2**20:.0f} MiB"
    )
    if args.validity:
        validity(args.videos, args.seed, args.workers)


if __name__ == "__main__":
    main()
