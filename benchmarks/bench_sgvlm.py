"""SGVLM multiple-choice scoring: one batched pass vs one pass per candidate.

``SGVLM.score_candidates`` computes the visual prefix (localizer + two Q-Formers) once
per question and scores all C candidates in one LLM forward over B·C sequences, keeping
only the answer positions' logits. The naive form runs the whole model once per
(question, candidate). Both give the same scores (checked here); the script prints
their wall time per question and the ratio, interleaved over repeats.

    python benchmarks/bench_sgvlm.py [--repeats 5] [--batch 32] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from videoqa.models.sgvlm.llm import TinyLMConfig, create_tiny_llm
from videoqa.models.sgvlm.modeling import build_sgvlm
from videoqa.models.sgvlm.processing import SGVLMBatch

WORDS = "question answer what color shape is the small large object red blue green to left right of it above below".split()


def make_model(root: Path, hidden: int):
    create_tiny_llm(
        [" ".join(WORDS), "question : {question} answer :"],
        root / "llm",
        TinyLMConfig(hidden_size=hidden),
    )
    fields = {"frame_dim": 250, "patch_dim": 25, "max_frames": 64}
    return build_sgvlm(fields, root / "llm").eval()


def make_batch(model, b: int, t: int = 16, k: int = 8) -> SGVLMBatch:
    proc = model.processor
    qs = ["what color is the small object ?"] * b
    ids, mask = proc.questions(qs)
    return SGVLMBatch(
        frames=torch.randn(b, t, 250),
        frame_mask=torch.ones(b, t, dtype=torch.bool),
        times=torch.arange(t).float().expand(b, t) * 0.25 + 0.125,
        question_ids=ids,
        question_mask=mask,
        prompts=proc.prompts(qs),
        patches=torch.randn(b, t, 10, 25),
        sg_tokens=torch.rand(b, t, k, 53),
        sg_mask=torch.ones(b, t, k, dtype=torch.bool),
    )


def naive(model, batch: SGVLMBatch, cands: list[list[str]]) -> torch.Tensor:
    out = torch.empty(batch.batch_size, len(cands[0]))
    for b in range(batch.batch_size):
        one = SGVLMBatch(
            **{
                **batch.__dict__,
                **{
                    k: v[b : b + 1]
                    for k, v in batch.__dict__.items()
                    if isinstance(v, torch.Tensor)
                },
                "prompts": [batch.prompts[b]],
            }
        )
        for c, cand in enumerate(cands[b]):
            out[b, c] = model.score_candidates(one, [[cand]])[0, 0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        model = make_model(Path(tmp), args.hidden)
        batch = make_batch(model, args.batch)
        cands = [["red", "blue", "to the left of it", "above it", "green"]] * args.batch
        same = torch.allclose(
            model.score_candidates(batch, cands), naive(model, batch, cands), atol=1e-4
        )
        fast, slow = [], []
        for _ in range(args.repeats):
            tick = time.perf_counter()
            model.score_candidates(batch, cands)
            fast.append(time.perf_counter() - tick)
            tick = time.perf_counter()
            naive(model, batch, cands)
            slow.append(time.perf_counter() - tick)
    f, s = statistics.median(fast), statistics.median(slow)
    print(f"B={args.batch} C=5 threads={args.threads} same scores: {same}")
    print(
        f"batched: {1000 * f / args.batch:.2f} ms/question   per-candidate: {1000 * s / args.batch:.2f} ms/question"
    )
    print(f"speed-up: {s / f:.1f}x")


if __name__ == "__main__":
    main()
