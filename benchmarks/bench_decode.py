"""Sparse frame sampling benchmark: videoqa's reader vs. full decode, OpenCV and the limit.

Run by hand (not by pytest), from the repository root::

    python benchmarks/bench_decode.py              # 3 repeats, 8/16/32 frames
    python benchmarks/bench_decode.py --repeats 5 --counts 16

Test videos are made once with the ffmpeg CLI into ``benchmarks/_videos/`` (gitignored):
60 s 1280x720 H.264 with x264's default GOP (250), the same with ``-g 30``, and 10 min
640x360 (``testsrc2`` source, which moves, ``-preset veryfast``, 30 fps).

For each video and each count ``n`` the frames displayed at the ``n`` uniform times
``(k + 0.5) / n * duration`` are read by:

- ``reader``: ``videoqa.video.reader.read_frames`` (open, demux pass, decode, RGB);
- ``full``: PyAV decode of every frame with frame threading, RGB of the targets only;
- ``opencv``: ``cv2.VideoCapture`` with ``CAP_PROP_POS_FRAMES`` seeks (index from fps);
- ``limit``: the needed-GOP limit: one pass reads all packets; for each GOP that holds
  targets, decode from its keyframe to its last target, non-reference non-target frames
  skipped, same threading (the least decoding work for frame-exact sampling).

Wall seconds are medians over repeats, the methods interleaved within each repeat.
``exact`` checks every method's frames against the reader's: byte-identical for PyAV
methods, mean absolute difference < 3 levels for OpenCV (different colour conversion).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from videoqa.video.reader import VideoReader, read_frames  # noqa: E402

VIDEO_DIR = ROOT / "benchmarks" / "_videos"


@dataclass(frozen=True)
class BenchVideo:
    name: str
    file: str
    ffmpeg_args: tuple[str, ...]


VIDEOS = (
    BenchVideo(
        "60 s 1280x720 H.264, default GOP",
        "720p_60s_gop250.mp4",
        ("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "60"),
    ),
    BenchVideo(
        "60 s 1280x720 H.264, -g 30",
        "720p_60s_gop30.mp4",
        ("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "60", "-g", "30"),
    ),
    BenchVideo(
        "10 min 640x360 H.264, default GOP",
        "360p_10min.mp4",
        ("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "600"),
    ),
)


def make_video(video: BenchVideo) -> Path:
    """Encode the video with the ffmpeg CLI unless it exists."""
    path = VIDEO_DIR / video.file
    if path.exists():
        return path
    if shutil.which("ffmpeg") is None:
        raise SystemExit("the ffmpeg CLI is needed to make the benchmark videos")
    VIDEO_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.mp4")
    cmd = ["ffmpeg", "-y", "-v", "error", *video.ffmpeg_args]
    cmd += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", str(tmp)]
    print("making", path.name, flush=True)
    subprocess.run(cmd, check=True)
    tmp.rename(path)
    return path


def rgb(frame: av.VideoFrame) -> np.ndarray:
    """The reader's conversion (libswscale, rgb24, one thread)."""
    return frame.reformat(format="rgb24", interpolation="AREA", threads=1).to_ndarray()


def run_full(path: Path, times: np.ndarray) -> np.ndarray:
    """Decode every frame (frame threading); convert each target when the next frame shows.

    Frames leave the decoder in display order: the frame displayed at ``t`` is the last
    one before the first frame whose time exceeds ``t``.
    """
    order = np.argsort(times, kind="stable")
    result: list[np.ndarray | None] = [None] * len(times)
    j = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = float(stream.time_base)
        previous, converted, first = None, None, None
        for frame in container.decode(stream):
            first = frame.pts if first is None else first
            now = (frame.pts - first) * tb
            while previous is not None and j < len(order) and times[order[j]] < now:
                converted = rgb(previous) if converted is None else converted
                result[order[j]] = converted
                j += 1
            previous, converted = frame, None
        for k in order[j:]:
            converted = rgb(previous) if converted is None else converted
            result[k] = converted
    return np.stack(result)


def run_opencv(path: Path, times: np.ndarray) -> np.ndarray:
    """Seek to frame ``floor(t * fps)`` with ``CAP_PROP_POS_FRAMES``, read, BGR -> RGB."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for t in times:
        cap.set(cv2.CAP_PROP_POS_FRAMES, min(int(t * fps + 1e-9), count - 1))
        ok, image = cap.read()
        if not ok:
            raise RuntimeError(f"OpenCV could not read t={t}")
        frames.append(image[:, :, ::-1])
    cap.release()
    return np.stack(frames)


def run_limit(path: Path, times: np.ndarray) -> np.ndarray:
    """Needed-GOP limit: one pass reads the packets, then only the needed GOP parts decode."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        packets = [p for p in container.demux(stream) if p.size > 0]
        pts = np.array([p.pts for p in packets], np.int64)
        shown = np.sort(pts)
        seconds = (shown - shown[0]) * float(stream.time_base)
        at = np.clip(np.searchsorted(seconds, times, side="right") - 1, 0, len(shown) - 1)
        targets = shown[at]
        wanted = set(targets.tolist())
        keys = np.flatnonzero([p.is_keyframe for p in packets])
        key_pts = np.sort(pts[keys])
        key_pos = {int(pts[k]): int(k) for k in keys}
        position = {int(t): i for i, t in enumerate(pts)}
        last_of_gop: dict[int, int] = {}  # keyframe position -> last target position
        for t in wanted:
            key = key_pos[int(key_pts[np.searchsorted(key_pts, t, side="right") - 1])]
            last_of_gop[key] = max(last_of_gop.get(key, key), position[t])
        out: dict[int, np.ndarray] = {}
        codec = stream.codec_context
        for key in sorted(last_of_gop):
            for packet in packets[key : last_of_gop[key] + 1]:
                codec.skip_frame = "DEFAULT" if packet.pts in wanted else "NONREF"
                for frame in codec.decode(packet):
                    if frame.pts in wanted:
                        out[frame.pts] = rgb(frame)
        codec.skip_frame = "DEFAULT"
        for frame in codec.decode(None):
            if frame.pts in wanted:
                out[frame.pts] = rgb(frame)
    return np.stack([out[int(t)] for t in targets])


def run_reader(path: Path, times: np.ndarray) -> np.ndarray:
    """videoqa's reader, end to end (open, demux pass, decode, close)."""
    return read_frames(path, times).frames


METHODS: dict[str, Callable[[Path, np.ndarray], np.ndarray]] = {
    "reader": run_reader,
    "limit": run_limit,
    "opencv": run_opencv,
    "full": run_full,
}


def timed(
    fn: Callable[[Path, np.ndarray], np.ndarray], path: Path, times: np.ndarray
) -> tuple[float, float, np.ndarray]:
    """Wall seconds, CPU seconds of this process (all its threads) and the frames."""
    wall, cpu = time.perf_counter(), time.process_time()
    frames = fn(path, times)
    return time.perf_counter() - wall, time.process_time() - cpu, frames


def bench_video(video: BenchVideo, counts: list[int], repeats: int) -> list[dict[str, object]]:
    path = make_video(video)
    with VideoReader(path) as reader:
        reader.frame_times()
        duration, num_frames = reader.info.duration, reader.info.num_frames
    rows = []
    for n in counts:
        times = (np.arange(n) + 0.5) / n * duration
        seconds: dict[str, list[float]] = {m: [] for m in METHODS}
        cpu: dict[str, list[float]] = {m: [] for m in METHODS}
        outputs: dict[str, np.ndarray] = {}
        for _ in range(repeats):
            for name, fn in METHODS.items():
                elapsed, used, outputs[name] = timed(fn, path, times)
                seconds[name].append(elapsed)
                cpu[name].append(used)
        with VideoReader(path) as reader:
            reader.read_at(times)
            decoded = reader.stats.decoded_frames
        ref = outputs["reader"]
        opencv_close = [
            np.abs(a.astype(np.int16) - b.astype(np.int16)).mean() < 3
            for a, b in zip(outputs["opencv"], ref, strict=True)
        ]
        row: dict[str, object] = {"video": video.name, "n": n, "frames": num_frames}
        row |= {"decoded": decoded, "opencv_exact": f"{sum(opencv_close)}/{n}"}
        row |= {m: statistics.median(v) for m, v in seconds.items()}
        row |= {f"{m}_cpu": statistics.median(v) for m, v in cpu.items()}
        row |= {f"{m}_exact": np.array_equal(outputs[m], ref) for m in ("limit", "full")}
        rows.append(row)
        print(row_markdown(row), flush=True)
    return rows


HEADER = (
    "| video | n | reader s | limit s | OpenCV s | full s | reader / limit | OpenCV / reader "
    "| full / reader | reader / limit, CPU s | frames decoded by reader "
    "| exact (limit, full, OpenCV) |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def row_markdown(row: dict[str, object]) -> str:
    r, lim, cv, full = (float(row[k]) for k in ("reader", "limit", "opencv", "full"))
    yes = {True: "yes", False: "NO"}
    exact = (
        f"{yes[bool(row['limit_exact'])]}, {yes[bool(row['full_exact'])]}, {row['opencv_exact']}"
    )
    return (
        f"| {row['video']} | {row['n']} | {r:.3f} | {lim:.3f} | {cv:.3f} | {full:.3f} "
        f"| {r / lim:.2f} | {cv / r:.2f}x | {full / r:.1f}x "
        f"| {row['reader_cpu']:.2f} / {row['limit_cpu']:.2f} "
        f"| {row['decoded']} of {row['frames']} | {exact} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--counts", type=int, nargs="+", default=[8, 16, 32])
    args = parser.parse_args()
    print(f"PyAV {av.__version__}, libavcodec {av.library_versions['libavcodec']}", flush=True)
    print(f"load average before: {os.getloadavg()}", flush=True)
    for video in VIDEOS:
        make_video(video)
    print(HEADER, flush=True)
    rows = []
    for video in VIDEOS:
        rows += bench_video(video, args.counts, args.repeats)
    print(f"load average after: {os.getloadavg()}")
    print("\n" + HEADER)
    for row in rows:
        print(row_markdown(row))


if __name__ == "__main__":
    main()
