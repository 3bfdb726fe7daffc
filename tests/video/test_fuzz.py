"""A bounded, seeded fuzz run of the reader and the CLI (``make test``).

Seed videos are written with the ffmpeg command line (17 files over MP4, MOV, MKV, WebM,
AVI, MPEG-TS, MPEG-PS and FLV; H.264 with B-frames, HEVC, VP8, VP9, MJPEG, MPEG-4,
MPEG-2, FLV1; odd sizes, VFR, rotation, a Latin-1 tag, 1 frame, audio only, 0 bytes) and
damaged by :mod:`videoqa.video.fuzz` (byte flips, truncation, header zeroing, chunk
duplication). Every mutant must give a success that keeps the reader's promises or one
of videoqa's typed errors, within a wall-clock limit; ``videoqa data probe`` and ``videoqa
ask`` on some of them exit 0 or 3 without a traceback. The long campaign is ``benchmarks/fuzz_reader.py``.
"""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from videoqa.video import fuzz

pytestmark = pytest.mark.skipif(
    fuzz.ffmpeg_path() is None, reason="the fuzz seeds are made with the ffmpeg command line"
)

MUTANTS = 400
"""Mutants of the bounded run (campaign 0): about 5 s on one idle core."""


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return fuzz.make_seeds(tmp_path_factory.mktemp("fuzz_seeds"))


@pytest.fixture(scope="module")
def seed_bytes(seeds: dict[str, Path]) -> dict[str, bytes]:
    return {name: path.read_bytes() for name, path in seeds.items()}


def test_seeds_read_as_expected(seeds: dict[str, Path]) -> None:
    expected = {seed.name: seed.expect for seed in fuzz.SEEDS}
    got = {name: fuzz.check_file(path) for name, path in seeds.items()}
    assert {name: (o.error or o.status) for name, o in got.items()} == expected, got


def test_mutants_give_typed_errors_only(seed_bytes: dict[str, bytes]) -> None:
    """Only typed errors, never a hang; shapes, dtypes and times right on every success;
    the same pixels on every read path (see below for the documented residual)."""
    counts: collections.Counter[str] = collections.Counter()
    bugs, pixels = [], []
    kinds = collections.Counter()
    for mutant in fuzz.mutants(seed_bytes, MUTANTS, campaign=0):
        exact = fuzz.seed_exact(mutant.seed)
        outcome = fuzz.check_bytes(mutant.data, Path(mutant.seed).suffix, exact=exact)
        counts[outcome.status] += 1
        kinds[(mutant.seed, mutant.kind)] += 1
        found = (mutant.number, mutant.seed, mutant.kind, outcome)
        if outcome.status == "pixels":
            pixels.append(found)
        elif outcome.is_bug or outcome.status == "timeout":
            bugs.append(found)
    assert bugs == []
    # Damage FFmpeg does not report (a picture decoded in part, completed from leftover
    # decoder buffers) can make pixels depend on the read path: 5 and 3 of ~1,850 readable
    # mutants in the two 10,000-mutant campaigns (videoqa/video/reader.py, "Same pixels").
    # This draw has none here; other FFmpeg/x264 builds make other mutants, so allow that
    # rate with a margin rather than a flaky zero.
    readable = counts["ok"] + counts["partial"] + len(pixels)
    assert len(pixels) <= max(1, readable // 100), pixels
    # the run exercised something: reads that succeed, reads that fail, every seed and kind
    assert counts["ok"] > 0.1 * MUTANTS and counts["error"] > 0.2 * MUTANTS
    seeds = {seed.name for seed in fuzz.SEEDS if seed.args}
    assert {seed for seed, _ in kinds} == seeds
    assert {kind for _, kind in kinds} == set(fuzz.MUTATIONS)


def _cli_mutants(seed_bytes: dict[str, bytes], folder: Path, count: int) -> list[Path]:
    paths = []
    for mutant in fuzz.mutants(seed_bytes, count, campaign=1):
        path = folder / f"m{mutant.number:03d}_{mutant.kind}_{mutant.seed}"
        path.write_bytes(mutant.data)
        paths.append(path)
    return paths


def test_cli_exits_0_or_3_without_traceback(
    seed_bytes: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from videoqa.cli.main import app

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    runner = CliRunner()
    codes: collections.Counter[int] = collections.Counter()
    paths = _cli_mutants(seed_bytes, tmp_path, 24)
    for path in paths:
        result = runner.invoke(app, ["data", "probe", str(path), "--json"])
        assert result.exit_code in (0, 3), (path.name, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), path.name
        codes[result.exit_code] += 1
    for path in paths[::6]:
        args = ["ask", str(path), "what is shown?", "--choices", "a", "b", "--model", "tiny",
                "--frames", "4", "--json"]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code in (0, 3), (path.name, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), path.name
        assert "Traceback" not in result.output
        codes[result.exit_code] += 1
    assert codes[0] > 0 and codes[3] > 0


def test_cli_process_on_a_damaged_file(seed_bytes: dict[str, bytes], tmp_path: Path) -> None:
    """The real ``videoqa data probe`` process: exit 3, one error line, no traceback."""
    path = tmp_path / "flipped_header.mp4"
    data = bytearray(seed_bytes["h264_bframes.mp4"])
    data[: min(len(data), 64)] = bytes(min(len(data), 64))
    path.write_bytes(bytes(data))
    code = "from videoqa.cli.main import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "data", "probe", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr and str(path) in " ".join(done.stderr.split())
    assert done.stdout == ""
