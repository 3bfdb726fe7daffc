"""SGVLM: likelihood scoring against a per-candidate computation, the training loss,
generation, the ablation switches, LoRA and checkpoints (tiny random models on CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from videoqa.errors import UsageError
from videoqa.models.sgvlm.configuration import LocalizerSettings, QFormerSettings, SGVLMConfig
from videoqa.models.sgvlm.llm import TinyLMConfig, create_tiny_llm, load_llm
from videoqa.models.sgvlm.modeling import SGVLM, build_sgvlm, time_embedding, uniform_frames
from videoqa.models.sgvlm.processing import SGVLMBatch

TEXTS = [
    "question : what color is the small object ? answer :",
    "red blue green to the left of it above below",
    "how many objects are in the scene at 1.5 s ? 0 1 2 3",
]
T, K, DF, DP, P, DSG = 6, 3, 10, 7, 4, 53


@pytest.fixture(scope="module")
def llm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("llm")
    return create_tiny_llm(
        TEXTS, out, TinyLMConfig(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64)
    )


def _fields(**kw) -> dict:
    base = dict(
        frame_dim=DF,
        patch_dim=DP,
        max_sg_tokens=K,
        max_frames=T,
        num_selected_frames=3,
        localizer=LocalizerSettings(
            hidden_size=16, num_heads=2, num_layers=1, temporal_layers=1, dropout=0.0
        ),
        qformer=QFormerSettings(
            hidden_size=16,
            num_layers=1,
            num_heads=2,
            intermediate_size=32,
            num_queries=4,
            dropout=0.0,
        ),
    )
    base.update(kw)
    return base


def _model(llm_dir: Path, **kw) -> SGVLM:
    torch.manual_seed(1)
    return build_sgvlm(_fields(**kw), llm_dir).eval()


def _batch(
    model: SGVLM,
    questions=("what color is the small object ?", "how many objects are in the scene ?"),
) -> SGVLMBatch:
    g = torch.Generator().manual_seed(2)
    b = len(questions)
    ids, mask = model.processor.questions(questions)
    sg_mask = torch.rand(b, T, K, generator=g) > 0.3
    return SGVLMBatch(
        frames=torch.randn(b, T, DF, generator=g),
        frame_mask=torch.ones(b, T, dtype=torch.bool),
        times=torch.arange(T).float().expand(b, T) * 0.5 + 0.25,
        question_ids=ids,
        question_mask=mask,
        prompts=model.processor.prompts(questions),
        patches=torch.randn(b, T, P, DP, generator=g),
        sg_tokens=torch.rand(b, T, K, DSG, generator=g),
        sg_mask=sg_mask,
        intervals=torch.tensor([[0.5, 1.5], [float("nan"), float("nan")]][:b]),
        video_index=torch.arange(b),
        clip_length=0.5,
    )


def _manual_logprob(
    model: SGVLM, prefix: torch.Tensor, prompt: list[int], answer: list[int]
) -> float:
    """Unpadded single sequence [prefix; prompt; answer] through the LLM."""
    emb = model.llm.get_input_embeddings()
    ids = torch.tensor(prompt + answer)
    x = torch.cat([prefix, emb(ids)], dim=0)[None]
    logp = torch.log_softmax(model.llm(inputs_embeds=x).logits[0].float(), dim=-1)
    start = prefix.shape[0] + len(prompt)
    return float(sum(logp[start - 1 + i, a] for i, a in enumerate(answer)))


@pytest.mark.parametrize("question_aware", [False, True])
def test_candidate_scores_match_unpadded_sequences(llm_dir: Path, question_aware: bool) -> None:
    q = QFormerSettings(
        hidden_size=16,
        num_layers=1,
        num_heads=2,
        intermediate_size=32,
        num_queries=4,
        dropout=0.0,
        question_aware=question_aware,
    )
    model = _model(llm_dir, qformer=q)
    batch = _batch(model)
    cands = [["red", "to the left of it", "blue"], ["2", "0", "above"]]
    scores = model.score_candidates(batch, cands)
    assert scores.shape == (2, 3)
    with torch.no_grad():
        prefix = model.visual_prefix(batch).embeds
        for b in range(2):
            for c, text in enumerate(cands[b]):
                want = _manual_logprob(
                    model, prefix[b], batch.prompts[b], model.processor.answer(text)
                )
                assert scores[b, c].item() == pytest.approx(want, abs=1e-4)


def test_loss_is_mean_token_nll_of_the_answers(llm_dir: Path) -> None:
    model = _model(llm_dir, localizer_loss_weight=0.0)
    batch = _batch(model)
    answers = ["red", "to the left of it"]
    with torch.no_grad():
        parts = model.loss(batch, answers)
        prefix = model.visual_prefix(batch).embeds
        ids = [model.processor.answer(a) for a in answers]
        total = sum(-_manual_logprob(model, prefix[b], batch.prompts[b], ids[b]) for b in range(2))
    assert parts.lm.item() == pytest.approx(total / sum(len(i) for i in ids), abs=1e-4)
    assert parts.total.item() == pytest.approx(parts.lm.item(), abs=1e-6)


def test_localizer_loss_only_on_questions_with_intervals(llm_dir: Path) -> None:
    model = _model(llm_dir)
    batch = _batch(model)
    with torch.no_grad():
        parts = model.loss(batch, ["red", "2"])
        none = model.loss(
            SGVLMBatch(**{**batch.__dict__, "intervals": torch.full((2, 2), float("nan"))}),
            ["red", "2"],
        )
    assert parts.localizer.item() > 0
    assert none.localizer.item() == 0.0


def test_answer_loss_reaches_the_localizer_through_the_selection_gate(llm_dir: Path) -> None:
    model = _model(llm_dir, localizer_loss_weight=0.0).train()
    model.loss(_batch(model), ["red", "2"]).total.backward()
    grads = [p.grad for p in model.localizer.parameters() if p.grad is not None]
    assert grads and max(float(g.abs().max()) for g in grads) > 0


def test_generate_greedy_first_token_is_the_argmax(llm_dir: Path) -> None:
    model = _model(llm_dir)
    batch = _batch(model)
    out = model.generate(batch, max_new_tokens=3)
    assert len(out) == 2
    with torch.no_grad():
        prefix = model.visual_prefix(batch).embeds
        emb = model.llm.get_input_embeddings()
        x = torch.cat([prefix[0], emb(torch.tensor(batch.prompts[0]))])[None]
        first = int(model.llm(inputs_embeds=x).logits[0, -1].argmax())
    text = model.processor.decode([first])
    assert out[0].split(" ")[0] == text.split(" ")[0] if text else True


def test_uniform_frames_golden() -> None:
    mask = torch.ones(1, 16, dtype=torch.bool)
    assert uniform_frames(mask, 4).tolist() == [[2, 6, 10, 14]]
    short = torch.tensor([[True, True, False, False]])
    assert uniform_frames(short, 3).max() <= 1


def test_time_embedding_values() -> None:
    e = time_embedding(torch.tensor([0.0, 1.0]), 4)
    assert e[0].tolist() == pytest.approx([0.0, 0.0, 1.0, 1.0])
    assert e[1, 0].item() == pytest.approx(0.0, abs=1e-5)  # sin(2π·1·1)


def test_ablation_switches(llm_dir: Path) -> None:
    nosg = _model(llm_dir, use_scene_graph=False)
    assert nosg.sg_qformer is None and nosg.localizer.config.sg_dim is None
    batch = _batch(nosg)
    no_sg_batch = SGVLMBatch(**{**batch.__dict__, "sg_tokens": None, "sg_mask": None})
    assert nosg.visual_prefix(no_sg_batch).embeds.shape == (2, 4, 32)
    full = _model(llm_dir)
    with pytest.raises(UsageError):
        full.visual_prefix(no_sg_batch)
    noloc = _model(llm_dir, use_localizer=False)
    prefix = noloc.visual_prefix(batch)
    assert noloc.localizer is None and prefix.selected.tolist() == [[0, 2, 4]] * 2
    assert _model(llm_dir, attention_mask=False).localizer.config.attention_mask is False


def test_localizer_picks_the_frames_that_reach_the_qformers(llm_dir: Path) -> None:
    model = _model(llm_dir)
    batch = _batch(model)
    prefix = model.visual_prefix(batch)
    top = prefix.localizer.saliency.topk(3, dim=1).indices.sort(dim=1).values
    assert prefix.selected.tolist() == top.tolist()
    # frames that are not selected do not change the answer scores
    unselected = torch.ones(2, T, dtype=torch.bool)
    unselected.scatter_(1, prefix.selected, False)
    cands = [["red", "blue"], ["2", "0"]]
    base = model.score_candidates(batch, cands)
    patches = batch.patches.clone()
    patches[unselected] = 99.0
    moved = model.score_candidates(SGVLMBatch(**{**batch.__dict__, "patches": patches}), cands)
    assert torch.allclose(base, moved, atol=1e-5)


def test_lora_trains_adapters_only(llm_dir: Path) -> None:
    model = _model(llm_dir, llm_training="lora")
    llm_trainable = [n for n, p in model.llm.named_parameters() if p.requires_grad]
    assert llm_trainable and all("lora_" in n for n in llm_trainable)
    assert all(p.requires_grad for p in model.frame_qformer.parameters())
    frozen = _model(llm_dir, llm_training="frozen")
    assert not any(p.requires_grad for p in frozen.llm.parameters())


def test_save_and_load_round_trip(llm_dir: Path, tmp_path: Path) -> None:
    model = _model(llm_dir, llm_training="lora")
    with torch.no_grad():  # make the adapters matter
        for n, p in model.llm.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)
    batch = _batch(model)
    cands = [["red", "blue"], ["2", "0"]]
    before = model.score_candidates(batch, cands)
    model.save_pretrained(tmp_path / "ckpt")
    loaded = SGVLM.from_pretrained(tmp_path / "ckpt")
    assert torch.allclose(before, loaded.score_candidates(batch, cands), atol=1e-4)
    llm, _ = load_llm(tmp_path / "ckpt" / "llm")
    assert not any("lora" in n for n, _ in llm.named_parameters())


def test_config_must_match_the_llm(llm_dir: Path) -> None:
    llm, tok = load_llm(llm_dir)
    with pytest.raises(UsageError):
        SGVLM(SGVLMConfig(**_fields(vocab_size=len(tok), llm_dim=64)), llm, tok)


def test_candidate_ranking_loss_matches_the_scores(llm_dir: Path) -> None:
    model = _model(llm_dir, localizer_loss_weight=0.0, mc_loss_weight=0.5)
    batch = _batch(model)
    cands = [["red", "to the left of it", "blue"], ["2", "0", "above"]]
    answer = torch.tensor([1, 0])
    with torch.no_grad():
        parts = model.loss(batch, ["to the left of it", "2"], cands, answer)
        lm_only = _model(llm_dir, localizer_loss_weight=0.0).loss(batch, ["to the left of it", "2"])
    scores = model.score_candidates(batch, cands)
    want = torch.nn.functional.cross_entropy(scores, answer)
    assert parts.mc.item() == pytest.approx(want.item(), abs=1e-4)
    assert parts.lm.item() == pytest.approx(lm_only.lm.item(), abs=1e-4)
    assert parts.total.item() == pytest.approx(parts.lm.item() + 0.5 * parts.mc.item(), abs=1e-5)


def test_fewer_real_frames_than_selected_stays_finite(llm_dir: Path) -> None:
    model = _model(llm_dir).train()
    batch = _batch(model)
    mask = batch.frame_mask.clone()
    mask[1, 2:] = False  # 2 real frames, 3 selected
    short = SGVLMBatch(**{**batch.__dict__, "frame_mask": mask})
    parts = model.loss(short, ["red", "2"])
    parts.total.backward()
    assert torch.isfinite(parts.total)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert all(torch.isfinite(g).all() for g in grads)
