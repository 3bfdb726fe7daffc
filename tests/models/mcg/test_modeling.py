"""What is particular to MCG (arXiv:2410.09379): word aggregation, the extra text
stream, a real TimeSformer folder loading, time-embedding interpolation, the
temperature clamp, the classifier head, and learning a tiny QA set."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import TimesformerModel

from tests.models.mcg.tester import QUESTIONS, TINY, tiny_mcg, tiny_tokenizer
from videoqa.errors import UsageError
from videoqa.models.mcg import MCG, MCGBatch, build_mcg
from videoqa.models.mcg.configuration import VideoSettings
from videoqa.models.mcg.modeling import aggregate_words, timesformer_config


def test_pieces_are_summed_into_words() -> None:
    hidden = torch.tensor([[[1.0], [2.0], [3.0], [4.0], [9.0]]])
    att = torch.tensor([[0.5, 0.1, 0.2, 0.3, 0.7]])
    index = torch.tensor([[-1, 0, 0, 1, -1]])  # [CLS] wo ##rd word [PAD]
    words, mask, watt = aggregate_words(hidden, att, index)
    assert words[0, :, 0].tolist() == [5.0, 4.0] and mask.tolist() == [[True, True]]
    assert torch.allclose(watt, torch.tensor([[0.3, 0.3]]))


def test_word_index_follows_the_pieces_and_the_extra_stream() -> None:
    tok = tiny_tokenizer()
    model = build_mcg(TINY, tok)
    word = next(w for w in ("collides", "cylinder", "bounces", "yellow") if len(tok.tokenize(w)) > 1)
    text = model.processor.text([f"the {word} ?"], extra=["red cube"])
    ids, index, types = text.input_ids[0], text.word_index[0], text.token_type_ids[0]
    n = {w: len(tok.tokenize(w)) for w in ("the", word, "?", "red", "cube")}
    first = [-1, *[0] * n["the"], *[1] * n[word], *[2] * n["?"], -1]  # [CLS] the word ? [SEP]
    second = [*[3] * n["red"], *[4] * n["cube"], -1]  # red cube [SEP]: words numbered on
    assert index.tolist() == first + second
    assert types.tolist() == [0] * len(first) + [1] * len(second)
    assert int(ids[0]) == tok.cls_token_id and n[word] > 1


def test_a_timesformer_folder_loads_and_time_embeddings_interpolate(tmp_path: Path) -> None:
    torch.manual_seed(3)
    settings = VideoSettings(**{**TINY["video"], "num_frames": 4})
    TimesformerModel(timesformer_config(settings)).save_pretrained(tmp_path / "tsf")
    model = build_mcg({**TINY, "video": {}}, tiny_tokenizer(), video_backbone=tmp_path / "tsf")
    ref = TimesformerModel.from_pretrained(tmp_path / "tsf")
    assert model.config.video.num_frames == 4 and model.config.video.pretrained == str(tmp_path / "tsf")
    assert torch.equal(model.video.embeddings.time_embeddings, ref.embeddings.time_embeddings)
    model.eval()
    pixels = torch.randn(2, 4, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(
            model.encode_video(pixels).cls, ref(pixel_values=pixels).last_hidden_state[:, 0], atol=1e-6
        )
        other = model.encode_video(torch.randn(2, 7, 3, 16, 16))  # 7 frames: interpolated
    assert other.patches.shape == (2, 7, 4, 32) and other.cls_attention.shape == (2, 7, 4)
    assert model.video.config.num_frames == 4  # restored after the call
    with pytest.raises(UsageError):
        model.encode_video(torch.randn(1, 4, 3, 24, 24))


def test_temperature_is_clamped_and_classifier_head_scores_its_vocabulary() -> None:
    model = tiny_mcg()
    with torch.no_grad():
        model.temperature.fill_(3.0)
    assert float(model.clamp_temperature().detach()) == 0.5
    clf = tiny_mcg(head="classifier", answers=["red", "blue", "two"])
    batch = MCGBatch(torch.randn(2, 3, 3, 16, 16), torch.zeros(2, 3), clf.processor.text(QUESTIONS))
    ll = clf.loglikelihood(batch, [["red", "blue", "zzz"], ["two", "red", "blue"]])
    assert ll.shape == (2, 3) and float(ll[0, 2]) == -1e4
    assert clf.generate(batch)[0] in {"red", "blue", "two"}
    with pytest.raises(UsageError):
        clf.qa_loss(batch, ["green", "red"])


def test_a_tiny_mcg_learns_its_answers_and_generates_them() -> None:
    torch.manual_seed(0)
    model = tiny_mcg()
    model.train()
    g = torch.Generator().manual_seed(0)
    pixels = torch.randn(2, 3, 3, 16, 16, generator=g)
    batch = MCGBatch(pixels, torch.zeros(2, 3), model.processor.text(QUESTIONS))
    answers = ["green cube", "three"]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        loss = model.qa_loss(batch, answers, instance_weight=0.5, token_weight=0.5)
        opt.zero_grad()
        loss.total.backward()
        opt.step()
        first = first if first is not None else float(loss.generation.detach())
    assert float(loss.generation.detach()) < 0.1 * first
    model.eval()
    assert model.generate(batch) == answers
    ll = model.loglikelihood(batch, [["green cube", "red", "three"], ["two", "three", "green cube"]])
    assert ll.argmax(dim=1).tolist() == [0, 1]
    assert isinstance(model, MCG)


def test_gradient_checkpointing_gives_the_same_gradients() -> None:
    grads = []
    for ckpt in (False, True):
        model = tiny_mcg(0)
        model.train()
        if ckpt:
            model.enable_gradient_checkpointing()
        g = torch.Generator().manual_seed(2)
        batch = MCGBatch(torch.randn(2, 3, 3, 16, 16, generator=g), torch.zeros(2, 3), model.processor.text(QUESTIONS))
        model.qa_loss(batch, ["red", "two"], 1.0, 1.0).total.backward()
        grads.append(model.video.embeddings.patch_embeddings.projection.weight.grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-6) and grads[0].abs().sum() > 0


def test_the_answer_can_come_from_the_pixels() -> None:
    # the same question for every video; the answer is where a bright square is
    torch.manual_seed(0)
    model = tiny_mcg(0)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)

    def batch(n: int):
        right = torch.randint(0, 2, (n,), generator=g)
        x = 0.3 * torch.randn(n, 3, 3, 16, 16, generator=g)
        for i, r in enumerate(right.tolist()):
            x[i, :, :, 6:10, (10 if r else 2) : (14 if r else 6)] += 2.0
        text = model.processor.text(["where is the cube ?"] * n)
        return MCGBatch(x, torch.zeros(n, 3), text), ["red" if r else "blue" for r in right.tolist()]

    for _ in range(120):
        inputs, answers = batch(16)
        loss = model.qa_loss(inputs, answers).total
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    inputs, answers = batch(64)
    pick = model.loglikelihood(inputs, [["red", "blue"]] * 64).argmax(dim=1).tolist()
    accuracy = sum(("red", "blue")[p] == a for p, a in zip(pick, answers, strict=True)) / 64
    assert accuracy > 0.9
