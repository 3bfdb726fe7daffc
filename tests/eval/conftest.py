"""Fixtures of the evaluation tests: the hand-made benchmarks under tests/fixtures/eval."""

from __future__ import annotations

from pathlib import Path

import pytest

from videoqa.data import load_dataset
from videoqa.data.schema import Benchmark

EVAL_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eval"


@pytest.fixture()
def fixtures() -> Path:
    return EVAL_FIXTURES


@pytest.fixture()
def nextqa_mc() -> Benchmark:
    """6 NExT-QA questions: CW, CH, TN, TP, DC, DL (one each)."""
    return load_dataset("nextqa-mc", EVAL_FIXTURES / "nextqa_mc" / "val.csv")
