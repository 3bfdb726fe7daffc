"""Write the evidence of an answer to disk: the localized frames, the grid view,
``result.json`` and ``report.html`` (the answer as ``videoqa serve``'s page shows it,
one self-contained file: :mod:`videoqa.pipelines.report`)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from PIL import Image

from videoqa.pipelines.ask import AskRun
from videoqa.pipelines.report import write_report
from videoqa.pipelines.schema import AskResult


def write_json_atomic(path: Path, payload: dict) -> None:
    """Write JSON to ``path`` through a temporary file and an atomic rename, so a reader
    never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_evidence(run: AskRun, out_dir: str | Path) -> AskResult:
    """Save evidence frames as ``evidence_<rank>_<time>s.png`` (rank 1 = highest score),
    the grid view as ``grid.png``, the result (with the image paths filled in) as
    ``result.json`` and its report page as ``report.html`` in ``out_dir``.

    Returns:
        A copy of ``run.result`` whose ``evidence[i].image`` and ``grid.image`` name the
        written files (relative to ``out_dir``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = run.result.model_copy(deep=True)
    row_of_index = {int(idx): row for row, idx in enumerate(run.frames.indices)}
    for rank, item in enumerate(result.evidence, start=1):
        row = row_of_index[item.frame_index] if item.frame_index is not None else None
        if row is None:
            continue
        name = f"evidence_{rank:02d}_{item.time:08.3f}s.png"
        Image.fromarray(run.frames.frames[row]).save(out / name)
        item.image = name
    if run.grid_image is not None and result.grid is not None:
        run.grid_image.save(out / "grid.png")
        result.grid.image = "grid.png"
    write_json_atomic(out / "result.json", result.model_dump(mode="json"))
    write_report(result, out)
    return result
