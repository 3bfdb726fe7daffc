"""MCG speed (arXiv:2410.09379): divided vs joint space-time attention, gradient
checkpointing, and sparse head-tail decoding of a long video vs a full decode.

1. **Attention**: one forward + backward of the Intra-Video Module
   (``transformers`` ``TimesformerModel``) with ``divided_space_time`` vs
   ``joint_space_time`` attention at T = 8, 16, 32 frames (median wall time, peak torch
   CPU allocation during the step from the memory profiler, as ``bench_sparc_step.py``).
   Divided attention costs O(T·P² + P·T²) per block, joint O((T·P)²).
2. **Gradient checkpointing**: one MCG fine-tuning step (generation + both contrastive
   terms, AdamW) with and without ``enable_gradient_checkpointing``.
3. **Long video**: decode + encode of the 10-minute 640x360 ``testsrc2`` video of
   ``bench_decode.py`` (made with the ffmpeg CLI on first use): head-tail sampling of T
   frames read by the reader (seek per needed GOP) vs decoding every frame with PyAV and
   keeping the same T, each followed by the Intra-Video Module forward. The full decode
   is the physical anchor: ratios are to it, in the same run.

    python benchmarks/bench_mcg.py [--repeats 3] [--threads 1] [--skip-video]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_decode import VIDEOS, make_video, run_full  # noqa: E402
from bench_sparc_step import peak_bytes  # noqa: E402

from videoqa.models.mcg import MCGBatch, build_mcg, train_wordpiece_tokenizer  # noqa: E402
from videoqa.models.mcg.configuration import VideoSettings  # noqa: E402
from videoqa.models.mcg.modeling import timesformer_config  # noqa: E402
from videoqa.video.reader import VideoReader  # noqa: E402
from videoqa.video.samplers import VideoTiming, sample_times  # noqa: E402

WIDTH = {"hidden_size": 192, "num_layers": 4, "num_heads": 3, "intermediate_size": 768,
         "image_size": 112, "patch_size": 16}  # fmt: skip


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def attention(repeats: int, batch: int) -> None:
    from transformers import TimesformerModel

    print("\n| T | divided fwd+bwd s | joint fwd+bwd s | joint / divided time | divided peak MB | joint peak MB | joint / divided memory |")
    print("|---|---|---|---|---|---|---|")
    for t in (8, 16, 32):
        row = {}
        for kind in ("divided_space_time", "joint_space_time"):
            torch.manual_seed(0)
            model = TimesformerModel(timesformer_config(VideoSettings(**WIDTH, num_frames=t, attention_type=kind)))
            pixels = torch.randn(batch, t, 3, 112, 112)

            def step(model=model, pixels=pixels):
                model.zero_grad(set_to_none=True)
                model(pixel_values=pixels).last_hidden_state.mean().backward()

            row[kind] = (median_time(step, repeats), peak_bytes(step) / 2**20)
        (dt, dm), (jt, jm) = row["divided_space_time"], row["joint_space_time"]
        print(f"| {t} | {dt:.3f} | {jt:.3f} | {jt / dt:.2f} | {dm:.0f} | {jm:.0f} | {jm / dm:.2f} |", flush=True)


def checkpointing(repeats: int, batch: int, frames: int) -> None:
    tok = train_wordpiece_tokenizer(["what color is the cube after it collides with the sphere ?"], 100)
    fields = {"num_frames": frames, "video": {**WIDTH, "num_frames": frames},
              "text": {"hidden_size": 128, "num_layers": 2, "num_heads": 4, "intermediate_size": 256}}  # fmt: skip
    print(f"\n| MCG step (B={batch}, T={frames}, 112 px) | s | peak MB |")
    print("|---|---|---|")
    base = None
    for ckpt in (False, True):
        torch.manual_seed(0)
        model = build_mcg(fields, tok)
        if ckpt:
            model.enable_gradient_checkpointing()
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        b = MCGBatch(torch.randn(batch, frames, 3, 112, 112), torch.zeros(batch, frames),
                     model.processor.text(["what color is the cube ?"] * batch))  # fmt: skip

        def step(model=model, b=b, opt=opt):
            loss = model.qa_loss(b, ["red"] * batch, 1.0, 1.0).total
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        sec, mem = median_time(step, repeats), peak_bytes(step) / 2**20
        label = "with gradient checkpointing" if ckpt else "without"
        ratio = "" if base is None else f" ({sec / base[0]:.2f}x time, {mem / base[1]:.2f}x memory)"
        print(f"| {label}{ratio} | {sec:.3f} | {mem:.0f} |", flush=True)
        base = base or (sec, mem)


def long_video(repeats: int, counts: tuple[int, ...]) -> None:
    video = next(v for v in VIDEOS if v.file == "360p_10min.mp4")
    path = make_video(video)
    torch.manual_seed(0)
    print("\n| T | head-tail decode s | + encode s | full decode s | + encode s | full / head-tail (decode+encode) | frames/s head-tail | frames/s full |")
    print("|---|---|---|---|---|---|---|---|")
    for t in counts:
        from transformers import TimesformerModel

        model = TimesformerModel(timesformer_config(VideoSettings(**WIDTH, num_frames=t))).eval()
        with VideoReader(path) as reader:
            reader.frame_times()
            timing = VideoTiming.from_info(reader.info)
        times = sample_times("head-tail", timing, t, seed=0)

        def encode(frames: np.ndarray, model=model) -> None:
            x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255
            x = torch.nn.functional.interpolate(x, size=(112, 112), mode="bilinear", antialias=True)
            with torch.no_grad():
                model(pixel_values=x[None])

        def sparse(times=times) -> np.ndarray:
            with VideoReader(path) as reader:
                return reader.read_at(times).frames

        dec_s = median_time(sparse, repeats)
        dec_f = median_time(lambda times=times: run_full(path, times), 1)
        enc = median_time(lambda: encode(sparse()), 1) - dec_s
        total_s, total_f = dec_s + enc, dec_f + enc
        print(
            f"| {t} | {dec_s:.2f} | {total_s:.2f} | {dec_f:.2f} | {total_f:.2f} | {total_f / total_s:.1f}x "
            f"| {t / total_s:.1f} | {t / total_f:.2f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--skip-video", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    attention(args.repeats, args.batch)
    checkpointing(args.repeats, args.batch, 8)
    if not args.skip_video:
        long_video(args.repeats, (8, 16))


if __name__ == "__main__":
    main()
