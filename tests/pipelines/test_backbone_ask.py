"""A trained HGA / VGT / transformer answers a real video: features computed at ask time
equal the training store's, answers and evidence are well formed, ``top_k`` is
honoured, open-ended questions score a vocabulary, and every way a checkpoint can be
unusable is a typed error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.pipelines.backbones import CHOICES, FRAMES
from videoqa.errors import ModelUnavailableError
from videoqa.features.store import FeatureStore
from videoqa.pipelines.backbone import (
    NON_PIXEL_ENCODERS,
    BackboneAnswerer,
    parse_sampler_label,
)
from videoqa.pipelines.resolve import resolve
from videoqa.synth.features import ENCODER_NAME as ORACLE_ENCODER

QUESTION = "what is the person doing?"


def test_features_at_ask_time_match_the_training_store(checkpoints, bikes_video):
    answerer = BackboneAnswerer(checkpoints["vgt"])
    assert answerer.checkpoint.processor.use_patches
    prepared = answerer.prepare(bikes_video)
    with FeatureStore(checkpoints["store"]) as store:
        stored = store.get("bikes")
    np.testing.assert_allclose(prepared.features, stored.frames, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(prepared.patches, stored.patches, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(prepared.frames.times, stored.times)
    np.testing.assert_array_equal(prepared.frames.indices, stored.frame_indices)


@pytest.mark.parametrize("arch", ["vgt", "hga", "transformer"])
def test_a_trained_backbone_answers_a_real_video(checkpoints, bikes_video, arch):
    answerer = resolve(f"{arch}:{checkpoints[arch]}", top_k=3)
    res = answerer(bikes_video, QUESTION, list(CHOICES)).result
    assert res.choices == list(CHOICES) and res.answer == res.choices[res.answer_index]
    assert sum(res.probabilities) == pytest.approx(1.0, abs=1e-5)
    assert res.model.arch == arch and res.model.name == f"{arch}:{checkpoints[arch]}"
    assert res.model.frame_encoder == "tiny" and res.sampler == "uniform"
    assert len(res.sampled_times) == FRAMES
    assert len(res.evidence) == 3
    for item in res.evidence:
        assert item.time in res.sampled_times and 0 <= item.time <= res.video.duration
        assert sum(item.choice_probabilities) == pytest.approx(1.0, abs=1e-5)
        assert item.supports in CHOICES
    scores = [e.score for e in res.evidence]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    # trained on a random encoder's features: labelled as such
    assert res.pretrained is False and res.model.pretrained is False
    assert any("'tiny'" in w and "random weights" in w for w in res.warnings)
    assert any("synthetic" in w for w in res.warnings)


def test_frame_weights_rank_the_evidence(checkpoints, bikes_video):
    answerer = BackboneAnswerer(checkpoints["hga"], top_k=FRAMES)
    res = answerer(bikes_video, QUESTION, list(CHOICES)).result
    prepared = answerer.prepare(bikes_video)
    batch = answerer.checkpoint.processor(prepared.features, [QUESTION], [list(CHOICES)])
    with torch.inference_mode():
        weights = answerer.model(batch).frame_weights[0]
    expected = sorted(weights.tolist(), reverse=True)
    assert [e.score for e in res.evidence] == pytest.approx(expected, abs=1e-6)
    assert sum(e.score for e in res.evidence) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("top_k, expected", [(1, 1), (4, 4), (50, FRAMES)])
def test_top_k_is_honoured(checkpoints, bikes_video, top_k, expected):
    res = resolve(f"vgt:{checkpoints['vgt']}", top_k=top_k)(bikes_video, QUESTION, ["a", "b"])
    assert len(res.result.evidence) == expected


def test_open_ended_scores_the_vocabulary_in_chunks(checkpoints, bikes_video):
    vocabulary = [f"answer {i}" for i in range(19)] + ["riding a bike"]
    answerer = BackboneAnswerer(checkpoints["hga"], top_k=2, vocabulary=vocabulary)
    res = answerer(bikes_video, QUESTION).result
    assert res.open_ended and len(res.choices) == 5 and set(res.choices) <= set(vocabulary)
    assert res.answer == res.choices[0] and 0 < sum(res.probabilities) <= 1 + 1e-6
    # 20 candidates scored 8 at a time give the frame weights of one pass over all 20
    prepared = answerer.prepare(bikes_video)
    batch = answerer.checkpoint.processor(prepared.features, [QUESTION], [vocabulary])
    with torch.inference_mode():
        out = answerer.model(batch)
    top = torch.topk(out.frame_weights[0], 2).values.tolist()
    assert [e.score for e in res.evidence] == pytest.approx(top, abs=1e-5)
    probs = torch.softmax(out.logits[0], dim=0)
    assert res.probabilities[0] == pytest.approx(float(probs.max()), abs=1e-5)


def test_a_different_frame_request_is_reported_not_obeyed(checkpoints, bikes_video):
    answerer = resolve(f"vgt:{checkpoints['vgt']}", frames=16, sampler="fps", grid=2)
    res = answerer(bikes_video, QUESTION, list(CHOICES)).result
    assert len(res.sampled_times) == FRAMES and res.sampler == "uniform"
    assert any("16 frames and the 'fps' sampler asked for" in w for w in res.warnings)
    assert any("--grid" in w for w in res.warnings)


def test_questions_about_one_video_decode_it_once(checkpoints, bikes_video):
    answerer = BackboneAnswerer(checkpoints["vgt"])
    first = answerer(bikes_video, QUESTION, list(CHOICES)).result
    second = answerer(bikes_video, "where is the person?", list(CHOICES)).result
    assert "decode" in first.timings and "decode" not in second.timings


def test_an_older_checkpoint_reads_the_training_store_meta(checkpoints, bikes_video, tmp_path):
    old = checkpoints["vgt-old"]
    assert not (old / "preprocessing.json").exists()
    answerer = BackboneAnswerer(old)
    assert answerer.checkpoint.preprocessing_source.endswith("meta.json")
    assert answerer(bikes_video, QUESTION, list(CHOICES)).result.evidence
    # the store is gone: a typed error naming what is missing
    moved = shutil.copytree(old, tmp_path / "best")
    (moved / "config.yaml").write_text("data:\n  features_dir: /no/such/store\n")
    with pytest.raises(ModelUnavailableError, match="preprocessing.json") as err:
        BackboneAnswerer(moved)
    assert "/no/such/store" in str(err.value) and err.value.exit_code == 4


def test_a_model_folder_resolves_to_its_checkpoint(checkpoints):
    answerer = resolve(str(checkpoints["hga"] / "model"))
    assert answerer.checkpoint.root == checkpoints["hga"]
    assert answerer.name == f"hga:{checkpoints['hga'] / 'model'}"


def test_another_architecture_is_refused(checkpoints):
    with pytest.raises(ModelUnavailableError, match="holds a 'vgt' model, not 'hga'"):
        resolve(f"hga:{checkpoints['vgt']}")


def _with_preprocessing(src: Path, dst: Path, **changes) -> Path:
    folder = shutil.copytree(src, dst)
    record = json.loads((folder / "preprocessing.json").read_text())
    (folder / "preprocessing.json").write_text(json.dumps({**record, **changes}))
    return folder


def test_oracle_features_cannot_be_computed_from_pixels(checkpoints, tmp_path):
    assert ORACLE_ENCODER in NON_PIXEL_ENCODERS
    folder = _with_preprocessing(checkpoints["hga"], tmp_path / "c", encoder=ORACLE_ENCODER)
    with pytest.raises(ModelUnavailableError, match="pixels"):
        resolve(f"hga:{folder}")


def test_features_of_another_dimension_are_refused(checkpoints, tmp_path):
    folder = _with_preprocessing(checkpoints["hga"], tmp_path / "c", dim=512)
    with pytest.raises(ModelUnavailableError, match="512-d features"):
        resolve(str(folder))


def test_a_damaged_preprocessing_record_is_a_typed_error(checkpoints, tmp_path):
    folder = shutil.copytree(checkpoints["hga"], tmp_path / "c")
    (folder / "preprocessing.json").write_text("{not json")
    with pytest.raises(ModelUnavailableError, match="preprocessing record"):
        resolve(str(folder))


def test_sampler_labels_round_trip():
    assert parse_sampler_label("uniform") == ("uniform", {})
    assert parse_sampler_label("fps(rate=1.0)") == ("fps", {"rate": 1.0})
    assert parse_sampler_label("clips(clip_len=4, num_clips=2)") == (
        "clips",
        {"clip_len": 4, "num_clips": 2},
    )
    with pytest.raises(ModelUnavailableError):
        parse_sampler_label("fps(rate)")


def test_the_tiny_encoder_is_the_same_in_every_process(checkpoints, bikes_video):
    """Features of a ``tiny`` store are reproducible at ask time in another process,
    whatever the global RNG state (the preset seeds its own weights)."""
    import subprocess
    import sys

    code = (
        "import sys, torch, numpy as np\n"
        "torch.manual_seed(123)\n"
        "from videoqa.features.extract import VideoJob, decode_video, load_frame_encoder\n"
        "enc = load_frame_encoder('tiny', patches=True)\n"
        f"frames = decode_video(VideoJob('bikes', {str(bikes_video)!r}), 'uniform', {FRAMES})\n"
        "f, p = enc.encode(frames.frames)\n"
        "np.save(sys.argv[1], f)\n"
    )
    out = checkpoints["store"].parent / "other_process.npy"
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, capture_output=True)
    with FeatureStore(checkpoints["store"]) as store:
        np.testing.assert_allclose(np.load(out), store.get("bikes").frames, rtol=1e-5, atol=1e-6)
