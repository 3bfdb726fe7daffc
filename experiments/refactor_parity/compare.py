"""Compare two training logs (``metrics.jsonl``) record by record, or two ``results.json``.

Step records (``"kind": "step"``) are matched by ``(epoch, step)``, epoch records
(``"kind": "epoch"``) by ``epoch``; any other kind by its position among the records of
that kind. Every numeric leaf is compared (nested dicts are flattened to dotted paths,
e.g. ``losses.main`` or ``val_per_type.CO``; lists by index), except wall-clock fields
(``seconds``, ``time``, ``elapsed``, ``*_seconds``, ``timestamp``...). For each
``(kind, field)`` the report gives how many values were compared, the max absolute and
relative difference, and whether every value is bit-exact (the same float64; NaN equals
NaN). Records or fields present on one side only are listed.

The two logs may spell a field differently (the old SGVLM loop logged ``loss``/``lm``
flat, a new loop may nest them under ``losses``): ``--map OLD=NEW`` renames a field of
file A to its name in file B before matching (repeatable; a trailing ``*`` maps a
prefix: ``--map 'train_losses.*=train.*'``). The old SGVLM loop also numbered its step
records within the epoch from 0 (``step`` = index of the batch), the shared loop by the
global optimiser step from 1: ``--a-epoch-steps S`` (S = steps per epoch) matches A's
``(e, s)`` to B's ``(e, e*S + s + 1)``.

    python experiments/refactor_parity/compare.py A/metrics.jsonl B/metrics.jsonl
    python experiments/refactor_parity/compare.py A/results.json B/results.json --json
    python experiments/refactor_parity/compare.py A B --map loss=losses.loss --atol 1e-6
    python experiments/refactor_parity/compare.py A B --a-epoch-steps 25 --map 'loss=losses.loss'

Exit code: 0 when every field of A matched bit-exactly (or within ``--atol`` when
given) and no record or field of A is missing from B; 1 otherwise; 2 on a usage error.
Fields that only B has (a new loop may log more, e.g. per-part epoch means), and records
of a kind A never logs (the old localizer loop wrote no step records), are listed but
pass unless ``--strict-fields``. Records without a ``kind`` but with an ``epoch`` (the
old localizer log) are epoch records.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

WALL_CLOCK = re.compile(r"(^|[._])(seconds|secs|time|elapsed|wall|timestamp|duration)([._]|$)")


def load_records(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines log, or the one object of a ``.json`` file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return [{"kind": "results", **json.loads(text)}]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def kind_of(record: dict[str, Any]) -> str:
    """``kind``; a record without one (the old localizer log) that has an ``epoch`` and
    counts as an epoch record."""
    if "kind" in record:
        return str(record["kind"])
    return "epoch" if "epoch" in record else "?"


def record_key(record: dict[str, Any], position: int) -> tuple:
    kind = kind_of(record)
    if kind == "step":
        return (kind, record.get("epoch"), record.get("step"))
    if kind == "epoch":
        return (kind, record.get("epoch"))
    return (kind, position)


def keyed(
    records: list[dict[str, Any]], epoch_steps: int | None = None
) -> dict[tuple, dict[str, Any]]:
    """Records by key; ``epoch_steps``: step records count from 0 in each epoch and are
    renumbered to the global 1-based optimiser step ``epoch * epoch_steps + step + 1``."""
    out: dict[tuple, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    for record in records:
        kind = kind_of(record)
        if kind == "step" and epoch_steps is not None:
            record = {**record, "step": record["epoch"] * epoch_steps + record["step"] + 1}
        key = record_key(record, seen.get(kind, 0))
        seen[kind] = seen.get(kind, 0) + 1
        if key in out:
            raise SystemExit(f"duplicate record {key}: was the run resumed or appended twice?")
        out[key] = record
    return out


def flatten(value: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves as ``{dotted.path: float}`` (bools and strings are skipped)."""
    out: dict[str, float] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        out[prefix] = float(value)
    elif value is None:
        out[prefix] = math.nan  # strict-JSON results write undefined metrics as null
    return out


def numeric_fields(record: dict[str, Any], key_fields: set[str]) -> dict[str, float]:
    """Numeric leaves except the key and wall-clock fields (and ``--ignore`` ones)."""
    return {
        k: v for k, v in flatten(record).items() if k not in key_fields and not WALL_CLOCK.search(k)
    }


def rename(fields: dict[str, float], mapping: list[tuple[str, str]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in fields.items():
        for old, new in mapping:
            if old.endswith("*") and name.startswith(old[:-1]):
                name = new[:-1] + name[len(old) - 1 :] if new.endswith("*") else new
                break
            if name == old:
                name = new
                break
        out[name] = value
    return out


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def compare(
    a_records: list[dict],
    b_records: list[dict],
    mapping: list[tuple[str, str]],
    a_epoch_steps: int | None = None,
    ignore: list[str] | None = None,
) -> dict[str, Any]:
    ignore = ignore or []
    a, b = keyed(a_records, a_epoch_steps), keyed(b_records)
    key_fields = {"epoch", "step", *ignore}
    stats: dict[tuple[str, str], dict[str, Any]] = {}
    only_a_fields: set[tuple[str, str]] = set()
    only_b_fields: set[tuple[str, str]] = set()
    for key in [k for k in a if k in b]:
        kind = key[0]
        fa = rename(numeric_fields(a[key], key_fields), mapping)
        fb = numeric_fields(b[key], key_fields)
        only_a_fields |= {(kind, f) for f in fa.keys() - fb.keys()}
        only_b_fields |= {(kind, f) for f in fb.keys() - fa.keys()}
        for name in fa.keys() & fb.keys():
            va, vb = fa[name], fb[name]
            s = stats.setdefault(
                (kind, name),
                {"n": 0, "max_abs": 0.0, "max_rel": 0.0, "exact": True, "first_diff": None},
            )
            s["n"] += 1
            if same(va, vb):
                continue
            diff = abs(va - vb) if not (math.isnan(va) or math.isnan(vb)) else math.inf
            rel = diff / max(abs(va), abs(vb), 1e-300)
            s["exact"] = False
            s["max_abs"] = max(s["max_abs"], diff)
            s["max_rel"] = max(s["max_rel"], rel)
            if s["first_diff"] is None:
                s["first_diff"] = {"record": list(key), "a": va, "b": vb}
    return {
        "records_a": len(a),
        "records_b": len(b),
        "matched": sum(1 for k in a if k in b),
        "kinds_a": sorted({k[0] for k in a}),
        "only_in_a": [list(k) for k in a if k not in b],
        "only_in_b": [list(k) for k in b if k not in a],
        "fields_only_in_a": sorted(f"{k}:{f}" for k, f in only_a_fields),
        "fields_only_in_b": sorted(f"{k}:{f}" for k, f in only_b_fields),
        "fields": [{"kind": kind, "field": name, **s} for (kind, name), s in sorted(stats.items())],
    }


def verdict(report: dict[str, Any], atol: float | None, strict_fields: bool = False) -> bool:
    missing = ["only_in_a", "fields_only_in_a"]
    if strict_fields:
        missing += ["only_in_b", "fields_only_in_b"]
    complete = not any(report[k] for k in missing)
    # records B has and A lacks fail only where A logs that kind at all (the old
    # localizer loop wrote no step records; the shared loop does)
    kinds_a = set(report["kinds_a"])
    complete = complete and not any(key[0] in kinds_a for key in report["only_in_b"])
    if atol is None:
        return complete and all(f["exact"] for f in report["fields"])
    return complete and all(f["max_abs"] <= atol for f in report["fields"])


def print_report(
    report: dict[str, Any], a: Path, b: Path, atol: float | None, strict_fields: bool
) -> None:
    print(f"A: {a}\nB: {b}")
    print(f"records: A {report['records_a']}, B {report['records_b']}, matched {report['matched']}")
    for label in ("only_in_a", "only_in_b", "fields_only_in_a", "fields_only_in_b"):
        items = report[label]
        if label == "only_in_b":
            new_kinds = sorted({k[0] for k in items if k[0] not in report["kinds_a"]})
            items = [k for k in items if k[0] in report["kinds_a"]]
            if new_kinds:
                count = len(report["only_in_b"]) - len(items)
                print(f"record kinds new in B, not compared: {new_kinds} ({count} records)")
        if items:
            note = " (new in B, not compared)" if label == "fields_only_in_b" else ""
            print(f"{label}{note}: {items}")
    width = max([len(f"{f['kind']}:{f['field']}") for f in report["fields"]] + [10])
    print(f"{'kind:field':<{width}}  {'n':>4}  {'max |A-B|':>10}  {'max rel':>9}  bit-exact")
    for f in report["fields"]:
        name = f"{f['kind']}:{f['field']}"
        print(
            f"{name:<{width}}  {f['n']:>4}  {f['max_abs']:>10.3g}  {f['max_rel']:>9.2g}  "
            f"{'yes' if f['exact'] else 'NO'}"
        )
    exact = sum(f["exact"] for f in report["fields"])
    print(f"{exact}/{len(report['fields'])} fields bit-exact")
    worst = max(report["fields"], key=lambda f: f["max_abs"], default=None)
    if worst is not None and not worst["exact"]:
        print(f"largest difference: {worst['kind']}:{worst['field']} {worst['first_diff']}")
    ok = verdict(report, atol, strict_fields)
    tol = "bit-exact" if atol is None else f"within atol={atol:g}"
    print(f"VERDICT: {'MATCH' if ok else 'DIFFERENT'} ({tol})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path, help="metrics.jsonl (or results.json) of run A")
    parser.add_argument("b", type=Path, help="metrics.jsonl (or results.json) of run B")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="field OLD of A is called NEW in B (repeatable; trailing * maps a prefix)",
    )
    parser.add_argument(
        "--a-epoch-steps",
        type=int,
        default=None,
        metavar="S",
        help="A numbers step records from 0 within each epoch of S steps (old SGVLM loop)",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="FIELD",
        help="leave this (flattened) field out, on both sides (repeatable)",
    )
    parser.add_argument("--atol", type=float, default=None, help="pass within this tolerance")
    parser.add_argument(
        "--strict-fields", action="store_true", help="fail on fields that only B has"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    mapping = []
    for text in args.map:
        old, sep, new = text.partition("=")
        if not sep or not old or not new:
            parser.error(f"--map expects OLD=NEW, got {text!r}")
        mapping.append((old, new))
    for path in (args.a, args.b):
        if not path.is_file():
            parser.error(f"no such file: {path}")
    report = compare(
        load_records(args.a), load_records(args.b), mapping, args.a_epoch_steps, args.ignore
    )
    ok = verdict(report, args.atol, args.strict_fields)
    if args.json:
        print(json.dumps({**report, "match": ok}, indent=2, default=str))
    else:
        print_report(report, args.a, args.b, args.atol, args.strict_fields)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
