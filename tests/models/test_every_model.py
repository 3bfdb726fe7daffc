"""The checks every persisted model gets for free: one tester per ``model_type``
(``tests/**/tester.py``, see :mod:`tests.models.harness`), one parametrized test class.

Adding a model means adding its tester; :func:`test_every_persisted_class_has_a_tester`
fails until it exists.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from tests.models.harness import ModelTester, as_numpy, discover_testers
from videoqa.persistence import (
    CONFIG_FILE,
    FORMAT_VERSION,
    PERSISTED,
    WEIGHTS_FILE,
    PretrainedMixin,
    load_pretrained,
)

PACKAGE = Path(__file__).resolve().parents[2] / "videoqa"
TESTERS = discover_testers()
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models: one intra-op thread is fastest and leaves the other cores alone."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-parts")


def _tester(model_type: str, workdir: Path) -> ModelTester:
    if model_type not in TESTERS:
        pytest.fail(f"no tester for model_type {model_type!r}: add a tests/.../tester.py")
    return TESTERS[model_type](workdir)


def _assert_same(a: dict, b: dict, atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(as_numpy(a[name]), as_numpy(b[name]), rtol=0, atol=atol,
                                   err_msg=name)  # fmt: skip


@pytest.mark.parametrize("model_type", PERSISTED.names())
class TestEveryModel:
    def test_save_load_round_trip(self, model_type: str, workdir: Path, tmp_path: Path) -> None:
        tester = _tester(model_type, workdir)
        model, inputs = tester.build(seed=0), tester.inputs()
        cls = PERSISTED.get(model_type)
        assert isinstance(model, cls) and isinstance(model, PretrainedMixin)
        before = tester.run(model, inputs)
        assert model.save_pretrained(tmp_path / "ckpt") == tmp_path / "ckpt"

        files = {p.name for p in (tmp_path / "ckpt").iterdir()}
        assert files == {CONFIG_FILE, WEIGHTS_FILE, *cls.extra_parts}
        every = list((tmp_path / "ckpt").rglob("*"))
        assert not [p for p in every if p.suffix in PICKLE_SUFFIXES], "pickle files written"
        raw = json.loads((tmp_path / "ckpt" / CONFIG_FILE).read_text())
        assert raw["model_type"] == model_type and raw["format_version"] == FORMAT_VERSION
        assert raw["model_class"] == f"{cls.__module__}:{cls.__qualname__}"
        with safe_open(str(tmp_path / "ckpt" / WEIGHTS_FILE), framework="pt") as handle:
            assert handle.metadata()["model_type"] == model_type

        for loaded in (load_pretrained(tmp_path / "ckpt"), cls.from_pretrained(tmp_path / "ckpt")):
            assert type(loaded) is cls and loaded.config == model.config
            if isinstance(loaded, torch.nn.Module):
                assert not loaded.training
            _assert_same(before, tester.run(loaded, inputs))  # bit-identical

        other = tester.run(tester.build(seed=1), inputs)  # the comparison is not vacuous
        assert any(not np.allclose(as_numpy(before[k]), as_numpy(other[k])) for k in before)

    def test_output_shapes(self, model_type: str, workdir: Path) -> None:
        tester = _tester(model_type, workdir)
        outputs = tester.run(tester.build(), tester.inputs())
        shapes = {name: tuple(value.shape) for name, value in outputs.items()}
        assert shapes == tester.expected_shapes()
        assert not any(np.isnan(as_numpy(v)).any() for v in outputs.values())

    def test_hidden_inputs_do_not_matter(self, model_type: str, workdir: Path) -> None:
        tester = _tester(model_type, workdir)
        inputs = tester.inputs()
        changed = tester.perturb_hidden(inputs)
        if changed is None:
            pytest.skip(f"{model_type} masks no frames")
        model = tester.build()
        a, b = tester.run(model, inputs), tester.run(model, changed)
        _assert_same(tester.visible(a, inputs), tester.visible(b, changed), atol=1e-5)


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
