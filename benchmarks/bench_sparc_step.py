"""Time and peak memory of one SpARC training step relative to a baseline step.

A step = the recipe's forward pass(es) + backward + AdamW update, on the same model and
the same batch (B=64, T=32, C=5 by default; random features, 12-word questions, 4-word
candidates, teacher probabilities with ~25 % of the frames above t). Every backbone in
``videoqa.models.MODELS`` is measured, all in one run, with these recipes:

* ``baseline``: CE on M(V, Q) (one pass);
* ``sparc``: L_g + w_c L_c + w_s L_s (three passes: whole video, causal frames, one frame);
  default options (``split_backward``: L_s back-propagated after its own pass, the two
  passes of L_g + w_c L_c batched), then passes one by one (``batch_passes`` off) and
  all three passes batched with one backward (``split_backward`` off);
* ``sparc+tgm``: the same plus temporal-guided mixup (two more passes).

Time: median wall time of ``--repeats`` steps after ``--warmup`` steps
(``time.perf_counter``). Memory: peak of the torch CPU allocator during one step,
from torch's memory profiler (``torch.profiler.profile(profile_memory=True)``: the
running sum of every event's self allocations and frees, in time order; parameters and
optimizer state allocated before the step are not counted). Run by hand::

    python benchmarks/bench_sparc_step.py [--batch 64 --frames 32 --dim 512 --threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from videoqa.models import build_model, list_models
from videoqa.models.base import QABatch
from videoqa.training.config import SparcOptions
from videoqa.training.data import TrainBatch
from videoqa.training.objectives import BaselineObjective, SparcObjective

VARIANTS = {
    "baseline": ("baseline", {}),
    "sparc": ("sparc", {"w_s": 0.5}),
    "sparc (unbatched)": ("sparc", {"w_s": 0.5, "batch_passes": False}),
    "sparc (1 backward)": ("sparc", {"w_s": 0.5, "split_backward": False}),
    "sparc+tgm": ("sparc", {"w_s": 0.5, "mixup": {"enabled": True}}),
}


def make_batch(b: int, t: int, d: int, c: int, vocab: int) -> TrainBatch:
    gen = torch.Generator().manual_seed(0)
    qa = QABatch(
        video=torch.randn(b, t, d, generator=gen),
        video_mask=torch.ones(b, t, dtype=torch.bool),
        question=torch.randint(4, vocab, (b, 12), generator=gen),
        question_mask=torch.ones(b, 12, dtype=torch.bool),
        candidates=torch.randint(4, vocab, (b, c, 4), generator=gen),
        candidates_mask=torch.ones(b, c, 4, dtype=torch.bool),
    )
    answers = torch.randint(0, c, (b,), generator=gen)
    probs = torch.full((b, t, c), 1.0 / c)
    confident = torch.rand(b, t, generator=gen) < 0.25
    onehot = torch.nn.functional.one_hot(answers, c).float().unsqueeze(1).expand(b, t, c)
    probs = torch.where(
        confident.unsqueeze(-1), 0.1 / (c - 1) + (0.9 - 0.1 / (c - 1)) * onehot, probs
    )
    return TrainBatch(qa=qa, answers=answers, index=torch.arange(b), teacher_probs=probs)


def step_fn(model, optimizer, recipe, batch):
    def step() -> None:
        recipe.backward_loss(model, batch, lambda loss: loss.backward())
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def peak_bytes(step) -> int:
    """Peak bytes held by the torch CPU allocator during ``step()`` above what was held
    before it: running sum of the profiler's per-event ``self_cpu_memory_usage``
    (allocations > 0, frees < 0), in start-time order."""
    activity = [torch.profiler.ProfilerActivity.CPU]
    with torch.profiler.profile(activities=activity, profile_memory=True) as prof:
        step()
    events = sorted(
        (e for e in prof.events() if e.self_cpu_memory_usage),
        key=lambda e: e.time_range.start,
    )
    running = peak = 0
    for event in events:
        running += event.self_cpu_memory_usage
        peak = max(peak, running)
    return peak


def measure(name: str, args, batch: TrainBatch, variant: str) -> tuple[float, int]:
    recipe_name, options = VARIANTS[variant]
    torch.manual_seed(0)
    model = build_model(
        name, {"feature_dim": args.dim, "vocab_size": args.vocab, "max_frames": args.frames}
    )
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    objective = SparcObjective if recipe_name == "sparc" else BaselineObjective
    recipe = objective(SparcOptions.model_validate(options))
    step = step_fn(model, optimizer, recipe, batch)
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times), peak_bytes(step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--choices", type=int, default=5)
    parser.add_argument("--vocab", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    parser.add_argument("--models", nargs="*", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    batch = make_batch(args.batch, args.frames, args.dim, args.choices, args.vocab)
    print(
        f"B={args.batch} T={args.frames} D={args.dim} C={args.choices} threads={torch.get_num_threads()}"
    )
    print(f"{'model':12} {'recipe':18} {'ms/step':>9} {'peak MiB':>9} {'time x':>7} {'mem x':>6}")
    for name in args.models or list_models():
        base_t, base_m = measure(name, args, batch, "baseline")
        for variant in VARIANTS:
            t, m = (
                (base_t, base_m) if variant == "baseline" else measure(name, args, batch, variant)
            )
            print(
                f"{name:12} {variant:18} {1000 * t:9.1f} {m / 2**20:9.1f} "
                f"{t / base_t:7.2f} {m / max(base_m, 1):6.2f}"
            )


if __name__ == "__main__":
    main()
