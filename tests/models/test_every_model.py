"""The checks every persisted model gets for free: one tester per ``model_type``
(``tests/**/tester.py``, see :mod:`tests.models.harness`), one parametrized test class.

Adding a model means adding its tester; :func:`test_every_persisted_class_has_a_tester`
fails until it exists.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.models.harness import (
    ModelTester,
    check_hidden_inputs,
    check_output_shapes,
    check_round_trip,
    discover_testers,
)
from videoqa.persistence import PERSISTED, PretrainedMixin

PACKAGE = Path(__file__).resolve().parents[2] / "videoqa"
TESTERS = discover_testers()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-parts")


def _tester(model_type: str, workdir: Path) -> ModelTester:
    if model_type not in TESTERS:
        pytest.fail(f"no tester for model_type {model_type!r}: add a tests/.../tester.py")
    return TESTERS[model_type](workdir)


def _library_model_types() -> list[str]:
    """Every registered ``model_type`` whose class lives in the ``videoqa`` package (test
    doubles such as ``tests.training.fakes``' model register too when imported first)."""
    return [n for n in PERSISTED.names() if PERSISTED.get(n).__module__.startswith("videoqa.")]


@pytest.mark.parametrize("model_type", _library_model_types())
class TestEveryModel:
    def test_save_load_round_trip(self, model_type: str, workdir: Path, tmp_path: Path) -> None:
        check_round_trip(_tester(model_type, workdir), tmp_path)

    def test_output_shapes(self, model_type: str, workdir: Path) -> None:
        check_output_shapes(_tester(model_type, workdir))

    def test_hidden_inputs_do_not_matter(self, model_type: str, workdir: Path) -> None:
        if not check_hidden_inputs(_tester(model_type, workdir)):
            pytest.skip(f"{model_type} masks no frames")


def _persisted_classes_in_package() -> dict[str, str]:
    """``model_type`` → class path of every persisted class defined in ``videoqa/``:
    modules whose source assigns ``model_type`` in a class body are imported and their
    :class:`PretrainedMixin` subclasses with their own ``model_type`` collected."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigns = any(
            isinstance(node, ast.ClassDef)
            and any(
                isinstance(stmt, ast.Assign | ast.AnnAssign)
                and "model_type" in ast.unparse(stmt).split("=")[0]
                for stmt in node.body
            )
            for node in ast.walk(tree)
        )
        if not assigns:
            continue
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        module = importlib.import_module(name.removesuffix(".__init__"))
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, PretrainedMixin)
                and value.__module__ == module.__name__
                and value.__dict__.get("model_type")
            ):
                found[value.model_type] = f"{value.__module__}:{value.__qualname__}"
    return found


def test_every_persisted_class_has_a_tester() -> None:
    classes = _persisted_classes_in_package()
    assert {"hga", "vgt", "transformer", "sgvlm", "sgvlm-localizer", "feature_teacher",
            "quality-mlp", "scene-graph-predictor", "videoqa-cnn"} <= set(classes)  # fmt: skip
    missing = sorted(set(classes) - set(TESTERS))
    assert not missing, f"persisted classes without a tester: {[classes[m] for m in missing]}"
    assert set(TESTERS) <= set(PERSISTED.names()), "a tester names an unregistered model_type"
    assert set(classes) <= set(PERSISTED.names())
