"""load_encoder / is_available: presets, local directories, the hub cache, offline failures."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants as hf_constants

from tests.encoders.conftest import TEXTS
from videoqa.encoders import (
    PRETRAINED,
    ClipEncoder,
    SiglipEncoder,
    hub_reachable,
    is_available,
    load_encoder,
    save_tiny,
)
from videoqa.errors import ModelUnavailableError

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module", params=["tiny", "tiny-siglip"])
def saved(request, tmp_path_factory) -> tuple[str, Path]:
    """A tiny preset written with save_tiny."""
    directory = tmp_path_factory.mktemp(request.param)
    return request.param, save_tiny(directory, request.param)


def _fake_hub_cache(cache: Path, repo_id: str, checkpoint: Path) -> Path:
    """Lay ``checkpoint`` out as a Hugging Face hub cache entry of ``repo_id``."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(checkpoint, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    return cache


def test_presets_load_by_name(tiny_clip, frames):
    enc = load_encoder("tiny")
    assert isinstance(enc, ClipEncoder) and enc.pretrained is False
    assert isinstance(load_encoder("tiny-siglip"), SiglipEncoder)
    assert torch.equal(enc.encode_images(frames), tiny_clip.encode_images(frames))


def test_saved_directory_loads_back_with_identical_embeddings(
    saved, frames, tiny_clip, tiny_siglip
):
    name, directory = saved
    assert {"config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json"} <= {
        p.name for p in directory.iterdir()
    }
    built = tiny_clip if name == "tiny" else tiny_siglip
    loaded = load_encoder(directory)
    assert type(loaded) is type(built)
    assert loaded.pretrained is False  # config.json remembers it is a random preset
    assert loaded.spec.preprocessing_matches(built.spec)
    torch.testing.assert_close(
        loaded.encode_images(frames), built.encode_images(frames), atol=1e-6, rtol=0
    )
    torch.testing.assert_close(
        loaded.encode_texts(TEXTS), built.encode_texts(TEXTS), atol=1e-6, rtol=0
    )
    assert loaded.logit_scale == pytest.approx(built.logit_scale)
    assert loaded.logit_bias == pytest.approx(built.logit_bias)
    assert is_available(directory) and is_available(str(directory))


def test_directory_without_config_is_unavailable(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelUnavailableError, match="config.json") as info:
        load_encoder(tmp_path)
    assert info.value.exit_code == 4
    assert not is_available(tmp_path)


def test_unsupported_model_type_is_unavailable(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelUnavailableError, match="bert"):
        load_encoder(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ModelUnavailableError, match="unreadable"):
        load_encoder(tmp_path)


def test_directory_without_weights_is_unavailable(tmp_path):
    directory = save_tiny(tmp_path / "ckpt")
    (directory / "model.safetensors").unlink()
    assert not is_available(directory)
    with pytest.raises(ModelUnavailableError):
        load_encoder(directory)


def test_missing_paths_and_bad_names_are_unavailable(tmp_path):
    for bad in (tmp_path / "nope", str(tmp_path / "nope"), "./nope", "not a name!", "a/b/c"):
        with pytest.raises(ModelUnavailableError):
            load_encoder(bad)
        assert not is_available(bad)
    file = tmp_path / "weights.bin"
    file.write_bytes(b"")
    with pytest.raises(ModelUnavailableError, match="is a file"):
        load_encoder(file)


@pytest.mark.parametrize("name", ["openai/clip-vit-base-patch32", "someone/uncached-clip"])
def test_uncached_hub_id_offline_fails_with_the_ways_out(name, tmp_path):
    assert not is_available(name, cache_dir=tmp_path)
    with pytest.raises(ModelUnavailableError) as info:
        load_encoder(name, cache_dir=tmp_path)
    message = str(info.value)
    assert name in message and "--model tiny" in message and "local directory" in message
    assert "offline" in message
    assert info.value.model == name


def test_local_files_only_never_downloads(tmp_path):
    with pytest.raises(ModelUnavailableError, match="local_files_only"):
        load_encoder("someone/uncached-clip", local_files_only=True, cache_dir=tmp_path)


def _online_with_endpoint(monkeypatch, endpoint: str) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", endpoint)


def test_unreachable_hub_fails_without_retrying(monkeypatch, tmp_path):
    # port 9 (discard) on localhost: nothing listens, the connection is refused at once
    _online_with_endpoint(monkeypatch, "http://127.0.0.1:9")
    assert not hub_reachable()
    with pytest.raises(ModelUnavailableError, match="unreachable"):
        load_encoder("someone/uncached-clip", cache_dir=tmp_path)


def test_probe_sees_a_listening_endpoint(monkeypatch, tmp_path):
    name = "someone/uncached-clip"
    assert not is_available(name, cache_dir=tmp_path, allow_download=True)  # offline mode
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        _online_with_endpoint(monkeypatch, f"http://127.0.0.1:{port}")
        assert hub_reachable()
        assert is_available(name, cache_dir=tmp_path, allow_download=True)
        assert not is_available(name, cache_dir=tmp_path)  # default: cached files only


def test_cached_hub_checkpoint_loads_offline(saved, tmp_path, frames):
    name, directory = saved
    cache = _fake_hub_cache(tmp_path, "someone/cached-encoder", directory)
    assert is_available("someone/cached-encoder", cache_dir=cache)
    enc = load_encoder("someone/cached-encoder", cache_dir=cache)
    reference = load_encoder(name)
    assert enc.name == "someone/cached-encoder" and type(enc) is type(reference)
    torch.testing.assert_close(
        enc.encode_images(frames), reference.encode_images(frames), atol=1e-6, rtol=0
    )
    torch.testing.assert_close(
        enc.encode_texts(TEXTS), reference.encode_texts(TEXTS), atol=1e-6, rtol=0
    )


def test_registered_name_uses_its_cached_files_and_warns_on_a_spec_mismatch(tmp_path):
    name = "openai/clip-vit-base-patch32"
    cache = _fake_hub_cache(tmp_path, PRETRAINED.get(name).source, save_tiny(tmp_path / "t"))
    assert is_available(name, cache_dir=cache)
    with pytest.warns(UserWarning, match="differ from the registered spec"):
        enc = load_encoder(name, cache_dir=cache)
    assert enc.name == name and enc.image_size == 32  # the checkpoint's own files win


@pytest.mark.parametrize("local_files_only", [None, False])
def test_cached_checkpoint_loads_when_online_but_the_hub_is_down(
    monkeypatch, tmp_path, local_files_only
):
    # online mode, but the endpoint refuses connections: the cache must be used without
    # huggingface_hub's retries (a real request would go to huggingface.co and wait ~46 s)
    _online_with_endpoint(monkeypatch, "http://127.0.0.1:9")
    cache = _fake_hub_cache(tmp_path, "someone/cached-clip", save_tiny(tmp_path / "t"))
    enc = load_encoder("someone/cached-clip", cache_dir=cache, local_files_only=local_files_only)
    assert enc.embed_dim == 64


def test_legacy_feature_extractor_config_is_understood(tmp_path, frames, tiny_clip):
    """Old hub checkpoints (e.g. openai/clip-*) store ``size``/``crop_size`` as plain ints."""
    directory = save_tiny(tmp_path / "legacy")
    legacy = {
        "feature_extractor_type": "CLIPFeatureExtractor",
        "do_resize": True,
        "size": 32,
        "resample": 3,
        "do_center_crop": True,
        "crop_size": 32,
        "do_normalize": True,
        "image_mean": list(tiny_clip.spec.mean),
        "image_std": list(tiny_clip.spec.std),
    }
    (directory / "preprocessor_config.json").write_text(json.dumps(legacy))
    enc = load_encoder(directory)
    assert enc.spec.preprocessing_matches(tiny_clip.spec)
    torch.testing.assert_close(
        enc.encode_images(frames), tiny_clip.encode_images(frames), atol=1e-6, rtol=0
    )
