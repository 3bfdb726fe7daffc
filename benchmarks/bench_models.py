"""Forward+backward time of the VideoQA backbones at SpARC training size.

Run by hand: ``python benchmarks/bench_models.py [--threads 2] [--repeats 10]``.
Default batch: B=64 questions, T=32 frames of D=512 features, C=5 candidates of La=4
words, questions of L=12 words; default configs (hidden 128). Prints the median of
``--repeats`` timed steps (after 2 warm-up steps) of one forward + backward, and the
same for the three SpARC passes (full video, a causal-frame mask, a single frame).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from videoqa.models import QABatch, build_model, list_models


def make_batch(
    b: int, t: int, d: int, c: int, length: int, la: int, vocab: int, patches: int
) -> QABatch:
    """A random batch with ragged question/candidate lengths and all frames visible."""
    g = torch.Generator().manual_seed(0)
    q_len = torch.randint(4, length + 1, (b, 1), generator=g)
    a_len = torch.randint(1, la + 1, (b, c, 1), generator=g)
    return QABatch(
        video=torch.randn(b, t, d, generator=g),
        video_mask=torch.ones(b, t, dtype=torch.bool),
        question=torch.randint(4, vocab, (b, length), generator=g),
        question_mask=torch.arange(length) < q_len,
        candidates=torch.randint(4, vocab, (b, c, la), generator=g),
        candidates_mask=torch.arange(la) < a_len,
        patches=torch.randn(b, t, patches, 64, generator=g) if patches else None,
    )


def time_steps(model: torch.nn.Module, batches: list[QABatch], repeats: int) -> float:
    """Median seconds of one optimisation-free forward+backward over ``batches``."""
    times = []
    for step in range(repeats + 2):
        start = time.perf_counter()
        loss = sum(model(batch).logits.logsumexp(-1).mean() for batch in batches)
        loss.backward()
        model.zero_grad(set_to_none=True)
        if step >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--patches", type=int, default=0, help="VGT patch tokens per frame (Dp=64)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    vocab = 2000
    batch = make_batch(64, 32, 512, 5, 12, 4, vocab, args.patches)
    causal = batch.video_mask & (
        torch.rand(64, 32, generator=torch.Generator().manual_seed(1)) < 0.3
    )
    causal[:, 0] = True
    single = torch.zeros_like(batch.video_mask)
    single[:, 5] = True
    passes = [batch, batch.with_video(batch.video, causal), batch.with_video(batch.video, single)]
    for name in list_models():
        extra = {"patch_dim": 64} if name == "vgt" and args.patches else {}
        model = build_model(name, {"feature_dim": 512, "vocab_size": vocab, **extra}).train()
        one = time_steps(model, passes[:1], args.repeats)
        three = time_steps(model, passes, args.repeats)
        print(
            f"{name:12s} params {model.num_parameters() / 1e6:5.2f}M  "
            f"fwd+bwd {one * 1e3:6.1f} ms  3 SpARC passes {three * 1e3:6.1f} ms"
        )


if __name__ == "__main__":
    main()
