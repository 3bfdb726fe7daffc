"""Feature-extraction throughput vs the encoder's forward-only throughput (same run).

Run by hand (not by pytest), from the repository root::

    python benchmarks/bench_extract.py                         # 12 videos of /tmp/bench1k
    python benchmarks/bench_extract.py --bench DIR --videos 24 --encoders cnn
    python benchmarks/bench_extract.py --cnn /tmp/cnn1k        # a trained CNN

Encoders (no download; random weights, realistic sizes):

- ``clip-b32``: a ``transformers`` CLIP model whose vision tower has the ViT-B/32 shape
  (``CLIPVisionConfig`` defaults: 12 layers, width 768, 32 px patches, 224 px input;
  projection 512) behind videoqa's CLIP adapter, so preprocessing is the checkpoint's
  image processor (resize shortest edge to 224, centre crop, normalise);
- ``cnn``: :class:`videoqa.encoders.cnn.CNNFrameEncoder` (default config, 112 px), random
  init unless ``--cnn DIR``.

For each encoder, ``frames`` uniform frames of each video are decoded once up front;
``forward-only`` is frames per second of ``FrameEncoder.encode`` (preprocessing + model,
``torch.inference_mode``) on those already-decoded frames in batches of
``--batch-size``; ``model-only`` times the model on already-preprocessed tensors;
``extract`` is frames per second of the whole ``extract_features`` job (decode + prepare
in background threads, batched forward, HDF5 writes) into a fresh store. The forward-only
pass runs before and after the extraction and the faster of the two is the reference.
``ratio = extract / forward-only`` (target >= 0.85).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import transformers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from videoqa.encoders.cnn import CNNFrameEncoder  # noqa: E402
from videoqa.encoders.hf import ClipEncoder  # noqa: E402
from videoqa.encoders.registry import PRETRAINED  # noqa: E402
from videoqa.encoders.tiny import build_tiny_tokenizer  # noqa: E402
from videoqa.features.extract import (  # noqa: E402
    CNNEncoderAdapter,
    FrameEncoder,
    ImageTextFrameEncoder,
    VideoJob,
    decode_video,
    extract_features,
    videos_from_benchmark,
)


def clip_b32() -> ImageTextFrameEncoder:
    """Random-init CLIP with a ViT-B/32 vision tower behind the videoqa CLIP adapter."""
    spec = PRETRAINED.get("openai/clip-vit-base-patch32").model_copy(
        update={"name": "clip-b32-random", "source": None, "pretrained": False}
    )
    tokenizer = build_tiny_tokenizer("clip", 16)
    text = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=2)
    config = transformers.CLIPConfig(
        text_config=dict(text, vocab_size=len(tokenizer), max_position_embeddings=16),
        vision_config=dict(image_size=224, patch_size=32),  # ViT-B/32 defaults otherwise
        projection_dim=512,
    )
    torch.manual_seed(0)
    model = transformers.CLIPModel(config).eval()
    processor = ClipEncoder.image_processor_from_spec(spec)
    return ImageTextFrameEncoder(ClipEncoder(model, tokenizer, processor, spec, name=spec.name))


def cnn(directory: Path | None) -> CNNEncoderAdapter:
    torch.manual_seed(0)
    model = CNNFrameEncoder.from_pretrained(directory) if directory else CNNFrameEncoder()
    return CNNEncoderAdapter(model, name="cnn", patches=True)


def forward_only(
    encoder: FrameEncoder, clips: list[np.ndarray], batch_frames: int
) -> tuple[float, float]:
    """(frames/s of encode on decoded frames, frames/s of the model on prepared tensors),
    videos gathered into batches of >= batch_frames as the extraction does."""
    batches, current = [], []
    for clip in clips:
        current.append(clip)
        if sum(len(c) for c in current) >= batch_frames:
            batches.append(np.concatenate(current))
            current = []
    if current:
        batches.append(np.concatenate(current))
    total = sum(len(b) for b in batches)
    start = time.perf_counter()
    for batch in batches:
        encoder.encode(batch)
    encode_fps = total / (time.perf_counter() - start)
    prepared = [encoder.prepare(b) for b in batches]
    start = time.perf_counter()
    for tensor in prepared:
        encoder.forward(tensor)
    return encode_fps, total / (time.perf_counter() - start)


def bench(name: str, encoder: FrameEncoder, jobs: list[VideoJob], args: argparse.Namespace) -> None:
    clips = [decode_video(j, "uniform", args.frames, size=encoder.input_size).frames for j in jobs]
    encoder.encode(clips[0])  # warm-up
    before, model_before = forward_only(encoder, clips, args.batch_frames)
    with tempfile.TemporaryDirectory() as tmp:
        report = extract_features(
            jobs,
            Path(tmp) / "store",
            encoder,
            frames=args.frames,
            batch_frames=args.batch_frames,
            workers=args.workers,
            rank=0,
            world_size=1,
        )
    after, model_after = forward_only(encoder, clips, args.batch_frames)
    reference = max(before, after)
    print(
        f"{name:9s} frames={report.frames:5d}  model-only {max(model_before, model_after):7.1f} f/s  "
        f"forward-only {before:7.1f} / {after:7.1f} f/s  extract {report.frames_per_second:7.1f} f/s  "
        f"ratio {report.frames_per_second / reference:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=Path("/tmp/bench1k"))
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--encoders", nargs="+", default=["clip-b32", "cnn"])
    parser.add_argument("--cnn", type=Path, default=None, help="trained CNN folder")
    args = parser.parse_args()
    jobs = videos_from_benchmark("synthetic", args.bench, splits=["val"])[: args.videos]
    print(
        f"{len(jobs)} videos of {args.bench}, {args.frames} uniform frames each, "
        f"torch threads {torch.get_num_threads()}, decode workers {args.workers}"
    )
    for name in args.encoders:
        encoder = clip_b32() if name == "clip-b32" else cnn(args.cnn)
        bench(name, encoder, jobs, args)


if __name__ == "__main__":
    main()
