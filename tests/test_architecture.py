"""Layering rules: library components never import entry points (CLI, server, recipes)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "videoqa"
ENTRY_POINTS = ("videoqa.cli", "videoqa.server", "videoqa.recipes")
LIBRARY_FILES = sorted(
    p
    for p in PACKAGE.rglob("*.py")
    if not any(part in {"cli", "server", "recipes"} for part in p.relative_to(PACKAGE).parts)
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_library_never_imports_entry_points(path):
    bad = {name for name in _imports(path) if name.startswith(ENTRY_POINTS)}
    assert not bad, f"{path} imports entry points: {bad}"


def test_rule_sees_the_library():
    assert any(p.name == "registry.py" for p in LIBRARY_FILES)
    assert len(LIBRARY_FILES) > 10


def test_import_videoqa_is_light():
    import subprocess
    import sys

    code = "import sys, videoqa; print('torch' in sys.modules, 'av' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
