"""MSVD-QA (``msvd-qa``).

Source: Xu et al., ACM Multimedia 2017, §4.1 (see :mod:`videoqa.data.msrvtt_qa`, whose
reader this shares). Rows are ``{"id", "video_id", "question", "answer"}`` where an
integer ``video_id`` ``N`` names the video ``vidN``. The MSVD clips themselves are named
after their YouTube source (``-4wsuPCjDBc_5_15.avi``); the release's
``youtube_mapping.txt`` pairs them, one ``<clip name> vid<N>`` per line. Pass it as
``mapping`` (either column order is recognised, the ``vidN`` column being the id; a JSON
object ``{"vidN": "clip name"}`` works too). Videos: ``<video_root>/<clip name>.avi``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from videoqa.data.msrvtt_qa import load_xu2017_qa, prefixed_video_name
from videoqa.data.readers import read_text, read_video_mapping
from videoqa.data.registry import DATASETS
from videoqa.data.schema import Benchmark, QASample
from videoqa.errors import DataFormatError

_VID = re.compile(r"vid\d+")


def read_msvd_mapping(path: Path) -> dict[str, str]:
    """``vidN`` → clip name from ``youtube_mapping.txt`` (or a JSON object).

    Raises:
        DataFormatError: a line with no ``vidN`` column, or not two columns.
    """
    path = Path(path)
    if read_text(path).lstrip()[:1] == "{":
        return read_video_mapping(path)
    mapping: dict[str, str] = {}
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        ids = [i for i, p in enumerate(parts) if _VID.fullmatch(p)]
        if len(parts) != 2 or len(ids) != 1:
            raise DataFormatError(f"{path.name}:{number}: expected '<clip name> vid<N>'")
        mapping[parts[ids[0]]] = parts[1 - ids[0]]
    return mapping


@DATASETS.register("msvd-qa")
def load_msvd_qa(
    annotations: Path,
    *,
    video_root: Path | None = None,
    mapping: Path | Mapping[str, str] | None = None,
    split: str | None = None,
) -> Benchmark[QASample]:
    """Load an MSVD-QA split: ``Benchmark[QASample]`` of open-ended samples; rows with
    missing fields are in ``issues``, repeated ids renamed ``"<id>#2"`` (warnings).

    Args:
        annotations: ``<split>_qa.json``.
        video_root: folder of the MSVD clips (``YouTubeClips``).
        mapping: ``youtube_mapping.txt`` (or a dict ``{"vidN": clip name}``); without it
            the paths are ``vidN.avi``, and with it ids it lacks get a warning.
        split: split name (default: the file's stem).

    Raises:
        DataFormatError: missing or malformed file.
    """
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = read_msvd_mapping(Path(mapping))
    return load_xu2017_qa(
        "msvd-qa",
        annotations,
        video_name=prefixed_video_name("vid"),
        pattern="{video_id}.avi",
        video_root=video_root,
        mapping=mapping,
        split=split,
    )
