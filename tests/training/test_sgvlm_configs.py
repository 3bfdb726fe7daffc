"""Every shipped SGVLM config loads, and each ablation differs from the full model in
exactly its switch (plus what the switch makes unnecessary)."""

from __future__ import annotations

from pathlib import Path

import pytest

import videoqa
from videoqa.errors import UsageError
from videoqa.models.sgvlm.configuration import SGVLMConfig
from videoqa.training.sgvlm import load_sgvlm_config

CONFIGS = Path(videoqa.__file__).parent / "configs" / "sgvlm"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_config_loads(path: Path) -> None:
    cfg = load_sgvlm_config(path)
    fields = {"frame_dim": 8, "vocab_size": 10, "llm_dim": 8, **cfg.model}
    SGVLMConfig.model_validate(fields)  # the model section is valid too
    assert cfg.optim.epochs >= 1


def test_ablations_flip_one_switch() -> None:
    full = load_sgvlm_config(CONFIGS / "sgvlm.yaml").model
    switches = {"nosg": "use_scene_graph", "noloc": "use_localizer", "nomask": "attention_mask"}
    for name, key in switches.items():
        model = load_sgvlm_config(CONFIGS / f"{name}.yaml").model
        assert {k for k in full if full[k] != model.get(k)} == {key}
    assert load_sgvlm_config(CONFIGS / "nosg.yaml").data.scene_graphs_dir is None
    assert load_sgvlm_config(CONFIGS / "noloc.yaml").localizer_dir is None


def test_overrides_and_unknown_keys() -> None:
    cfg = load_sgvlm_config(
        CONFIGS / "sgvlm.yaml", ["optim.epochs=7", "model.num_selected_frames=4"]
    )
    assert cfg.optim.epochs == 7 and cfg.model["num_selected_frames"] == 4
    with pytest.raises(UsageError):
        load_sgvlm_config(CONFIGS / "sgvlm.yaml", ["optim.epochz=7"])
