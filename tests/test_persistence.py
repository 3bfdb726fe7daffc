"""The persistence layer: the typed error for every way a checkpoint can be wrong,
atomic writes, checkpoints written before it, hub ids, the generic loader."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from videoqa import persistence
from videoqa.encoders.cnn import CNNConfig, CNNFrameEncoder
from videoqa.errors import CheckpointError, ModelUnavailableError, UsageError
from videoqa.models import HGAModel, VGTModel, VideoQAModel, build_model
from videoqa.models.sgvlm.localizer import FrameLocalizer, LocalizerConfig
from videoqa.perception.quality.model import QualityModel, default_model_path
from videoqa.perception.scene_graph.config import SceneGraphConfig, SceneGraphLabels
from videoqa.perception.scene_graph.motifs import SceneGraphPredictor
from videoqa.persistence import (
    CONFIG_FILE,
    PERSISTED,
    WEIGHTS_FILE,
    load_pretrained,
    read_checkpoint_config,
    resolve_checkpoint,
    write_dir_atomic,
)

FIELDS = {"feature_dim": 8, "vocab_size": 20, "hidden_size": 16, "num_heads": 2}


def _hga(seed: int = 0) -> HGAModel:
    torch.manual_seed(seed)
    return build_model("hga", FIELDS)


def _weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _edit_config(directory: Path, **changes) -> None:
    raw = json.loads((directory / CONFIG_FILE).read_text())
    raw.update(changes)
    (directory / CONFIG_FILE).write_text(json.dumps(raw))


# ---------------------------------------------------------------- the one typed error
def test_checkpoint_error_is_model_unavailable_with_exit_code_4():
    assert issubclass(CheckpointError, ModelUnavailableError)
    assert CheckpointError("x").exit_code == 4


def test_missing_folder_or_files(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint folder"):
        HGAModel.from_pretrained(tmp_path / "nope" / "deeper" / "still")
    with pytest.raises(CheckpointError, match="no config.json"):
        HGAModel.from_pretrained(tmp_path)
    _hga().save_pretrained(tmp_path / "ckpt")
    (tmp_path / "ckpt" / WEIGHTS_FILE).unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        HGAModel.from_pretrained(tmp_path / "ckpt")
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="is a file"):
        load_pretrained(tmp_path / "file")


def test_wrong_model_type(tmp_path):
    _hga().save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="holds a 'hga' checkpoint, not a vgt"):
        VGTModel.from_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="'hga' checkpoint, not a videoqa-cnn"):
        CNNFrameEncoder.from_pretrained(tmp_path)
    _edit_config(tmp_path, model_type="nope")
    with pytest.raises(CheckpointError, match="unknown model_type 'nope'; registered: .*hga"):
        load_pretrained(tmp_path)


def test_base_class_loads_whichever_backbone_the_checkpoint_names(tmp_path):
    _hga().save_pretrained(tmp_path / "hga")
    assert type(VideoQAModel.from_pretrained(tmp_path / "hga")) is HGAModel
    CNNFrameEncoder(CNNConfig(image_size=16, channels=(2, 2, 2, 2))).save_pretrained(
        tmp_path / "cnn"
    )
    with pytest.raises(CheckpointError, match="'videoqa-cnn' checkpoint, not a VideoQAModel"):
        VideoQAModel.from_pretrained(tmp_path / "cnn")


def test_invalid_config(tmp_path):
    _hga().save_pretrained(tmp_path)
    _edit_config(tmp_path, hidden_size=15)  # not divisible by num_heads
    with pytest.raises(CheckpointError, match="invalid hga config"):
        load_pretrained(tmp_path)
    _edit_config(tmp_path, hidden_size=16, bogus=1)
    with pytest.raises(CheckpointError, match="invalid hga config"):
        load_pretrained(tmp_path)
    (tmp_path / CONFIG_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match="unreadable JSON"):
        load_pretrained(tmp_path)
    (tmp_path / CONFIG_FILE).write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="JSON object"):
        load_pretrained(tmp_path)


def test_newer_format_is_refused(tmp_path):
    _hga().save_pretrained(tmp_path)
    _edit_config(tmp_path, format_version=persistence.FORMAT_VERSION + 1)
    with pytest.raises(CheckpointError, match="newer than this videoqa reads"):
        HGAModel.from_pretrained(tmp_path)


def test_truncated_or_corrupt_safetensors(tmp_path):
    _hga().save_pretrained(tmp_path)
    weights = tmp_path / WEIGHTS_FILE
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_pretrained(tmp_path)
    weights.write_bytes(b"\x00" * 7)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_pretrained(tmp_path)


def test_weights_that_do_not_match_the_config(tmp_path):
    model = _hga()
    model.save_pretrained(tmp_path)
    _edit_config(tmp_path, hidden_size=32)
    with pytest.raises(CheckpointError, match=r"weights do not match the config: shapes"):
        load_pretrained(tmp_path)
    _edit_config(tmp_path, hidden_size=16)
    state = _weights(model)
    state["extra.weight"] = torch.zeros(2)
    del state["fusion.3.bias"]
    save_file(state, str(tmp_path / WEIGHTS_FILE))
    with pytest.raises(CheckpointError, match=r"missing \['fusion.3.bias'\].*unexpected"):
        load_pretrained(tmp_path)


def test_loading_options_are_checked(tmp_path):
    _hga().save_pretrained(tmp_path)
    with pytest.raises(UsageError, match="no loading options"):
        load_pretrained(tmp_path, device="cpu")


# ---------------------------------------------------------------- atomic writes
def test_a_failing_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    old, new = _hga(0), _hga(1)
    old.save_pretrained(tmp_path / "ckpt")
    before = {p.name: p.read_bytes() for p in (tmp_path / "ckpt").iterdir()}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", broken)
    with pytest.raises(OSError, match="disk full"):
        new.save_pretrained(tmp_path / "ckpt")
    assert {p.name: p.read_bytes() for p in (tmp_path / "ckpt").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no .tmp / .old left
    assert _same_weights(HGAModel.from_pretrained(tmp_path / "ckpt"), old)


def test_a_kill_mid_swap_leaves_a_complete_copy(tmp_path, monkeypatch):
    """A kill after ``<name>`` → ``<name>.old`` and before ``.tmp`` → ``<name>``: the old
    checkpoint is whole in ``.old`` and the next save clears the leftovers."""
    old = _hga(0)
    old.save_pretrained(tmp_path / "ckpt")
    real_replace, calls = persistence.os.replace, []

    def dies_on_second_rename(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt  # stands in for SIGKILL
        real_replace(src, dst)

    monkeypatch.setattr(persistence.os, "replace", dies_on_second_rename)
    with pytest.raises(KeyboardInterrupt):
        _hga(1).save_pretrained(tmp_path / "ckpt")
    monkeypatch.undo()
    assert not (tmp_path / "ckpt").exists()
    assert _same_weights(HGAModel.from_pretrained(tmp_path / "ckpt.old"), old)
    _hga(2).save_pretrained(tmp_path / "ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    assert _same_weights(HGAModel.from_pretrained(tmp_path / "ckpt"), _hga(2))


def test_save_replaces_the_checkpoint_and_keeps_other_files(tmp_path):
    run = tmp_path / "run"
    _hga(0).save_pretrained(run)
    (run / "report.json").write_text("{}")
    (run / "logs").mkdir()
    (run / "logs" / "metrics.jsonl").write_text("1\n")
    _hga(1).save_pretrained(run)
    assert sorted(p.name for p in run.iterdir()) == [
        CONFIG_FILE,
        "logs",
        WEIGHTS_FILE,
        "report.json",
    ]
    assert (run / "logs" / "metrics.jsonl").read_text() == "1\n"
    assert _same_weights(HGAModel.from_pretrained(run), _hga(1))


def test_write_dir_atomic_replaces_everything_by_default(tmp_path):
    target = tmp_path / "last"
    write_dir_atomic(target, lambda d: (d / "a").write_text("1"))
    (tmp_path / "last.tmp").mkdir()  # a stale staging folder from a killed run
    (tmp_path / "last.tmp" / "junk").write_text("x")
    write_dir_atomic(target, lambda d: (d / "b").write_text("2"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last"]
    assert [p.name for p in target.iterdir()] == ["b"]


def test_write_dir_atomic_replaces_a_file(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"old single file")
    write_dir_atomic(tmp_path / "model.safetensors", lambda d: (d / "x").write_text("1"))
    assert (tmp_path / "model.safetensors" / "x").read_text() == "1"


def test_write_dir_atomic_refuses_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    with pytest.raises(UsageError, match="working directory"):
        _hga().save_pretrained(".")
    with pytest.raises(UsageError, match="working directory"):
        write_dir_atomic(tmp_path, lambda d: None)


def test_shared_and_strided_tensors_are_saved_as_copies(tmp_path):
    """safetensors stores each storage once: tied weights and views are copied first."""
    shared = torch.arange(6.0)
    out = persistence._tensors_to_save({"w": shared, "v": shared, "slice": shared[::2]})
    assert out["w"].data_ptr() != out["v"].data_ptr() and out["slice"].is_contiguous()
    save_file(out, str(tmp_path / "x.safetensors"))
    back = persistence._read_weights(tmp_path / "x.safetensors", "x")
    assert torch.equal(back["v"], shared) and torch.equal(back["slice"], shared[::2])


# ---------------------------------------------------------------- older checkpoints
def _write_untyped(directory: Path, config, model: torch.nn.Module) -> None:
    """What FrameLocalizer / SceneGraphPredictor.save_pretrained wrote before this layer:
    the config fields without model_type, and the state dict."""
    directory.mkdir(parents=True)
    (directory / CONFIG_FILE).write_text(config.model_dump_json(indent=2))
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, str(directory / WEIGHTS_FILE)
    )


def test_untyped_localizer_and_scene_graph_checkpoints_still_load(tmp_path):
    torch.manual_seed(0)
    loc_config = LocalizerConfig(frame_dim=6, vocab_size=12, hidden_size=8, num_heads=2)
    localizer = FrameLocalizer(loc_config)
    _write_untyped(tmp_path / "loc", loc_config, localizer)
    labels = SceneGraphLabels(attributes={"kind": ("a", "b")}, predicates=("near",))
    sg_config = SceneGraphConfig(
        image_size=32, trunk_channels=8, region_dim=8, hidden_size=8, label_space=labels
    )
    predictor = SceneGraphPredictor(sg_config)
    _write_untyped(tmp_path / "sg", sg_config, predictor)

    assert _same_weights(FrameLocalizer.from_pretrained(tmp_path / "loc"), localizer)
    assert _same_weights(SceneGraphPredictor.from_pretrained(tmp_path / "sg"), predictor)
    # the generic loader matches the config to the one class it validates against
    assert type(load_pretrained(tmp_path / "loc")) is FrameLocalizer
    assert type(load_pretrained(tmp_path / "sg")) is SceneGraphPredictor
    # an untyped checkpoint of a class that always wrote model_type is refused
    with pytest.raises(CheckpointError, match="holds a None checkpoint"):
        CNNFrameEncoder.from_pretrained(tmp_path / "loc")


def test_untyped_checkpoint_that_fits_no_class(tmp_path):
    (tmp_path / CONFIG_FILE).write_text(json.dumps({"frame_dim": 3, "bogus": True}))
    save_file({}, str(tmp_path / WEIGHTS_FILE))
    with pytest.raises(CheckpointError, match="names no model_type"):
        load_pretrained(tmp_path)


def test_typed_checkpoints_without_format_version_load(tmp_path):
    """Backbones, the CNN and the feature teacher already wrote model_type (format 0)."""
    model = _hga()
    model.save_pretrained(tmp_path)
    raw = json.loads((tmp_path / CONFIG_FILE).read_text())
    del raw["format_version"], raw["model_class"]
    (tmp_path / CONFIG_FILE).write_text(json.dumps(raw))
    assert read_checkpoint_config(tmp_path).get("format_version") is None
    assert _same_weights(load_pretrained(tmp_path), model)


LEGACY_QUALITY_MODEL = (
    Path(__file__).parent / "fixtures" / "quality" / "legacy_single_file_model.safetensors"
)


def test_a_single_file_quality_model_converts_without_change(tmp_path):
    """The single-file format the quality model shipped in before it became a folder
    (the fixture is that shipped file, 26 KB) still loads and converts exactly."""
    legacy = QualityModel.load(LEGACY_QUALITY_MODEL)
    legacy.save_pretrained(tmp_path / "q")
    again = QualityModel.load(tmp_path / "q")
    assert again.feature_names == legacy.feature_names and again.report == legacy.report
    x = np.random.default_rng(0).standard_normal((4, len(legacy.feature_names)))
    np.testing.assert_array_equal(again.predict(x).scores, legacy.predict(x).scores)
    assert type(load_pretrained(tmp_path / "q")) is QualityModel
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="not a quality model file"):
        QualityModel.load(tmp_path / "junk.safetensors")


def test_quality_model_trained_for_other_classes_is_refused(tmp_path):
    legacy = QualityModel.load(default_model_path())
    legacy.save_pretrained(tmp_path)
    _edit_config(tmp_path, class_names=["none", "blur"])
    with pytest.raises(CheckpointError, match="trained for classes"):
        QualityModel.load(tmp_path)


# ---------------------------------------------------------------- hub ids, registry
def test_hub_ids_resolve_through_snapshot_download(tmp_path, monkeypatch):
    _hga().save_pretrained(tmp_path / "snapshot")
    seen = {}

    def fake_snapshot_download(repo_id, **kwargs):
        seen.update(repo_id=repo_id, **kwargs)
        return str(tmp_path / "snapshot")

    monkeypatch.setattr("huggingface_hub.snapshot_download", fake_snapshot_download)
    model = HGAModel.from_pretrained("someone/hga-tiny", revision="v1", local_files_only=True)
    assert type(model) is HGAModel
    assert seen == {"repo_id": "someone/hga-tiny", "revision": "v1", "cache_dir": None,
                    "local_files_only": True}  # fmt: skip


def test_hub_failure_is_a_checkpoint_error(monkeypatch):
    from huggingface_hub.errors import LocalEntryNotFoundError

    def offline(repo_id, **kwargs):
        raise LocalEntryNotFoundError("not in the cache")

    monkeypatch.setattr("huggingface_hub.snapshot_download", offline)
    with pytest.raises(CheckpointError, match="could not be fetched") as info:
        load_pretrained("someone/not-cached")
    assert info.value.model == "someone/not-cached"
    with pytest.raises(CheckpointError, match="not a hub repository id"):
        resolve_checkpoint("runs/a/b/best")


def test_registry_lists_every_model_type_and_refuses_duplicates():
    assert {"hga", "vgt", "transformer", "sgvlm-localizer", "videoqa-cnn", "quality-mlp",
            "scene-graph-predictor"} <= set(persistence.list_model_types())  # fmt: skip
    with pytest.raises(Exception, match="already registered"):

        class Again(HGAModel):
            model_type = "hga"


def test_reserved_keys_cannot_be_config_fields():
    from pydantic import BaseModel

    class BadConfig(BaseModel):
        model_type: str = "x"

    with pytest.raises(TypeError, match="reserved keys"):

        class Bad(persistence.PretrainedMixin):
            model_type = "bad-config-test"
            config_class = BadConfig

    assert "bad-config-test" not in PERSISTED


def test_generic_loader_imports_the_module_the_checkpoint_names(tmp_path):
    CNNFrameEncoder(CNNConfig(image_size=16, channels=(2, 2, 2, 2))).save_pretrained(tmp_path)
    code = (
        "import sys; from videoqa.persistence import load_pretrained; "
        f"m = load_pretrained({str(tmp_path)!r}); "
        "print(type(m).__name__, 'videoqa.encoders.cnn' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["CNNFrameEncoder", "True"]


def test_load_weights_restores_in_place(tmp_path):
    best, current = _hga(0), _hga(1)
    best.save_pretrained(tmp_path / "best")
    current.load_weights(tmp_path / "best")
    assert _same_weights(current, best)
    with pytest.raises(CheckpointError, match="not a vgt one"):
        build_model("vgt", FIELDS).load_weights(tmp_path / "best")
    bigger = build_model("hga", {**FIELDS, "hidden_size": 32})
    with pytest.raises(CheckpointError, match="do not match"):
        bigger.load_weights(tmp_path / "best")
