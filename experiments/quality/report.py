"""Markdown tables of a ``lofo.py`` result (for docs/results/quality.md).

    python experiments/quality/report.py results.json
"""

from __future__ import annotations

import json
import sys


def _f(x, fmt="{:.3f}"):
    return "n/a" if x is None else fmt.format(x)


def row(name: str, r: dict) -> str:
    return (
        f"| {name} | {_f(r['ladder_srcc_mean'])} | {_f(r['ladder_srcc_worst'])} | "
        f"{r['ladders_above_-0.7']}/{r['ladders']} | {_f(r['pairs_correct_share'], '{:.1%}')} | "
        f"{_f(r['clean_recognized_share'], '{:.1%}')} ({r['clean_videos']}) | "
        f"{_f(r['type_accuracy_level_ge2'], '{:.1%}')} |"
    )


HEADER = (
    "| method | SRCC mean (≤ −0.9) | worst ladder (≤ −0.7) | ladders above −0.7 | "
    "pristine above distorted (≥ 95 %) | unseen clean called clean (≥ 80 %) | "
    "type accuracy, levels ≥ 2 (≥ 85 %) |\n|---|---|---|---|---|---|---|"
)


def main() -> None:
    r = json.load(open(sys.argv[1]))
    print("All six families, each scored by the fold that never saw it:\n")
    print(HEADER)
    print(row("model (argmax class)", r["model_lofo"]))
    if "model_lofo_answer_rule" in r:
        print(row("model (answer path's clean rule)", r["model_lofo_answer_rule"]))
    for name in ("niqe", "brisque"):
        print(row(f"{name.upper()} alone", r["baselines_lofo"][name]))
    print("\nThe three families the old shipped model never saw (photo, synth, ffmpeg):\n")
    print(HEADER)
    print(row("model, leave-one-family-out", r["model_lofo_same_families_as_old"]))
    print(row("old shipped model (3 sample sources)", r["old_model_on_unseen_families"]))
    if "old_model_on_unseen_families_answer_rule" in r:
        print(row("old shipped model (answer rule)", r["old_model_on_unseen_families_answer_rule"]))
    print("\nPer held-out family (model, argmax class):\n")
    print("| family | SRCC mean | worst ladder | pairs | clean (recognized, videos) | type acc ≥ 2 |")
    print("|---|---|---|---|---|---|")
    for f, m in r["model_lofo"]["per_family"].items():
        print(
            f"| {f} | {_f(m['ladder_srcc_mean'])} | {_f(m['ladder_srcc_worst'])} | "
            f"{m['pairs_correct_share']:.1%} | {m['clean'][1]}/{m['clean'][0]} | "
            f"{m['type_accuracy_level_ge2']:.1%} |"
        )
    check = r["issue_check_8s_640x360"]
    print("\nThe issue's 8 s 640×360 ladders (overall score; class of the sharpest / lowest CRF):\n")
    print("| model | ladder | overall scores | never rises | class at the first step |")
    print("|---|---|---|---|---|")
    for m, res in check.items():
        if not isinstance(res, dict) or "rows" in res or m.startswith("compute"):
            continue
        for ladder, v in res.items():
            scores = " / ".join(f"{x['overall']:.2f}" for x in v["rows"])
            first = v["rows"][0]
            print(
                f"| {m} | {ladder} | {scores} | {'yes' if v['monotone_nonincreasing'] else 'no'} | "
                f"{first['class']} ({first['p_class']:.2f}) |"
            )
    c = check["compute_seconds_per_video_second_640x360"]
    print(f"\nCompute: median {c['median']:.3f} s (max {c['max']:.3f} s) per second of 640×360 video over {c['clips']} clips.")
    print("\nCarphone pair (overall score):\n")
    for m, v in r["carphone_pair"].items():
        print(f"- {m}: pristine {v['carphone_pristine']:.2f}, distorted {v['carphone_distorted']:.2f}")


if __name__ == "__main__":
    main()
