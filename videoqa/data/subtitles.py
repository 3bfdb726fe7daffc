"""Subtitle files (``.srt``, ``.vtt``, and what else ``pysubs2`` reads): timed text cues.

Parsing is ``pysubs2``'s (a maintained subtitle library: SubRip, WebVTT, SubStation
Alpha, MicroDVD, ...); this module turns its events into :class:`SubtitleCue` values in
seconds with markup removed (``<i>``, ``{\\b1}``) and cue lines joined by a space, and
raises :class:`~videoqa.errors.DataFormatError` for a file it cannot read. Used by the
TVQA loader (``tvqa_subtitles/<vid_name>.srt``) and by ``videoqa ask --subtitles``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from videoqa.errors import DataFormatError

__all__ = ["SubtitleCue", "parse_subtitles", "read_subtitles", "write_srt"]

_FORMATS = {".srt": "srt", ".vtt": "vtt", ".ass": "ass", ".ssa": "ssa", ".sub": "microdvd"}
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")


class SubtitleCue(BaseModel):
    """One cue: ``text`` shown from ``start`` to ``end`` seconds."""

    model_config = ConfigDict(frozen=True)

    start: float
    end: float
    text: str


def _cues(subs) -> list[SubtitleCue]:  # noqa: ANN001 - a pysubs2.SSAFile
    cues = []
    for event in subs:
        if event.is_comment:
            continue
        text = _SPACES.sub(" ", _TAG.sub("", event.plaintext)).strip()
        cues.append(SubtitleCue(start=event.start / 1000.0, end=event.end / 1000.0, text=text))
    return cues


def parse_subtitles(
    text: str, format_: str | None = None, name: str = "<text>"
) -> list[SubtitleCue]:
    """Cues of subtitle ``text`` in file order.

    Args:
        text: the file's content.
        format_: a pysubs2 format id (``"srt"``, ``"vtt"``, ...); None detects it.
        name: what error messages call the text.

    Raises:
        DataFormatError: the text is not a subtitle file pysubs2 can read.
    """
    import pysubs2

    if format_ == "vtt" or (format_ is None and text.lstrip("\ufeff").startswith("WEBVTT")):
        text = _drop_cue_identifiers(text)
    try:
        subs = pysubs2.SSAFile.from_string(text, format_=format_)
    except (pysubs2.exceptions.Pysubs2Error, ValueError) as err:
        raise DataFormatError(f"{name}: not a readable subtitle file ({err})") from None
    return _cues(subs)


def _drop_cue_identifiers(text: str) -> str:
    """WebVTT text without cue identifier lines (the optional line just before a cue's
    timing line), which pysubs2 would read as the previous cue's text."""
    lines = text.replace("\r\n", "\n").split("\n")
    keep = [
        line
        for i, line in enumerate(lines)
        if not (
            i + 1 < len(lines)
            and "-->" in lines[i + 1]
            and "-->" not in line
            and line.strip()
            and (i == 0 or not lines[i - 1].strip())
            and not line.startswith("WEBVTT")
        )
    ]
    return "\n".join(keep)


def read_subtitles(path: str | Path) -> list[SubtitleCue]:
    """Cues of the subtitle file ``path`` (format from its extension, else detected;
    UTF-8, a byte-order mark allowed).

    Raises:
        DataFormatError: missing or unreadable file, or not a subtitle file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataFormatError(f"subtitle file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataFormatError(f"cannot read subtitle file {path}: {err}") from None
    if not text.strip():
        return []
    return parse_subtitles(text, _FORMATS.get(path.suffix.lower()), path.name)


def write_srt(cues: Sequence[SubtitleCue]) -> str:
    """``cues`` as SubRip text (times rounded to milliseconds)."""
    import pysubs2

    subs = pysubs2.SSAFile()
    for cue in cues:
        subs.append(
            pysubs2.SSAEvent(
                start=round(cue.start * 1000), end=round(cue.end * 1000), text=cue.text
            )
        )
    return subs.to_string("srt")
