"""Score every video of a MOS table with a quality model and write the predictions,
resumably (the model-run mode of ``videoqa eval --dataset mos-csv``).

Each scored video becomes one JSON line ``{"video_id", "score", "model", "seconds"}``,
flushed at once, readable by :func:`~videoqa.eval.quality.read_quality_predictions`.
A rerun skips the videos already in the file (an interrupted last line is repaired,
as for question runs); a missing or undecodable video is
recorded as an error (:class:`~videoqa.eval.runner.RunError`) and the run goes on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from videoqa.data.schema import Benchmark, QualitySample
from videoqa.errors import UsageError, VideoError
from videoqa.eval.runner import RunError, RunSummary, read_done

QualityScorer = Callable[[Path], float]
"""``scorer(video_path) -> score`` (higher = better), e.g. VQA² stage 2."""


def run_quality_predictions(
    benchmark: Benchmark,
    scorer: QualityScorer,
    out: Path,
    *,
    model: str,
    on_step: Callable[[int, int], None] | None = None,
) -> RunSummary:
    """Score the table's videos not yet in ``out`` and append their predictions.

    Args:
        benchmark: a MOS table (:class:`~videoqa.data.schema.QualitySample` rows).
        scorer: maps a video file to its predicted quality.
        out: JSON-lines predictions file; created if absent, appended to otherwise.
        model: the scorer's name, written in each line and checked when resuming.
        on_step: called as ``on_step(done, total)`` after each video.

    Raises:
        UsageError: not a MOS table, or ``out`` holds another model's scores.
    """
    from videoqa.batch import default_file_timeout, is_job_failure
    from videoqa.video.reader import time_limit

    start = time.perf_counter()
    timeout = default_file_timeout()  # reading per video: $VIDEOQA_FILE_TIMEOUT
    if not all(isinstance(s, QualitySample) for s in benchmark.samples):
        raise UsageError(f"{benchmark.name}: a quality run scores MOS-table videos")
    resume = read_done(out, model, id_key="video_id", value_key="score")
    todo = [s for s in benchmark.samples if s.video_id not in resume.done]
    total, written, errors = len(benchmark.samples), 0, []
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a", encoding="utf-8") as handle:
        for step, sample in enumerate(todo, start=1):
            entry = benchmark.videos.entries.get(sample.video_id)
            tick = time.perf_counter()
            try:
                if entry is None or entry.path is None:
                    raise VideoError(f"no video file is known for {sample.video_id!r}")
                with time_limit(timeout):
                    score = float(scorer(entry.path))
            except VideoError as err:
                errors.append(
                    RunError(qid=sample.video_id, video_id=sample.video_id, reason=str(err))
                )
            except Exception as err:  # any other failure of one video: recorded, run goes on
                if is_job_failure(err):
                    raise
                reason = f"{type(err).__name__}: {err}"
                errors.append(RunError(qid=sample.video_id, video_id=sample.video_id, reason=reason))
            else:
                row = {
                    "video_id": sample.video_id,
                    "score": score,
                    "model": model,
                    "seconds": round(time.perf_counter() - tick, 4),
                }
                handle.write(json.dumps(row) + "\n")
                handle.flush()
                written += 1
            if on_step is not None:
                on_step(total - len(todo) + step, total)
    return RunSummary(
        total=total,
        skipped=total - len(todo),
        written=written,
        errors=errors,
        repaired=resume.repaired,
        seconds=time.perf_counter() - start,
    )
