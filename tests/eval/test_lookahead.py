"""Batched text embeddings and overlapped decoding give the answers of the plain pipeline."""

from __future__ import annotations

import json

import pytest
import torch

from videoqa.data import load_dataset
from videoqa.encoders import load_encoder
from videoqa.eval import run_predictions
from videoqa.eval.lookahead import CachedTextEncoder, LookaheadAnswerer, question_texts
from videoqa.pipelines.ask import AskConfig, AskPipeline


@pytest.fixture(scope="module")
def tiny():
    return load_encoder("tiny")


def test_cached_texts_equal_the_encoder_and_are_encoded_once(tiny):
    cached = CachedTextEncoder(tiny, batch_size=2)
    texts = ["a dog", "two people riding bicycles on a road", "a dog", "a cat"]
    assert cached.prefetch(texts) == 3 and (cached.encoded, cached.calls) == (3, 2)
    got = cached.encode_texts(texts)
    assert got.shape == (4, tiny.embed_dim) and cached.encoded == 3  # all from the cache
    for text, row in zip(texts, got, strict=True):
        torch.testing.assert_close(row, tiny.encode_texts([text])[0], atol=1e-5, rtol=0)
    assert cached.encode_texts([]).shape == (0, tiny.embed_dim)
    assert (cached.name, cached.pretrained, cached.embed_dim) == (
        tiny.name,
        tiny.pretrained,
        tiny.embed_dim,
    )
    small = CachedTextEncoder(tiny, max_texts=2)
    small.prefetch(["a", "b", "c"])
    assert list(small._cache) == ["b", "c"]  # least recently used dropped


def test_question_texts_follow_the_pipeline(fixtures, tmp_path):
    bench = load_dataset("nextqa-mc", fixtures / "model_run" / "val.csv", video_root=tmp_path)
    pipeline = AskPipeline(CachedTextEncoder(load_encoder("tiny")), AskConfig(frames=2))
    phone = question_texts(pipeline, bench.samples[2])  # "talking on a phone" twice
    assert phone == [
        "what is the man doing",
        "what is the man doing running",
        "what is the man doing swimming",
        "what is the man doing talking on a phone",
        "what is the man doing cooking",
    ]


@pytest.mark.slow  # decodes the sample videos twice with the tiny model
def test_lookahead_answers_like_the_plain_pipeline(fixtures, sample_videos, tmp_path, tiny):
    root = tmp_path / "videos"
    root.mkdir()
    for name in ("bikes", "carphone_pristine"):
        (root / f"{name}.mp4").symlink_to(sample_videos[name])
    (root / "broken.mp4").write_bytes(sample_videos["bikes"].read_bytes()[:3000])
    bench = load_dataset("nextqa-mc", fixtures / "model_run" / "val.csv", video_root=root)
    config = AskConfig(frames=4, top_k=2)
    plain = run_predictions(bench, AskPipeline(tiny, config), tmp_path / "a.jsonl", model="tiny")
    cached = CachedTextEncoder(tiny)
    with LookaheadAnswerer(AskPipeline(cached, config)) as answerer:
        ahead = run_predictions(bench, answerer, tmp_path / "b.jsonl", model="tiny")
    assert [str(e) for e in ahead.errors] == [str(e) for e in plain.errors]
    assert len(ahead.errors) == 1 and ahead.written == plain.written == 3
    rows_a = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text().splitlines()]
    rows_b = [json.loads(x) for x in (tmp_path / "b.jsonl").read_text().splitlines()]
    for a, b in zip(rows_a, rows_b, strict=True):
        assert (a["qid"], a["prediction"], a["candidates"]) == (
            b["qid"],
            b["prediction"],
            b["candidates"],
        )
        assert b["probabilities"] == pytest.approx(a["probabilities"], abs=1e-4)
        assert [e["time"] for e in a["evidence"]] == [e["time"] for e in b["evidence"]]
    # every distinct question and hypothesis text was encoded once, in one batch
    texts = {t for s in bench.samples for t in question_texts(answerer.pipeline, s)}
    assert cached.encoded == len(texts) and cached.calls == 1
