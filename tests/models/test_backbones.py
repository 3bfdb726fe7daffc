"""Behaviour shared by every backbone: shapes, mask invariances, learning (save/load: the
shared model tests, ``tests/models/test_every_model.py``)."""

from __future__ import annotations

import pytest
import torch

from videoqa.errors import UsageError
from videoqa.models import QABatch, VideoQAModel, build_model

D, VOCAB, DP = 12, 40, 6
SPECS = {
    "hga": ("hga", {}),
    "transformer": ("transformer", {}),
    "vgt": ("vgt", {"clip_len": 2}),
    "vgt-patches": ("vgt", {"clip_len": 2, "patch_dim": DP, "graph_layers": 2}),
    "vgt-answer-only": ("vgt", {"pair_question_answer": False}),
}


def make_model(spec: str, seed: int = 0, **overrides) -> VideoQAModel:
    name, extra = SPECS[spec]
    torch.manual_seed(seed)
    config = {
        "feature_dim": D,
        "vocab_size": VOCAB,
        "hidden_size": 16,
        "num_heads": 2,
        "max_frames": 8,
        "max_text_len": 8,
        **extra,
        **overrides,
    }
    return build_model(name, config)


def random_batch(b=4, t=7, c=3, length=5, la=3, patches=True, seed=1) -> QABatch:
    g = torch.Generator().manual_seed(seed)
    video_mask = torch.rand(b, t, generator=g) < 0.5
    video_mask[0] = True  # all visible
    video_mask[1] = False
    video_mask[1, 4] = True  # a single visible frame
    video_mask[2, 0] = True
    question_mask = torch.arange(length) < torch.randint(1, length + 1, (b, 1), generator=g)
    candidates_mask = torch.arange(la) < torch.randint(1, la + 1, (b, c, 1), generator=g)
    question = torch.randint(4, VOCAB, (b, length), generator=g) * question_mask
    candidates = torch.randint(4, VOCAB, (b, c, la), generator=g) * candidates_mask
    return QABatch(
        video=torch.randn(b, t, D, generator=g),
        video_mask=video_mask,
        question=question,
        question_mask=question_mask,
        candidates=candidates,
        candidates_mask=candidates_mask,
        patches=torch.randn(b, t, 3, DP, generator=g) if patches else None,
    )


@pytest.fixture(params=sorted(SPECS))
def spec(request) -> str:
    return request.param


def test_output_shapes_and_frame_weights(spec):
    model = make_model(spec).eval()
    batch = random_batch()
    with torch.no_grad():
        out = model(batch)
    assert out.logits.shape == (4, 3)
    w = out.frame_weights
    assert w.shape == (4, 7)
    assert torch.all(w >= 0)
    assert torch.all(w[~batch.video_mask] == 0)
    torch.testing.assert_close(w.sum(dim=1), torch.ones(4))
    assert w[1, 4] == pytest.approx(1.0)  # the single visible frame carries all the weight


def test_hidden_frame_values_do_not_matter(spec):
    model = make_model(spec).eval()
    batch = random_batch()
    hidden = ~batch.video_mask
    video = batch.video.clone()
    video[hidden] = torch.randn(int(hidden.sum()), D) * 50
    patches = batch.patches.clone()
    patches[hidden] = torch.randn(int(hidden.sum()), 3, DP) * 50
    changed = QABatch(**{**batch.__dict__, "video": video, "patches": patches})
    with torch.no_grad():
        a, b = model(batch), model(changed)
    torch.testing.assert_close(a.logits, b.logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(a.frame_weights, b.frame_weights, atol=1e-6, rtol=0)
    # the visible frames do matter (the test would be vacuous otherwise)
    moved = QABatch(**{**batch.__dict__, "video": batch.video + 3 * batch.video_mask[..., None]})
    with torch.no_grad():
        assert not torch.allclose(model(moved).logits, a.logits, atol=1e-3)


def test_pad_token_values_do_not_matter(spec):
    model = make_model(spec).eval()
    batch = random_batch()
    question = torch.where(
        batch.question_mask, batch.question, torch.randint(4, VOCAB, batch.question.shape)
    )
    candidates = torch.where(
        batch.candidates_mask, batch.candidates, torch.randint(4, VOCAB, batch.candidates.shape)
    )
    changed = QABatch(**{**batch.__dict__, "question": question, "candidates": candidates})
    with torch.no_grad():
        torch.testing.assert_close(model(batch).logits, model(changed).logits, atol=1e-5, rtol=0)


def test_trailing_hidden_frames_equal_absent_frames(spec):
    """Masking the last frames is the same as not having them (no leak through padding)."""
    model = make_model(spec).eval()
    batch = random_batch(patches=True)
    mask = torch.zeros_like(batch.video_mask)
    mask[:, :4] = True
    masked = batch.with_video(batch.video, mask)
    cut = QABatch(
        **{
            **batch.__dict__,
            "video": batch.video[:, :4],
            "video_mask": mask[:, :4],
            "patches": batch.patches[:, :4],
        }
    )
    with torch.no_grad():
        a, b = model(masked), model(cut)
    torch.testing.assert_close(a.logits, b.logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(a.frame_weights[:, :4], b.frame_weights, atol=1e-6, rtol=0)


def test_single_visible_frame_has_finite_outputs_and_gradients(spec):
    model = make_model(spec).train()
    batch = random_batch()
    single = torch.zeros_like(batch.video_mask)
    single[torch.arange(4), torch.tensor([0, 6, 3, 2])] = True
    out = model(batch.with_video(batch.video, single))
    assert torch.isfinite(out.logits).all()
    torch.testing.assert_close(out.frame_weights, single.float())
    out.logits.logsumexp(-1).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_batch_that_does_not_fit_the_config_raises(spec):
    model = make_model(spec)
    with pytest.raises(UsageError):
        model(random_batch(t=9))  # max_frames = 8
    batch = random_batch()
    with pytest.raises(UsageError):
        model(QABatch(**{**batch.__dict__, "video": torch.randn(4, 7, D + 1)}))


def planted_task(n=24, t=6, c=4, k=8, seed=0) -> tuple[QABatch, torch.Tensor]:
    """The answer word's prototype is planted in one visible frame; other frames are noise.

    Answer words are ids 4..4+k; each question offers c distinct words; frames are noise
    except frame ``t*`` (visible, random) which holds the answer word's prototype.
    """
    g = torch.Generator().manual_seed(seed)
    prototypes = torch.randn(k, D, generator=g) * 2
    video = torch.randn(n, t, D, generator=g) * 0.5
    mask = torch.rand(n, t, generator=g) < 0.6
    words = torch.stack([torch.randperm(k, generator=g)[:c] for _ in range(n)])  # (n, c)
    answer = torch.randint(0, c, (n,), generator=g)
    where = torch.randint(0, t, (n,), generator=g)
    video[torch.arange(n), where] += prototypes[words[torch.arange(n), answer]]
    mask[torch.arange(n), where] = True
    batch = QABatch(
        video=video,
        video_mask=mask,
        question=torch.tensor([[30, 31, 32]]).expand(n, 3).clone(),
        question_mask=torch.ones(n, 3, dtype=torch.bool),
        candidates=(words + 4).unsqueeze(-1),
        candidates_mask=torch.ones(n, c, 1, dtype=torch.bool),
    )
    return batch, answer


@pytest.mark.parametrize("spec_name", ["hga", "transformer", "vgt"])
def test_overfits_a_task_that_rests_on_one_frame(spec_name):
    model = make_model(spec_name, dropout=0.0, hidden_size=32).train()
    batch, answer = planted_task()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        loss = torch.nn.functional.cross_entropy(model(batch).logits, answer)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        out = model(batch)
    final = torch.nn.functional.cross_entropy(out.logits, answer).item()
    assert (out.logits.argmax(-1) == answer).all(), final
    assert final < 0.1
