"""Time `videoqa ask` per stage (run by hand: `python benchmarks/bench_ask.py`).

Runs the zero-shot pipeline with the offline ``tiny`` encoder on the real sample
videos (and on the long test videos of ``bench_decode.py`` when they exist), for 8, 16
and 32 frames, and prints the median seconds of each stage over a few repeats. The
encoder is loaded once, as a server or an evaluation run would.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from videoqa.encoders import load_encoder
from videoqa.pipelines.ask import AskConfig, AskPipeline
from videoqa.video.samples import SAMPLE_NAMES, sample_video

STAGES = (
    "probe",
    "sample",
    "decode",
    "grid",
    "encode_frames",
    "encode_text",
    "localize",
    "answer",
    "total",
)
LONG_VIDEOS = Path(__file__).resolve().parent / "_videos"


def _videos() -> list[Path]:
    videos = [sample_video(name) for name in SAMPLE_NAMES]
    videos += sorted(LONG_VIDEOS.glob("*.mp4")) if LONG_VIDEOS.is_dir() else []
    return videos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--grid", type=int, default=3)
    args = parser.parse_args()
    encoder = load_encoder(args.model)
    print("| video | frames | " + " | ".join(STAGES) + " |")
    print("|---|---|" + "---|" * len(STAGES))
    for video in _videos():
        for frames in (8, 16, 32):
            config = AskConfig(frames=frames, top_k=4, grid=args.grid)
            pipe = AskPipeline(encoder, config, cache_size=0)  # measure every stage
            runs = [
                pipe(video, "what is happening?", ["people riding bikes", "a rabbit"]).result
                for _ in range(args.repeats)
            ]
            medians = [statistics.median(r.timings.get(s, 0.0) for r in runs) for s in STAGES]
            print(f"| {video.name} | {frames} | " + " | ".join(f"{m:.3f}" for m in medians) + " |")


if __name__ == "__main__":
    main()
