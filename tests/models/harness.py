"""The test every persisted model gets for free (the ``ModelTester`` idea of
transformers' ``tests/test_modeling_common.py``).

A model folder's ``tests/.../tester.py`` (or ``*_tester.py``) defines a :class:`ModelTester` subclass for its
``model_type`` — a seeded tiny model, seeded inputs, how to run it and which output
shapes to expect — and decorates it with :func:`register_tester`.
``tests/models/test_every_model.py`` then runs, for every registered ``model_type``:

* save → load (through the generic :func:`videoqa.persistence.load_pretrained` and the
  class's own ``from_pretrained``) gives bit-identical outputs, the same config, the
  expected files and no pickle; a model with other weights gives other outputs;
* the outputs have the documented shapes;
* where the model masks frames (:meth:`ModelTester.perturb_hidden`), changing what the
  hidden frames hold changes none of the outputs that must not depend on them.

:class:`VideoQATester` serves every :class:`~videoqa.models.base.VideoQAModel` (HGA,
VGT, the transformer baseline, a new discriminative backbone): a subclass only names
the ``model_type`` and its tiny config fields.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from safetensors import safe_open

from videoqa.models.base import QABatch, VideoQAModel
from videoqa.models.registry import build_model
from videoqa.persistence import (
    CONFIG_FILE,
    FORMAT_VERSION,
    PERSISTED,
    WEIGHTS_FILE,
    PretrainedMixin,
    load_pretrained,
)

TESTS = Path(__file__).resolve().parents[1]

#: model_type → tester class (filled by :func:`register_tester`).
TESTERS: dict[str, type[ModelTester]] = {}

Outputs = dict[str, torch.Tensor | np.ndarray]
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}


def register_tester(cls: type[ModelTester]) -> type[ModelTester]:
    """Class decorator: the tester of ``cls.model_type``."""
    if not cls.model_type or cls.model_type in TESTERS:
        raise ValueError(f"tester model_type {cls.model_type!r} is empty or taken")
    TESTERS[cls.model_type] = cls
    return cls


def discover_testers() -> dict[str, type[ModelTester]]:
    """Import every ``tests/**/tester.py`` and ``tests/**/*_tester.py`` (each registers
    its testers) and return :data:`TESTERS`."""
    for path in sorted({*TESTS.rglob("tester.py"), *TESTS.rglob("*_tester.py")}):
        parts = path.relative_to(TESTS.parent).with_suffix("").parts
        importlib.import_module(".".join(parts))
    return TESTERS


class ModelTester:
    """How to build, feed and run one tiny model of ``model_type``.

    Attributes:
        model_type: the persisted class's ``model_type``.
        workdir: a scratch folder for parts a model needs built first (an LLM).
    """

    model_type: ClassVar[str] = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def build(self, seed: int = 0) -> Any:
        """A tiny model with weights drawn from ``seed``, in eval mode."""
        raise NotImplementedError

    def inputs(self) -> Any:
        """Seeded inputs the outputs are compared on."""
        raise NotImplementedError

    def run(self, model: Any, inputs: Any) -> Outputs:
        """Named outputs of ``model`` on ``inputs`` (no gradients)."""
        raise NotImplementedError

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of each output of :meth:`run` on :meth:`inputs`."""
        raise NotImplementedError

    def perturb_hidden(self, inputs: Any) -> Any | None:
        """The inputs with other values wherever they are masked out (hidden frames),
        or None when the model masks nothing."""
        return None

    def visible(self, outputs: Outputs, inputs: Any) -> Outputs:
        """The part of ``outputs`` that must not depend on masked-out inputs."""
        return outputs


def as_numpy(value: torch.Tensor | np.ndarray) -> np.ndarray:
    """A float64 NumPy copy (for exact comparisons across tensor kinds)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def assert_same(a: Outputs, b: Outputs, atol: float = 0.0) -> None:
    """The same output names with equal values (``atol`` 0: bit-identical)."""
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(
            as_numpy(a[name]), as_numpy(b[name]), rtol=0, atol=atol, err_msg=name
        )


def check_round_trip(tester: ModelTester, tmp_path: Path) -> None:
    """Save, then load through :func:`load_pretrained` and the class's
    ``from_pretrained``: the files of the layout and no pickle, the same class and
    config, eval mode, bit-identical outputs; a model of another seed differs."""
    model, inputs = tester.build(seed=0), tester.inputs()
    cls = PERSISTED.get(tester.model_type)
    assert isinstance(model, cls) and isinstance(model, PretrainedMixin)
    before = tester.run(model, inputs)
    folder = tmp_path / "ckpt"
    assert model.save_pretrained(folder) == folder

    assert {p.name for p in folder.iterdir()} == {CONFIG_FILE, WEIGHTS_FILE, *cls.extra_parts}
    pickled = [p for p in folder.rglob("*") if p.suffix in PICKLE_SUFFIXES]
    assert not pickled, f"pickle files written: {pickled}"
    raw = json.loads((folder / CONFIG_FILE).read_text())
    assert raw["model_type"] == tester.model_type and raw["format_version"] == FORMAT_VERSION
    assert raw["model_class"] == f"{cls.__module__}:{cls.__qualname__}"
    with safe_open(str(folder / WEIGHTS_FILE), framework="pt") as handle:
        assert handle.metadata()["model_type"] == tester.model_type

    for loaded in (load_pretrained(folder), cls.from_pretrained(folder)):
        assert type(loaded) is cls and loaded.config == model.config
        if isinstance(loaded, torch.nn.Module):
            assert not loaded.training
        assert_same(before, tester.run(loaded, inputs))

    other = tester.run(tester.build(seed=1), inputs)  # the comparison is not vacuous
    assert any(not np.allclose(as_numpy(before[k]), as_numpy(other[k])) for k in before)


def check_output_shapes(tester: ModelTester) -> None:
    """Every output has its expected shape and no NaN."""
    outputs = tester.run(tester.build(), tester.inputs())
    assert {name: tuple(v.shape) for name, v in outputs.items()} == tester.expected_shapes()
    assert not any(np.isnan(as_numpy(v)).any() for v in outputs.values())


def check_hidden_inputs(tester: ModelTester) -> bool:
    """Changing what the hidden frames hold changes no output that must not depend on
    them (tolerance 1e-5). Returns False when the model masks nothing."""
    inputs = tester.inputs()
    changed = tester.perturb_hidden(inputs)
    if changed is None:
        return False
    model = tester.build()
    a, b = tester.run(model, inputs), tester.run(model, changed)
    assert_same(tester.visible(a, inputs), tester.visible(b, changed), atol=1e-5)
    return True


class VideoQATester(ModelTester):
    """Tester of a :class:`VideoQAModel` backbone: a subclass sets ``model_type`` and
    ``config`` (tiny fields besides ``feature_dim`` and ``vocab_size``)."""

    config: ClassVar[dict[str, Any]] = {}
    batch, frames, candidates, words, feature_dim, vocab, patch_dim = 3, 6, 4, 5, 12, 40, 6

    def build(self, seed: int = 0) -> VideoQAModel:
        torch.manual_seed(seed)
        fields = {
            "feature_dim": self.feature_dim,
            "vocab_size": self.vocab,
            "hidden_size": 16,
            "num_heads": 2,
            "max_frames": 8,
            "max_text_len": 8,
            "dropout": 0.0,
            **self.config,
        }
        return build_model(self.model_type, fields).eval()

    def inputs(self) -> QABatch:
        g = torch.Generator().manual_seed(7)
        b, t, c, n = self.batch, self.frames, self.candidates, self.words
        video_mask = torch.ones(b, t, dtype=torch.bool)
        video_mask[1, 3:] = False
        video_mask[2, ::2] = False
        question_mask = torch.arange(n) < torch.tensor([[n], [3], [4]])
        candidates_mask = torch.ones(b, c, 2, dtype=torch.bool)
        candidates_mask[:, 1, 1] = False
        return QABatch(
            video=torch.randn(b, t, self.feature_dim, generator=g),
            video_mask=video_mask,
            question=torch.randint(4, self.vocab, (b, n), generator=g) * question_mask,
            question_mask=question_mask,
            candidates=torch.randint(4, self.vocab, (b, c, 2), generator=g) * candidates_mask,
            candidates_mask=candidates_mask,
            patches=torch.randn(b, t, 3, self.patch_dim, generator=g),
        )

    def run(self, model: VideoQAModel, inputs: QABatch) -> Outputs:
        with torch.no_grad():
            out = model(inputs)
        outputs: Outputs = {"logits": out.logits}
        if out.frame_weights is not None:
            outputs["frame_weights"] = out.frame_weights
        return outputs

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "logits": (self.batch, self.candidates),
            "frame_weights": (self.batch, self.frames),
        }

    def perturb_hidden(self, inputs: QABatch) -> QABatch:
        hidden = ~inputs.video_mask
        g = torch.Generator().manual_seed(8)
        video = inputs.video.clone()
        video[hidden] = 50 * torch.randn(int(hidden.sum()), self.feature_dim, generator=g)
        patches = inputs.patches.clone()
        patches[hidden] = 50 * torch.randn(int(hidden.sum()), 3, self.patch_dim, generator=g)
        return QABatch(**{**inputs.__dict__, "video": video, "patches": patches})
