"""FrameLocalizer: the dual-stream mask, isolation of frames, heads, save/load, select_frames."""

from __future__ import annotations

import pytest
import torch

from videoqa.errors import CheckpointError, UsageError
from videoqa.models.sgvlm.localizer import (
    FrameLocalizer,
    LocalizerConfig,
    dual_stream_attention_mask,
    select_frames,
    sinusoidal_time_embedding,
)

B, T, K, L, DF, DSG, V = 2, 5, 3, 6, 10, 53, 30


def _config(**kw) -> LocalizerConfig:
    base = dict(frame_dim=DF, sg_dim=DSG, vocab_size=V, hidden_size=32, num_heads=4,
                temporal_layers=0, dropout=0.0)  # fmt: skip
    return LocalizerConfig(**{**base, **kw})


def _inputs(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    question_mask = torch.ones(B, L, dtype=torch.bool)
    question_mask[1, 4:] = False
    frame_mask = torch.ones(B, T, dtype=torch.bool)
    frame_mask[1, 3:] = False
    return {
        "frames": torch.randn(B, T, DF, generator=g),
        "frame_mask": frame_mask,
        "question_ids": torch.randint(0, V, (B, L), generator=g),
        "question_mask": question_mask,
        "sg_tokens": torch.randn(B, T, K, DSG, generator=g),
        "sg_mask": torch.rand(B, T, K, generator=g) > 0.3,
        "times": (torch.arange(T) * 0.25 + 0.125).repeat(B, 1),
    }


def _model(**kw) -> FrameLocalizer:
    torch.manual_seed(0)
    return FrameLocalizer(_config(**kw)).eval()


def test_mask_golden_masked_and_unmasked():
    qm = torch.tensor([[True, False]])
    fm = torch.tensor([[True, False]])
    sm = torch.tensor([[[True], [False]]])
    masked = dual_stream_attention_mask(qm, fm, sm, masked=True)[0]
    # every row (2 question, 2 frame, 2 SG tokens) may attend only to question token 0
    assert masked.shape == (6, 6)
    assert masked[:, 0].all() and not masked[:, 1:].any()
    full = dual_stream_attention_mask(qm, fm, sm, masked=False)[0]
    assert full.tolist() == [[True, False, True, False, True, False]] * 6


def test_mask_rejects_empty_question():
    with pytest.raises(UsageError):
        dual_stream_attention_mask(
            torch.zeros(1, 3, dtype=torch.bool), torch.ones(1, 2, dtype=torch.bool), None
        )


def test_masked_frame_ignores_other_frames_and_sg_tokens():
    model = _model()
    x = _inputs()
    y = {k: v.clone() for k, v in x.items()}
    y["frames"][:, 1:] = torch.randn(B, T - 1, DF)  # other frames
    y["sg_tokens"][:, 1:] = torch.randn(B, T - 1, K, DSG)  # other frames' SG tokens
    with torch.no_grad():
        a, b = model(**x).frame_states, model(**y).frame_states
    torch.testing.assert_close(a[:, 0], b[:, 0])
    assert not torch.allclose(a[:, 1:], b[:, 1:])


def test_frame_sees_its_own_sg_tokens():
    model = _model()
    x = _inputs()
    y = {k: v.clone() for k, v in x.items()}
    y["sg_mask"][:, 0] = True
    y["sg_tokens"][:, 0] = torch.randn(B, K, DSG)
    with torch.no_grad():
        assert not torch.allclose(model(**x).frame_states[:, 0], model(**y).frame_states[:, 0])


def test_without_mask_frames_interact():
    model = _model(attention_mask=False)
    x = _inputs()
    y = {k: v.clone() for k, v in x.items()}
    y["frames"][:, 1:] = torch.randn(B, T - 1, DF)
    with torch.no_grad():
        assert not torch.allclose(model(**x).frame_states[:, 0], model(**y).frame_states[:, 0])


def test_output_shapes_ranges_and_question_dependence():
    model = _model(temporal_layers=2)
    x = _inputs()
    with torch.no_grad():
        out = model(**x)
        other = model(**{**x, "question_ids": (x["question_ids"] + 1) % V})
    assert out.saliency.shape == (B, T) and out.foreground.shape == (B, T)
    assert out.offsets.shape == (B, T, 2) and bool((out.offsets >= 0).all())
    assert out.frame_states.shape == (B, T, 32)
    assert torch.isinf(out.saliency[1, 3:]).all() and torch.isfinite(out.saliency[0]).all()
    assert float(out.saliency[0].abs().max()) <= 1.0 + 1e-6  # cosine scores
    assert not torch.allclose(out.saliency[0], other.saliency[0])


def test_nosg_model_and_errors():
    model = _model(sg_dim=None)
    x = _inputs()
    with torch.no_grad():
        out = model(**{**x, "sg_tokens": None, "sg_mask": None})
    assert out.saliency.shape == (B, T)
    with pytest.raises(UsageError):
        model(**x)
    with pytest.raises(UsageError):
        _model()(**{**x, "question_ids": x["question_ids"] + V})


def test_training_lowers_the_foreground_loss_on_one_batch():
    torch.manual_seed(0)
    model = FrameLocalizer(_config(temporal_layers=1))
    x = _inputs()
    target = torch.zeros(B, T)
    target[:, 1] = 1.0
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        out = model(**x)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(out.foreground, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]


def test_save_pretrained_round_trip(tmp_path):
    model = _model(temporal_layers=1)
    model.save_pretrained(tmp_path / "loc")
    assert {p.name for p in (tmp_path / "loc").iterdir()} == {"config.json", "model.safetensors"}
    again = FrameLocalizer.from_pretrained(tmp_path / "loc").eval()
    assert again.config == model.config
    x = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(model(**x).saliency, again(**x).saliency)
    with pytest.raises(CheckpointError):
        FrameLocalizer.from_pretrained(tmp_path / "missing")


def test_select_frames_golden():
    saliency = torch.tensor([[0.1, 0.9, 0.5, 0.7], [0.3, 0.2, 0.8, 0.9]])
    mask = torch.tensor([[True, True, True, True], [True, True, True, False]])
    assert select_frames(saliency, mask, 2).tolist() == [[1, 3], [0, 2]]
    assert select_frames(saliency, mask, 4).tolist() == [[0, 1, 2, 3], [0, 1, 2, 3]]
    with pytest.raises(UsageError):
        select_frames(saliency, mask, 5)


def test_time_embedding_golden():
    emb = sinusoidal_time_embedding(torch.tensor([0.0, 0.1]), 4)
    # units of 0.1 s: angle = u * [1, 1/100]
    expected = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.841471, 0.0099998, 0.540302, 0.99995]])
    torch.testing.assert_close(emb, expected, atol=1e-5, rtol=0)


def test_scene_graph_token_order_and_pad_slots_do_not_matter():
    model = _model(temporal_layers=1, max_sg_tokens=6)
    x = _inputs()
    perm = torch.tensor([2, 0, 1])
    y = {**x, "sg_tokens": x["sg_tokens"][:, :, perm], "sg_mask": x["sg_mask"][:, :, perm]}
    pad = torch.zeros(B, T, 3, DSG)
    z = {**x, "sg_tokens": torch.cat([pad, x["sg_tokens"]], 2),
         "sg_mask": torch.cat([torch.zeros(B, T, 3, dtype=torch.bool), x["sg_mask"]], 2)}  # fmt: skip
    with torch.no_grad():
        ref = model(**x).saliency
        torch.testing.assert_close(model(**y).saliency, ref)
        torch.testing.assert_close(model(**z).saliency, ref)
