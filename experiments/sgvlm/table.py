"""Markdown tables of SGVLM runs (``videoqa train --recipe sgvlm`` output folders).

    python experiments/sgvlm/table.py RUN_DIR [RUN_DIR ...] [--split test]

Per run: multiple-choice accuracy (candidates ranked by likelihood) per family and type,
open-ended exact-match accuracy and WUPS@0.9 of generated answers per family, and the
localizer's moment retrieval (R1@0.5, mAP) against the questions' intervals.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

FAMILIES = ("D", "R", "T", "C")
TYPES = ("DA", "DC", "DE", "RS", "TP", "TN", "TW", "CW", "CO")


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def tables(runs: list[Path], split: str) -> str:
    fam = [
        "| run | descriptive | relationship | temporal | causal | all |",
        "|---|---|---|---|---|---|",
    ]
    typ = ["| run | " + " | ".join(TYPES) + " |", "|---" * (len(TYPES) + 1) + "|"]
    oe = ["| run | D acc / WUPS@0.9 | R | T | C | all |", "|---|---|---|---|---|---|"]
    loc = [
        "| run | MR R1@0.5 | MR R1@0.7 | MR mAP | HL mAP (VeryGood) | HL Hit1 |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        res = json.loads((run / "results.json").read_text())["tests"][split]
        name = run.name
        fam.append(
            f"| {name} | "
            + " | ".join(_fmt(res["by_group"].get(f)) for f in FAMILIES)
            + f" | {res['accuracy']:.1f} |"
        )
        typ.append(f"| {name} | " + " | ".join(_fmt(res["by_type"].get(t)) for t in TYPES) + " |")
        o = res.get("open_ended") or {}
        cells = [
            f"{_fmt(o[k]['accuracy'])} / {_fmt(o[k]['wups9'])}" if k in o else "–"
            for k in (*FAMILIES, "all")
        ]
        oe.append(f"| {name} | " + " | ".join(cells) + " |")
        m = res.get("localizer")
        if m:
            keys = (
                "MR-full-R1@0.5",
                "MR-full-R1@0.7",
                "MR-full-mAP",
                "HL-min-VeryGood-mAP",
                "HL-min-VeryGood-Hit1",
            )
            loc.append(f"| {name} | " + " | ".join(_fmt(m.get(k)) for k in keys) + " |")
        else:
            loc.append(f"| {name} | – | – | – | – | – |")
    return "\n\n".join(
        [
            "Multiple choice, accuracy (%) by family",
            "\n".join(fam),
            "Multiple choice, accuracy (%) by type",
            "\n".join(typ),
            "Open-ended (generated), exact-match accuracy / WUPS@0.9 (%)",
            "\n".join(oe),
            "Localizer vs ground-truth intervals (QVHighlights metrics, %)",
            "\n".join(loc),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    print(tables(args.runs, args.split))


if __name__ == "__main__":
    main()
