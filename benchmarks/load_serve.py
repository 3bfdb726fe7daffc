"""Bounded load on `videoqa serve`: 50 concurrent asks against 127.0.0.1 (never another
address).

Starts ``videoqa serve --model tiny`` as a child process on a free local port, with its
own TMPDIR (so every temporary file it makes is counted), uploads bikes.mp4 and then:

1. **anchor**: 5 asks one after another on the idle server (the latency of one ask,
   measured in the same run: the physical anchor of the ratios);
2. **burst**: N (default 50) asks at once, each client polling its job until it ends;
   refusals (429) are counted, not retried. Every ask must end as answered or refused:
   ``lost`` (an error, a failed or cancelled job, a request with no reply) must be 0;
3. **retry**: N asks at once whose clients wait ``Retry-After`` and try again after a
   429, until all are answered.

Reported: p50/p95 latency (submit -> result) of answered asks, and as ratios to the
anchor; the server's peak resident memory (VmHWM); its open file descriptors and the
files in its TMPDIR before and after the load, and after shutdown.

    python benchmarks/load_serve.py                      # 50 asks, 1 worker, queue 16
    python benchmarks/load_serve.py --workers 2 --queue 8 --asks 50 --out load.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

HOST = "127.0.0.1"  # fixed: this script loads the local machine only


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def fd_targets(pid: int) -> list[str]:
    """What the process's open descriptors point at (files, sockets, pipes)."""
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            pass
    return targets


def proc_status(pid: int, key: str) -> int:
    """A ``VmHWM``/``VmRSS`` line of /proc/PID/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


async def one_ask(client: httpx.AsyncClient, video_id: str, k: int, retry: bool) -> dict:
    """Submit ask ``k`` and poll its job; returns its outcome and latency (s)."""
    body = {"video_id": video_id, "question": f"what happens in scene {k}?", "choices": ["a bike", "a car"]}
    start = time.perf_counter()
    refusals = 0
    try:
        while True:
            response = await client.post("/v1/ask", json=body)
            if response.status_code == 429:
                refusals += 1
                if not retry:
                    return {"outcome": "refused", "retry_after": int(response.headers["Retry-After"])}
                await asyncio.sleep(float(response.headers["Retry-After"]))
                continue
            if response.status_code != 202:
                return {"outcome": "lost", "why": f"HTTP {response.status_code}: {response.text[:200]}"}
            break
        job_id = response.json()["job_id"]
        while True:
            job = (await client.get(f"/v1/jobs/{job_id}")).json()
            if job["status"] == "done":
                return {
                    "outcome": "answered",
                    "seconds": time.perf_counter() - start,
                    "refusals": refusals,
                    "answer": job["result"]["answer"],
                }
            if job["status"] in ("failed", "cancelled"):
                return {"outcome": "lost", "why": f"job {job['status']}: {job['error']}"}
            await asyncio.sleep(0.02)
    except httpx.HTTPError as err:
        return {"outcome": "lost", "why": f"{type(err).__name__}: {err}"}


async def burst(base: str, video_id: str, n: int, retry: bool) -> tuple[list[dict], float]:
    limits = httpx.Limits(max_connections=n + 4, max_keepalive_connections=n + 4)
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as client:
        start = time.perf_counter()
        outcomes = await asyncio.gather(*(one_ask(client, video_id, k, retry) for k in range(n)))
        return list(outcomes), time.perf_counter() - start


def summarize(outcomes: list[dict], anchor: float) -> dict:
    answered = [o["seconds"] for o in outcomes if o["outcome"] == "answered"]
    p50, p95 = np.percentile(answered, [50, 95]).tolist() if answered else (math.nan, math.nan)
    return {
        "asks": len(outcomes),
        "answered": len(answered),
        "refused_429": sum(o["outcome"] == "refused" for o in outcomes),
        "lost": sum(o["outcome"] == "lost" for o in outcomes),
        "lost_why": [o["why"] for o in outcomes if o["outcome"] == "lost"][:5],
        "p50_s": round(p50, 3),
        "p95_s": round(p95, 3),
        "p50_over_anchor": round(p50 / anchor, 2),
        "p95_over_anchor": round(p95 / anchor, 2),
        "refusals_before_answer": sum(o.get("refusals", 0) for o in outcomes),
        "retry_after_s": sorted({o["retry_after"] for o in outcomes if "retry_after" in o}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asks", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--queue", type=int, default=16)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not 1 <= args.asks <= 200:
        parser.error("--asks is bounded to 1..200")

    from videoqa.video.samples import sample_video

    video = sample_video("bikes")
    tmp = Path(tempfile.mkdtemp(prefix="load-serve-"))
    env = {**os.environ, "TMPDIR": str(tmp), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    port = free_port()
    base = f"http://{HOST}:{port}"
    command = [
        sys.executable, "-m", "videoqa", "serve", "--model", "tiny", "--host", HOST,
        "--port", str(port), "--workers", str(args.workers), "--queue", str(args.queue),
    ]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    report: dict[str, object] = {"command": " ".join(command[1:]), "asks": args.asks}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start: {server.stderr.read()}")
            time.sleep(0.2)
        with video.open("rb") as handle:
            video_id = httpx.post(base + "/v1/videos", files={"file": ("bikes.mp4", handle)}, timeout=60).json()["video_id"]
        time.sleep(1.0)
        fds_before = fd_targets(server.pid)
        before = {"fds": fd_count(server.pid), "tmp_files": count_files(tmp), "rss_kib": proc_status(server.pid, "VmRSS")}

        anchor_outcomes = [asyncio.run(burst(base, video_id, 1, retry=False))[0][0] for _ in range(5)]
        anchor = statistics.median(o["seconds"] for o in anchor_outcomes)
        report["anchor_one_ask_s"] = round(anchor, 3)

        outcomes, wall = asyncio.run(burst(base, video_id, args.asks, retry=False))
        report["burst"] = {**summarize(outcomes, anchor), "wall_s": round(wall, 2)}
        outcomes, wall = asyncio.run(burst(base, video_id, args.asks, retry=True))
        report["retry"] = {**summarize(outcomes, anchor), "wall_s": round(wall, 2)}

        health = httpx.get(base + "/v1/health", timeout=5).json()
        time.sleep(1.0)  # let the server close the clients' connections
        after = {"fds": fd_count(server.pid), "tmp_files": count_files(tmp), "rss_kib": proc_status(server.pid, "VmRSS")}
        report["new_fds"] = sorted(set(fd_targets(server.pid)) - set(fds_before))
        report["server_jobs"] = health["jobs"]
        report["peak_rss_mib"] = round(proc_status(server.pid, "VmHWM") / 1024, 1)
        report["before"], report["after"] = before, after
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    report["tmp_files_after_shutdown"] = count_files(tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    report["exit_code"] = server.returncode
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    lost = report["burst"]["lost"] + report["retry"]["lost"]
    if lost or report["retry"]["answered"] != args.asks:
        raise SystemExit(f"{lost} asks lost")


if __name__ == "__main__":
    main()
