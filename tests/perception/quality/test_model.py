"""The quality MLP: its training form (QualityNet) equals the NumPy model, the loss and
class weights, save/load, score targets and manifests (training itself:
tests/recipes/test_quality.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from videoqa.errors import ModelUnavailableError, UsageError
from videoqa.perception.quality.dataset import (
    LabeledVideo,
    read_manifest,
    score_targets,
    write_manifest,
)
from videoqa.perception.quality.distort import DistortionKind
from videoqa.perception.quality.features import unit_feature_names
from videoqa.perception.quality.model import CLASS_NAMES, SCORE_NAMES, QualityModel, slog
from videoqa.perception.quality.objective import (
    QualityLossWeights,
    QualityNet,
    QualityNetConfig,
    class_weights,
    quality_loss,
    standardization,
)

D = len(unit_feature_names())


def _net(seed: int = 0, hidden: int = 8) -> tuple[QualityNet, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (12, D)) * rng.uniform(0.1, 20, D)
    x[:, 3] = 7.0  # a constant feature: std 1, z 0
    torch.manual_seed(seed)
    mean, std = standardization(x)
    return QualityNet(unit_feature_names(), mean, std, QualityNetConfig(hidden_size=hidden)), x


def test_score_targets_golden():
    assert score_targets(DistortionKind.NONE, 0).tolist() == [5.0] * 6
    # blur level 3: overall and sharpness 5 - 0.8 * 3 = 2.6; the other dimensions stay 5.
    assert score_targets(DistortionKind.BLUR, 3).tolist() == pytest.approx([2.6, 2.6, 5, 5, 5, 5])
    assert score_targets(DistortionKind.FLICKER, 5).tolist() == pytest.approx(
        [1.0, 5, 5, 5, 5, 1.0]
    )


def test_standardization_and_class_weights_golden():
    mean, std = standardization(np.array([[0.0, 2.0], [np.e - 1, 2.0]]))
    assert mean.tolist() == pytest.approx([0.5, np.log(3)]) and std.tolist() == [0.5, 1.0]
    # 6 units: none x1, blur x2, noise x3 -> N / (C count) = 0.6, 0.3, 0.2; none x2
    weight = class_weights(np.array([0, 1, 1, 2, 2, 2]), none_weight=2.0)
    assert weight[:3].tolist() == pytest.approx([1.2, 0.3, 0.2]) and (weight[3:] == 0).all()


def test_the_net_is_the_numpy_model():
    net, x = _net()
    model = net.eval().to_quality_model({"note": "toy"})
    with torch.no_grad():
        logits, scores = net(net.standardize(x))
    pred = model.predict(x)
    np.testing.assert_allclose(pred.probabilities, logits.softmax(-1).numpy(), atol=1e-6)
    np.testing.assert_allclose(pred.scores, 1 + 4 * scores.numpy(), atol=1e-5)
    assert pred.scores.shape == (12, len(SCORE_NAMES)) and model.report == {"note": "toy"}
    other, _ = _net(seed=1)
    other.load_quality_model(model)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
                                                 other.state_dict().values(), strict=True))  # fmt: skip
    with pytest.raises(UsageError):
        _net(hidden=4)[0].load_quality_model(model)


def test_quality_loss_terms():
    net, x = _net()
    net.eval()  # no dropout: deterministic
    z = net.standardize(x)
    y = torch.tensor([0, 1] * 6)
    s = torch.full((12, len(SCORE_NAMES)), 0.5)
    weight = torch.ones(len(CLASS_NAMES))
    parts = quality_loss(net, z, y, s, weight, QualityLossWeights(score_weight=2.0, l2=0.1))
    logits, scores = net(z)
    assert parts["ce"].item() == pytest.approx(torch.nn.functional.cross_entropy(logits, y).item())
    assert parts["mse"].item() == pytest.approx(((scores - 0.5) ** 2).mean().item())
    sq = sum(float((m.weight.detach() ** 2).sum()) for m in (net.hidden, net.head_c, net.head_s))
    assert parts["l2"].item() == pytest.approx(0.1 * sq, rel=1e-5)
    want = parts["ce"] + 2.0 * parts["mse"] + parts["l2"]
    assert parts["loss"].item() == pytest.approx(want.item())
    net.train()  # input dropout: the loss changes with the draw
    a = quality_loss(net, z, y, s, weight, QualityLossWeights())["loss"].item()
    b = quality_loss(net, z, y, s, weight, QualityLossWeights())["loss"].item()
    assert a != b


def test_save_load_round_trip(tmp_path: Path):
    net, x = _net()
    model = net.to_quality_model({"note": "toy"})
    loaded = QualityModel.load(model.save(tmp_path / "m.safetensors"))
    assert loaded.feature_names == tuple(unit_feature_names())
    assert loaded.report == {"note": "toy"}
    a, b = model.predict(x), loaded.predict(x)
    assert np.allclose(a.probabilities, b.probabilities, atol=1e-5)
    assert np.allclose(a.scores, b.scores, atol=1e-4)


def test_load_errors(tmp_path: Path):
    with pytest.raises(ModelUnavailableError):
        QualityModel.load(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelUnavailableError):
        QualityModel.load(junk)


def test_predict_rejects_wrong_width():
    net, x = _net()
    with pytest.raises(ValueError):
        net.to_quality_model().predict(x[:, :10])


def test_slog_is_odd_and_monotone():
    v = np.array([-10.0, -1.0, 0.0, 1.0, 10.0])
    assert np.allclose(slog(v), -slog(-v))
    assert np.all(np.diff(slog(v)) > 0)
    assert slog(np.array([np.e - 1]))[0] == pytest.approx(1.0)


def test_manifest_round_trip(tmp_path: Path):
    videos = [
        LabeledVideo(tmp_path / "videos" / "a.mp4", "a", "bikes", DistortionKind.BLUR, 2),
        LabeledVideo(tmp_path / "videos" / "b.mp4", "b", "carphone", DistortionKind.NONE, 0),
    ]
    write_manifest(videos, tmp_path)
    assert read_manifest(tmp_path) == videos
