"""Every shipped SGVLM and localizer config loads through ``build_recipe``, and each
ablation differs from the full model in exactly its switch (plus what the switch makes
unnecessary)."""

from __future__ import annotations

import pytest

from videoqa.errors import UsageError
from videoqa.models.sgvlm.configuration import SGVLMConfig
from videoqa.models.sgvlm.localizer import LocalizerConfig
from videoqa.recipes import build_recipe, shipped_configs
from videoqa.recipes.localizer import LocalizerRecipe
from videoqa.recipes.sgvlm import SGVLMRecipe

SGVLM_CONFIGS = shipped_configs("sgvlm")
LOCALIZER_CONFIGS = shipped_configs("localizer")


def test_the_shipped_configs_are_found() -> None:
    assert {p.stem for p in SGVLM_CONFIGS} >= {"sgvlm", "nosg", "noloc", "nomask", "sgvlm_pixels"}
    assert {p.stem for p in LOCALIZER_CONFIGS} >= {"localizer_synth", "localizer_qvhighlights"}
    assert all(p.parent.name == "sgvlm" for p in SGVLM_CONFIGS)
    assert all(p.parent.name == "localizer" for p in LOCALIZER_CONFIGS)


@pytest.mark.parametrize("path", SGVLM_CONFIGS, ids=lambda p: p.stem)
def test_shipped_sgvlm_config_loads(path) -> None:
    recipe = build_recipe(path)
    assert isinstance(recipe, SGVLMRecipe)
    cfg = recipe.config
    fields = {"frame_dim": 8, "vocab_size": 10, "llm_dim": 8, **cfg.model.config}
    SGVLMConfig.model_validate(fields)  # the model section is valid too
    assert cfg.epochs >= 1 and cfg.scheduler.warmup_ratio == 0.05
    assert build_recipe(path.stem).config == cfg  # by shipped name too


@pytest.mark.parametrize("path", LOCALIZER_CONFIGS, ids=lambda p: p.stem)
def test_shipped_localizer_config_loads(path) -> None:
    recipe = build_recipe(path, name="localizer")
    assert isinstance(recipe, LocalizerRecipe)
    m = recipe.config.model
    LocalizerConfig(
        frame_dim=8, vocab_size=10, **m.model_dump(exclude={"tokenizer"})
    )  # the model section is valid too
    assert recipe.config.checkpoint.monitor == LocalizerRecipe.monitor


def test_ablations_flip_one_switch() -> None:
    def load(stem):
        return build_recipe(stem).config

    full = load("sgvlm").model.config
    switches = {"nosg": "use_scene_graph", "noloc": "use_localizer", "nomask": "attention_mask"}
    for name, key in switches.items():
        model = load(name).model.config
        assert {k for k in full if full[k] != model.get(k)} == {key}
    assert load("nosg").data.scene_graphs_dir is None
    assert load("noloc").model.localizer_dir is None
    # each stage-3 config reads the best checkpoint of its stage-2 variant
    loc = {p.stem: build_recipe(p).config for p in LOCALIZER_CONFIGS}
    pairs = {"sgvlm": "localizer_synth", "nosg": "localizer_synth_nosg",
             "nomask": "localizer_synth_nomask"}  # fmt: skip
    for stage3, stage2 in pairs.items():
        assert load(stage3).model.localizer_dir == loc[stage2].output_dir / "checkpoints" / "best"
    base = loc["localizer_synth"]
    assert loc["localizer_synth_nosg"].data.scene_graphs_dir is None
    assert loc["localizer_synth_nomask"].model.attention_mask is False
    assert base.data.scene_graphs_dir is not None and base.model.attention_mask is True


def test_overrides_and_unknown_keys() -> None:
    cfg = build_recipe("sgvlm", ["epochs=7", "model.config.num_selected_frames=4"]).config
    assert cfg.epochs == 7 and cfg.model.config["num_selected_frames"] == 4
    with pytest.raises(UsageError):
        build_recipe("sgvlm", ["optim.epochz=7"])
    with pytest.raises(UsageError, match="not 'localizer'"):
        build_recipe("sgvlm", name="localizer")
