"""Write the evidence of an answer to disk: the localized frames, the grid view,
``result.json`` and ``report.html`` (the answer as ``videoqa serve``'s page shows it,
one self-contained file: :mod:`videoqa.pipelines.report`)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from videoqa.pipelines.ask import AskRun
from videoqa.pipelines.report import REPORT_NAME, render_report
from videoqa.pipelines.schema import AskResult


def write_text_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and an atomic rename,
    so a reader never sees a half-written file; ``mode``: its permission bits (default:
    the temporary file's, ``0o600``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, payload: dict) -> None:
    """Write JSON (indented) to ``path`` atomically (see :func:`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(payload, indent=2))


def write_report(result: AskResult, out_dir: str | Path) -> Path:
    """Write ``out_dir/report.html`` (:func:`~videoqa.pipelines.report.render_report`)
    for ``result``, reading the images its evidence and grid name from ``out_dir``;
    atomic.

    Returns:
        the path of the written report.

    Raises:
        OSError: ``out_dir`` is not writable, or a named image cannot be read.
    """
    out = Path(out_dir)
    names = [e.image for e in result.evidence if e.image]
    if result.grid is not None and result.grid.image:
        names.append(result.grid.image)
    images = {}
    for name in names:
        with Image.open(out / name) as image:
            images[name] = image.copy()
    video = Path(result.video.path)
    video_src = video.resolve().as_uri() if video.is_file() else None
    target = out / REPORT_NAME
    # a page to share, like the PNGs beside it
    write_text_atomic(target, render_report(result, images, video_src), mode=0o644)
    return target


def overlay_weight_map(frame: np.ndarray, weight_map: list[list[float]], alpha: float = 0.6) -> np.ndarray:
    """``frame`` ``(H, W, 3)`` uint8 with ``weight_map`` (rows × cols in [0, 1]) upsampled
    bilinearly to the frame and blended in red: ``(1 − a·w)·pixel + a·w·red``."""
    grid = np.clip(np.asarray(weight_map, dtype=np.float32), 0.0, 1.0)
    h, w = frame.shape[:2]
    up = Image.fromarray((grid * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR)
    weight = alpha * (np.asarray(up, dtype=np.float32) / 255.0)[..., None]
    red = np.array([255.0, 0.0, 0.0], dtype=np.float32)
    return ((1 - weight) * frame.astype(np.float32) + weight * red).round().astype(np.uint8)


def save_evidence(run: AskRun, out_dir: str | Path) -> AskResult:
    """Save evidence frames as ``evidence_<rank>_<time>s.png`` (rank 1 = highest score;
    with the evidence's ``weight_map`` overlaid when it has one),
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
        frame = run.frames.frames[row]
        if item.weight_map:  # a per-region map (e.g. MCG's token-level attention): overlaid
            frame = overlay_weight_map(frame, item.weight_map)
        Image.fromarray(frame).save(out / name)
        item.image = name
    if run.grid_image is not None and result.grid is not None:
        run.grid_image.save(out / "grid.png")
        result.grid.image = "grid.png"
    write_json_atomic(out / "result.json", result.model_dump(mode="json"))
    write_report(result, out)
    return result
