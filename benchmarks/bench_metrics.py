"""Speed of the metrics on real annotation files (run by hand: ``python benchmarks/bench_metrics.py``).

Targets: 5,000 multiple-choice predictions scored in < 0.5 s; WUPS@0 for 5,000 answer pairs
in < 5 s. Uses ``../shared/data`` beside the checkout (NExT-QA val, NExT-OE val,
QVHighlights val); predictions are random or perturbed ground truth, seeded. Wall times on a
shared machine vary with its load; the CPU time of the WUPS run is printed too.
"""

from __future__ import annotations

import csv
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from videoqa.metrics import (
    MomentGroundTruth,
    MomentPrediction,
    load_wordnet,
    multiple_choice_accuracy,
    qvhighlights_metrics,
    wups_scores,
)
from videoqa.metrics.wordnet import WordNet

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_mc(n: int = 5000) -> None:
    rows = list(csv.DictReader((DATA / "nextqa" / "val.csv").open()))
    rows = (rows * (n // len(rows) + 1))[:n]
    rng = np.random.default_rng(0)
    answers = np.array([int(r["answer"]) for r in rows])
    preds = np.where(rng.random(n) < 0.6, answers, rng.integers(0, 5, n))
    types = [r["type"] for r in rows]
    t = _median_time(lambda: multiple_choice_accuracy(preds, answers, types), 7)
    acc = multiple_choice_accuracy(preds, answers, types).overall.percent
    print(f"multiple choice, {n} predictions: {t * 1000:.1f} ms (median of 7), acc {acc}")


def _perturb(answers: list[str], rng: random.Random) -> list[str]:
    vocab = sorted({w for a in answers for w in a.split()})
    out = []
    for i, a in enumerate(answers):
        words = a.split()
        kind = i % 4
        if kind == 0:
            out.append(a)
        elif kind == 1:
            out.append(rng.choice(answers))
        elif kind == 2:
            out.append(" ".join(rng.choice(vocab) if rng.random() < 0.5 else w for w in words))
        else:
            out.append(" ".join(w for w in words if rng.random() > 0.3) or rng.choice(vocab))
    return out


def bench_wups(n: int = 5000) -> None:
    start = time.perf_counter()
    wn = load_wordnet()
    load = time.perf_counter() - start
    answers = [r["answer"] for r in csv.DictReader((DATA / "nextqa_oe" / "val.csv").open())][:n]
    preds = _perturb(answers, random.Random(0))
    start, cpu = time.perf_counter(), time.process_time()
    s0 = wups_scores(preds, answers, 0.0, wordnet=wn)
    cold, cold_cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    s9 = wups_scores(preds, answers, 0.9, wordnet=wn)
    warm = time.perf_counter() - start
    print(
        f"WUPS, {len(answers)} pairs: WordNet load {load:.2f} s (once per process); "
        f"WUPS@0 cold caches {cold:.2f} s wall / {cold_cpu:.2f} s CPU; "
        f"WUPS@0.9 after it {warm:.2f} s; "
        f"mean WUPS@0 {100 * s0.mean():.2f}, WUPS@0.9 {100 * s9.mean():.2f}"
    )
    _report_cache(wn)


def _report_cache(wn: WordNet) -> None:
    info = wn.word_similarity.cache_info()
    print(f"  word-pair cache: {info.currsize} pairs, {info.hits} hits, {info.misses} misses")


def bench_qvhighlights() -> None:
    lines = (DATA / "qvhighlights" / "highlight_val_release.jsonl").read_text().splitlines()
    gts = [MomentGroundTruth.model_validate_json(line) for line in lines]
    rng = np.random.default_rng(0)
    preds = []
    for g in gts:
        windows = [
            (s + 2 * rng.integers(-2, 3), e, float(rng.random())) for s, e in g.relevant_windows
        ]
        windows += [
            (float(a), float(a) + 10.0, float(rng.random())) for a in rng.integers(0, 140, 8)
        ]
        scores = rng.normal(size=int(g.duration / 2)).tolist()
        preds.append(
            MomentPrediction(qid=g.qid, pred_relevant_windows=windows, pred_saliency_scores=scores)
        )
    t = _median_time(lambda: qvhighlights_metrics(preds, gts), 3)
    brief = qvhighlights_metrics(preds, gts).brief
    print(f"QVHighlights val, {len(gts)} queries, MR + HL: {t:.2f} s (median of 3); {brief}")


def main() -> int:
    if not DATA.is_dir():
        print(f"{DATA} is missing", file=sys.stderr)
        return 1
    bench_mc()
    bench_wups()
    bench_qvhighlights()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
