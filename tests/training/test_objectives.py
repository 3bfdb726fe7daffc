"""Backbone loss objectives: which passes run, that the terms equal the losses on hand-built inputs,
that batching the passes changes nothing, and the recipe registry."""

from __future__ import annotations

import pytest
import torch

from tests.training.fakes import TINY, make_task
from videoqa.errors import UnknownNameError
from videoqa.losses.sparc import consistency_loss, guided_loss
from videoqa.models import build_model
from videoqa.recipes import list_recipes, recipe_class
from videoqa.training.config import SparcOptions
from videoqa.training.data import QADataset, build_tokenizer
from videoqa.training.objectives import BaselineObjective, SparcObjective


@pytest.fixture(scope="module")
def setup():
    task = make_task(sizes=(("train", 12),))
    tok = build_tokenizer(task.splits["train"])
    data = QADataset(task.splits["train"], task.frames, tok, teacher=task.teacher)
    torch.manual_seed(0)
    model = build_model(
        TINY,
        {
            "feature_dim": 12,
            "vocab_size": tok.vocab_size,
            "hidden_size": 16,
            "num_heads": 2,
            "dropout": 0.0,
        },
    )
    return model, data.batch(torch.arange(12))


def _options(**kw) -> SparcOptions:
    return SparcOptions.model_validate(kw)


def build_recipe(name: str, options: SparcOptions):
    """The objective of recipe ``name`` (the baseline ignores SpARC's own options)."""
    if name == "sparc":
        return SparcObjective(options)
    return BaselineObjective(options)


def test_registry():
    assert {"baseline", "sparc"} <= set(list_recipes())
    with pytest.raises(UnknownNameError):
        recipe_class("nope")


@pytest.mark.parametrize(
    ("options", "terms"),
    [
        ({}, {"loss", "main", "consistency", "spatial"}),
        ({"w_s": 0}, {"loss", "main", "consistency"}),
        ({"temporal_guidance": False}, {"loss", "main", "spatial"}),
        ({"mixup": {"enabled": True}}, {"loss", "main", "consistency", "spatial", "mixup"}),
        ({"temporal_guidance": False, "w_s": 0}, {"loss", "main"}),
    ],
)
def test_sparc_switches(setup, options, terms):
    model, batch = setup
    parts = build_recipe("sparc", _options(**options)).loss(model, batch)
    assert set(parts.as_floats()) == terms
    # question 0 has no confident frame; V_c is only computed for guidance or TGM
    uses_causal = options.get("temporal_guidance", True) or "mixup" in options
    assert parts.fallback == (1 if uses_causal else 0)


def test_sparc_terms_match_the_losses(setup):
    model, batch = setup
    recipe = build_recipe("sparc", _options(w_s=0, w_c=0.5, threshold=0.5))
    parts = recipe.loss(model, batch)
    causal = recipe.causal_frames(batch)
    full = model(batch.qa).logits
    guided = model(batch.qa.with_video(batch.qa.video, causal.mask)).logits
    assert parts.main.item() == pytest.approx(guided_loss(guided, batch.answers).item(), abs=1e-5)
    expected_c = consistency_loss(full, guided).item()
    assert parts.consistency.item() == pytest.approx(expected_c, abs=1e-5)
    assert parts.total.item() == pytest.approx(parts.main.item() + 0.5 * expected_c, abs=1e-5)


@pytest.mark.parametrize("recipe", ["sparc", "baseline"])
def test_batched_passes_equal_separate_passes(setup, recipe):
    model, batch = setup
    mix = {"enabled": True}
    torch.manual_seed(3)
    together = build_recipe(recipe, _options(mixup=mix)).loss(model, batch)
    torch.manual_seed(3)
    apart = build_recipe(recipe, _options(mixup=mix, batch_passes=False)).loss(model, batch)
    for name, value in together.as_floats().items():
        assert value == pytest.approx(apart.as_floats()[name], abs=1e-5)


def test_baseline_is_plain_ce(setup):
    model, batch = setup
    parts = build_recipe("baseline", _options()).loss(model, batch)
    ce = torch.nn.functional.cross_entropy(model(batch.qa).logits, batch.answers)
    assert set(parts.as_floats()) == {"loss", "main"}
    assert parts.total.item() == pytest.approx(ce.item(), abs=1e-6)


@pytest.mark.parametrize("options", [{}, {"mixup": {"enabled": True}}, {"w_s": 0}])
def test_split_backward_gives_the_same_loss_and_gradients(setup, options):
    model, batch = setup

    def grads(split: bool):
        model.zero_grad()
        torch.manual_seed(5)
        recipe = build_recipe("sparc", _options(split_backward=split, **options))
        parts = recipe.backward_loss(model, batch, lambda t: t.backward())
        return parts, [p.grad.clone() for p in model.parameters() if p.grad is not None]

    (split_parts, split_grads), (one_parts, one_grads) = grads(True), grads(False)
    assert split_parts.as_floats() == pytest.approx(one_parts.as_floats(), abs=1e-5)
    assert len(split_grads) == len(one_grads)
    for a, b in zip(split_grads, one_grads, strict=True):
        assert torch.allclose(a, b, atol=1e-5)
