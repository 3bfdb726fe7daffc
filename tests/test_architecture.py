"""Layering rules, read from the import statements of every module (lazy imports inside
functions included):

    core (errors, registry, persistence, resources)
      → video, data, metrics, batch (per-item batch jobs)
      → modules, encoders
      → models, losses
      → features, perception
      → training
      → eval, pipelines
      → recipes, cli, server, api        (entry points; synth, the benchmark generator,
                                           sits here too: the library never imports it)

A package imports only packages of its own layer or below, and the packages of one layer
never import each other in a cycle.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "videoqa"

LAYERS: dict[str, int] = {
    "errors": 0,
    "registry": 0,
    "persistence": 0,
    "resources": 0,
    "video": 1,
    "data": 1,
    "metrics": 1,
    "batch": 1,
    "modules": 2,
    "encoders": 2,
    "models": 3,
    "losses": 3,
    "features": 4,
    "perception": 4,
    "training": 5,
    "eval": 6,
    "pipelines": 6,
    "recipes": 7,
    "cli": 7,
    "server": 7,
    "api": 7,
    "synth": 7,
    "__main__": 8,
}
ENTRY_POINTS = {name for name, layer in LAYERS.items() if layer >= 7}
FILES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def _top(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """Top-level videoqa packages imported by ``path`` (absolute and relative imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = path.relative_to(PACKAGE).with_suffix("").parts
    names: set[str] = set()
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level]
                if path.name == "__init__.py":
                    base = here[: len(here) - node.level + 1]
                modules = [".".join(("videoqa", *base, *([node.module] if node.module else [])))]
            elif node.module:
                modules = [node.module]
        for module in modules:
            parts = module.split(".")
            if parts[0] == "videoqa" and len(parts) > 1:
                names.add(parts[1])
    return names


def test_every_package_has_a_layer():
    unknown = {_top(p) for p in FILES} - set(LAYERS)
    assert not unknown, f"give these packages a layer in LAYERS: {sorted(unknown)}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_the_layers(path):
    src = _top(path)
    up = {
        dst
        for dst in _imports(path)
        if dst != src and dst in LAYERS and LAYERS[dst] > LAYERS[src]
    }
    assert not up, f"{path.relative_to(PACKAGE)} ({src}, layer {LAYERS[src]}) imports " + ", ".join(
        f"{d} (layer {LAYERS[d]})" for d in sorted(up)
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_library_never_imports_entry_points(path):
    src = _top(path)
    if src in ENTRY_POINTS:
        return
    bad = _imports(path) & ENTRY_POINTS
    assert not bad, f"{path.relative_to(PACKAGE)} imports entry points / synth: {sorted(bad)}"


def test_no_cycle_between_packages_of_one_layer():
    edges: dict[str, set[str]] = defaultdict(set)
    for path in FILES:
        src = _top(path)
        for dst in _imports(path):
            if dst != src and LAYERS.get(dst) == LAYERS.get(src):
                edges[src].add(dst)
    cycles = sorted(f"{a} <-> {b}" for a in edges for b in edges[a] if a in edges.get(b, ()))
    assert not cycles, f"import cycles within a layer: {cycles}"


def test_rule_sees_the_library():
    assert any(p.name == "registry.py" for p in FILES)
    assert len(FILES) > 10
    assert "models" in _imports(PACKAGE / "training" / "objectives" / "base.py")


def test_import_videoqa_is_light():
    import subprocess
    import sys

    code = "import sys, videoqa; print('torch' in sys.modules, 'av' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
