"""Video–caption pairs in the WebVid CSV format (Bain et al., "Frozen in Time", ICCV
2021: the WebVid-2M/10M annotation files), the pre-training corpus of MCG
(arXiv:2410.09379 §4.1).

A WebVid CSV has one row per clip with the columns ``videoid`` (the clip id),
``name`` (the caption), ``page_dir`` (the folder the download tools put the clip in),
``duration`` (ISO 8601, e.g. ``PT00H00M11S``) and ``contentUrl``. The clip's file is
``video_root / page_dir / f"{videoid}.mp4"``. The synthetic benchmark writes its
descriptions in this format too (``descriptions/<split>.csv``, ``page_dir`` =
``videos``), so one loader reads both.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from videoqa.errors import DataFormatError

COLUMNS = ("videoid", "name", "page_dir", "duration", "contentUrl")
REQUIRED = ("videoid", "name")
_ISO = re.compile(r"^P(?:T)?(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


class CaptionPair(BaseModel):
    """One video with its caption.

    Attributes:
        video_id: the clip id (``videoid``).
        caption: the caption text (``name``).
        path: the clip's file (``video_root / page_dir / <id>.mp4``).
        duration: seconds, when the row gives a parseable one.
    """

    model_config = ConfigDict(frozen=True)

    video_id: str
    caption: str
    path: Path
    duration: float | None = None


def parse_duration(text: str) -> float | None:
    """Seconds of an ISO 8601 duration (``PT00H00M11S`` → 11.0); plain numbers are taken
    as seconds; None when empty or unparseable."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    match = _ISO.match(text)
    if not match or not any(match.groups()):
        return None
    h, m, s = (float(g) if g else 0.0 for g in match.groups())
    return 3600 * h + 60 * m + s


def load_webvid_csv(path: str | Path, video_root: str | Path, *, limit: int | None = None) -> list[CaptionPair]:
    """Read a WebVid-format CSV (see the module doc).

    Args:
        path: the CSV file.
        video_root: folder holding the ``page_dir`` folders.
        limit: keep the first N rows.

    Returns:
        the pairs in file order (rows with an empty caption are skipped).

    Raises:
        DataFormatError: the file is missing, unreadable or lacks ``videoid`` / ``name``,
            or a ``videoid`` repeats.
    """
    path, root = Path(path), Path(video_root)
    if not path.is_file():
        raise DataFormatError(f"caption file not found: {path}")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise DataFormatError(f"{path}: not a WebVid CSV, missing columns {missing}")
            out: list[CaptionPair] = []
            seen: set[str] = set()
            for line, row in enumerate(reader, start=2):
                vid, caption = (row.get("videoid") or "").strip(), (row.get("name") or "").strip()
                if not vid or not caption:
                    continue
                if vid in seen:
                    raise DataFormatError(f"{path}:{line}: videoid {vid!r} repeats")
                seen.add(vid)
                page = (row.get("page_dir") or "").strip()
                out.append(
                    CaptionPair(
                        video_id=vid,
                        caption=caption,
                        path=root / page / f"{vid}.mp4",
                        duration=parse_duration(row.get("duration") or ""),
                    )
                )
                if limit is not None and len(out) >= limit:
                    break
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataFormatError(f"{path}: unreadable caption file ({err})") from None
    return out


def write_webvid_csv(path: str | Path, pairs: list[tuple[str, str, str, float]]) -> Path:
    """Write ``(videoid, caption, page_dir, duration_seconds)`` rows as a WebVid CSV
    (atomically: a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for vid, caption, page, seconds in pairs:
            writer.writerow([vid, caption, page, f"PT{int(seconds // 3600):02d}H{int(seconds % 3600 // 60):02d}M{seconds % 60:g}S", ""])
    tmp.replace(path)
    return path


__all__ = ["CaptionPair", "load_webvid_csv", "parse_duration", "write_webvid_csv"]
