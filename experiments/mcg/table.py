"""Tables and curves of the MCG experiments (experiments/mcg/results/*.json) written
between the ``<!-- tables:begin -->`` / ``<!-- tables:end -->`` markers of
docs/results/mcg.md, and docs/results/mcg_curves.png.

    python experiments/mcg/table.py
"""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "mcg" / "results"
DOC = ROOT / "docs" / "results" / "mcg.md"
CURVES = ROOT / "docs" / "results" / "mcg_curves.png"
QTYPES = ("DA", "DC", "DE", "TN", "TP", "TW", "CO", "CW", "RS")
LABELS = {
    "ft_mcg": "MCG (pre-trained; instance + token contrast)",
    "ft_no_token": "without token-level contrast",
    "ft_no_instance": "without instance-level contrast",
    "ft_no_contrast": "without both (MLM pre-training, generation loss only)",
    "ft_no_pretrain": "without pre-training (contrast in fine-tuning only)",
    "ft_classifier": "classification head, same encoders and pre-training",
    "plateau_mcg": "MCG, 25 epochs on all 2,678 training questions",
    "base_hga": "HGA (baseline recipe, frozen random tiny-CLIP features, 16 frames)",
    "base_vgt": "VGT (baseline recipe, frozen random tiny-CLIP features, 16 frames)",
    "long_head-tail": "long split, head-tail training sampler",
    "long_uniform": "long split, uniform training sampler",
}


def _ms(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def _normalise(rec: dict) -> dict:
    """Backbone-recipe records (``base_*``) in the MCG records' shape (MC only)."""
    test = rec["tests"].get("test", {})
    if "accuracy" in test and "mc_accuracy" not in test:
        per_type = test.get("scores", {}).get("per_type", {})
        rec["tests"]["test"] = {
            "mc_accuracy": test["accuracy"],
            "mc_by_type": {k: v["percent"] for k, v in per_type.items()},
        }
    return rec


def load() -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for path in sorted(RESULTS.glob("*.json")):
        rec = _normalise(json.loads(path.read_text()))
        groups[re.sub(r"_s\d+$", "", rec["name"])].append(rec)
    return groups


def tables(groups: dict[str, list[dict]]) -> str:
    lines = [
        "| model | seeds | MC acc % | OE exact % | WUPS@0 | WUPS@0.9 | best val MC % (epoch) | CPU min / run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, label in LABELS.items():
        runs = groups.get(key, [])
        if not runs:
            lines.append(f"| {label} | 0 | not run | | | | | |")
            continue
        tests = [r["tests"]["test"] for r in runs]
        best = ", ".join(f"{r['best_value']:.1f} ({r['best_epoch'] + 1})" for r in runs)
        lines.append(
            f"| {label} | {len(runs)} | {_ms([t['mc_accuracy'] for t in tests])} "
            f"| {_ms([t['oe_accuracy'] for t in tests if 'oe_accuracy' in t])} "
            f"| {_ms([t['wups_0'] for t in tests if 'wups_0' in t])} "
            f"| {_ms([t['wups_0.9'] for t in tests if 'wups_0.9' in t])} | {best} "
            f"| {_ms([r['cpu_seconds'] / 60 for r in runs])} |"
        )
    lines += ["", "Multiple-choice accuracy (%) per question type, test split, mean ± std over seeds:", ""]
    lines.append("| model | " + " | ".join(QTYPES) + " |")
    lines.append("|---|" + "---|" * len(QTYPES))
    for key, label in LABELS.items():
        runs = groups.get(key, [])
        if not runs:
            continue
        cells = [_ms([r["tests"]["test"]["mc_by_type"].get(q) for r in runs if q in r["tests"]["test"]["mc_by_type"]]) for q in QTYPES]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    pre = {k: v for k, v in groups.items() if k.startswith("pretrain_")}
    if pre:
        lines += ["", "| pre-training variant | seeds | val recall@1 % (video→caption, 20 videos) | final train loss | CPU min / run |", "|---|---|---|---|---|"]
        for key, runs in sorted(pre.items()):
            last = [r["curve"][-1]["train_losses"]["loss"] for r in runs]
            lines.append(
                f"| {key.removeprefix('pretrain_')} | {len(runs)} | {_ms([r['best_value'] for r in runs])} "
                f"| {_ms(last)} | {_ms([r['cpu_seconds'] / 60 for r in runs])} |"
            )
    return "\n".join(lines)


def curves(groups: dict[str, list[dict]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label in LABELS.items():
        for i, r in enumerate(groups.get(key, [])):
            xs = [c["epoch"] + 1 for c in r["curve"]]
            a.plot(xs, [c["val_accuracy"] for c in r["curve"]], color=plt.cm.tab20(list(LABELS).index(key)), label=label if i == 0 else None, alpha=0.7)
            if "generation" in r["curve"][0]["train_losses"]:
                b.plot(xs, [c["train_losses"]["generation"] for c in r["curve"]], color=plt.cm.tab20(list(LABELS).index(key)), alpha=0.7)
    a.axhline(20, color="black", linestyle=":", linewidth=1, label="chance (5 choices)")
    a.set_xlabel("epoch"); a.set_ylabel("val MC accuracy % (200 questions)"); a.legend(fontsize=6)  # noqa: E702
    b.set_xlabel("epoch"); b.set_ylabel("train answer loss (generation: nats / answer; classifier: CE)")  # noqa: E702
    fig.tight_layout()
    fig.savefig(CURVES, dpi=110)


def main() -> None:
    groups = load()
    text = DOC.read_text(encoding="utf-8")
    block = f"<!-- tables:begin -->\n{tables(groups)}\n<!-- tables:end -->"
    text = re.sub(r"<!-- tables:begin -->.*<!-- tables:end -->", lambda _: block, text, flags=re.S)
    DOC.write_text(text, encoding="utf-8")
    curves(groups)


if __name__ == "__main__":
    main()
