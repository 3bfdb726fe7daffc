"""The model-folder template (``docs/templates/model/``) works as shipped: mounted as
``videoqa.models.example`` it registers, passes the shared model tests, finds its
processor, and its YAML is a valid ``baseline`` recipe config that builds the model."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

from tests.models.harness import (
    TESTERS,
    check_hidden_inputs,
    check_output_shapes,
    check_round_trip,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "docs" / "templates" / "model"
NAME = "videoqa.models.example"


@pytest.fixture(scope="module")
def example():
    """Import the template as the package ``videoqa.models.example`` (and its tester);
    afterwards unregister it, so later tests see only the real models."""
    from videoqa.models import MODELS
    from videoqa.persistence import PERSISTED

    spec = importlib.util.spec_from_file_location(
        NAME, TEMPLATE / "__init__.py", submodule_search_locations=[str(TEMPLATE)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module
    spec.loader.exec_module(module)
    spec = importlib.util.spec_from_file_location(
        "example_tester", TEMPLATE / "tests" / "tester.py"
    )
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    yield module
    for registry in (MODELS, PERSISTED):
        registry._items.pop("example", None)
    TESTERS.pop("example", None)
    for name in [n for n in sys.modules if n == NAME or n.startswith(NAME + ".")]:
        del sys.modules[name]


def test_the_template_registers_and_passes_the_shared_tests(example, tmp_path):
    from videoqa.models import MODELS
    from videoqa.persistence import PERSISTED

    assert "example" in MODELS and PERSISTED.get("example") is example.ExampleModel
    tester = TESTERS["example"](tmp_path)
    check_round_trip(tester, tmp_path)
    check_output_shapes(tester)
    assert check_hidden_inputs(tester)


def test_the_template_processor_is_found(example):
    from videoqa.models.processing import processor_class

    assert processor_class("example").__name__ == "ExampleProcessor"


def test_the_template_config_is_a_valid_recipe_config(example):
    from videoqa.models import build_model
    from videoqa.training.config import BaselineConfig, load_config

    config = load_config(TEMPLATE / "configs" / "example.yaml", config_class=BaselineConfig)
    assert config.model.name == "example"
    model = build_model("example", {"feature_dim": 8, "vocab_size": 20, **config.model.config})
    assert type(model) is example.ExampleModel and model.config.hidden_size == 128
