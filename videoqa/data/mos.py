"""Video-quality tables of mean opinion scores (``mos-csv``): KoNViD-1k, LIVE-VQC, LSVQ,
YouTube-UGC style CSV files.

Sources: Hosu et al., "The Konstanz natural video database (KoNViD-1k)", QoMEX 2017
(``KoNViD_1k_mos.csv``: ``flickr_id, mos`` …); Sinno & Bovik, "Large-Scale Study of
Perceptual Video Quality" (LIVE-VQC), IEEE TIP 2019 (per-video MOS, 0–100); Ying et al.,
"Patch-VQ: 'Patching Up' the Video Quality Problem" (LSVQ), CVPR 2021
(``labels_*.csv``: ``name, …, mos``); Wang et al., "YouTube UGC Dataset for Video
Compression Research", MMSP 2019 (``vid``, ``MOS``).

Format: a CSV with a header. The video column is the first header (compared without
case) among :data:`VIDEO_COLUMNS`, the score column the first among
:data:`MOS_COLUMNS`, the optional standard-deviation column the first among
:data:`STD_COLUMNS`; ``video_column=``/``mos_column=``/``std_column=`` name them
explicitly. Scores are kept on the table's own scale. Other columns go into ``extras``
as text. A video listed twice is an issue (its second row). Videos:
``<video_root>/<name>.mp4``, or ``<video_root>/<name>`` when the name already ends in a
video suffix (LIVE-VQC ``A001.mp4``, LSVQ ``yfcc-batch1/11117`` → ``….mp4``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from videoqa.data.readers import (
    Collector,
    Record,
    Row,
    RowError,
    iter_csv,
    load_benchmark,
    require_columns,
)
from videoqa.data.registry import DATASETS
from videoqa.data.schema import Benchmark, QualitySample
from videoqa.errors import DataFormatError

VIDEO_COLUMNS: tuple[str, ...] = (
    "video",
    "video_name",
    "video_id",
    "flickr_id",
    "name",
    "file_name",
    "filename",
    "file",
    "vid",
)
MOS_COLUMNS: tuple[str, ...] = ("mos", "mos_score", "dmos", "score", "mos full")
STD_COLUMNS: tuple[str, ...] = ("std", "sd", "mos_std", "std_dev", "stddev", "mos_sd")
VIDEO_PATTERN = "{video_id}.mp4"


def find_column(header: Sequence[str], candidates: Sequence[str]) -> str | None:
    """The first header name equal (ignoring case and spaces around) to a candidate."""
    folded = {h.strip().lower(): h for h in header}
    for name in candidates:
        if name in folded:
            return folded[name]
    return None


def _columns(
    header: list[str], path: Path, video: str | None, mos: str | None, std: str | None
) -> tuple[str, str, str | None]:
    if video or mos or std:
        require_columns(header, [c for c in (video, mos, std) if c], path)
    video = video or find_column(header, VIDEO_COLUMNS)
    mos = mos or find_column(header, MOS_COLUMNS)
    if video is None or mos is None:
        raise DataFormatError(
            f"{path.name}: no {'video' if video is None else 'MOS'} column in {header}; "
            f"expected one of {list(VIDEO_COLUMNS if video is None else MOS_COLUMNS)}"
        )
    return video, mos, std or find_column(header, STD_COLUMNS)


@DATASETS.register("mos-csv")
def load_mos_csv(
    annotations: Path,
    *,
    video_root: Path | None = None,
    mapping: Path | Mapping[str, str] | None = None,
    split: str | None = None,
    video_column: str | None = None,
    mos_column: str | None = None,
    std_column: str | None = None,
    delimiter: str = ",",
) -> Benchmark[QualitySample]:
    """Load a MOS table (format in the module docstring).

    Args:
        annotations: the CSV file.
        video_root: folder of the videos.
        mapping: video name → relative path.
        split: split name (default: the file's stem).
        video_column, mos_column, std_column: column names, when not the usual ones.
        delimiter: CSV field separator.

    Returns:
        ``Benchmark[QualitySample]``; rows with an empty name, a score that is not a
        finite number, a negative std, or a repeated video are ``issues``.
        ``meta["columns"]`` tells which columns were used.

    Raises:
        DataFormatError: missing file, or no recognisable video / MOS column.
    """
    annotations = Path(annotations)
    header, records = iter_csv(annotations, delimiter=delimiter)
    video_col, mos_col, std_col = _columns(
        header, annotations, video_column, mos_column, std_column
    )
    seen: dict[str, int] = {}

    def build(rec: Record, _: Collector) -> QualitySample:
        row = Row(rec.value)
        name = row.text(video_col)
        sample = QualitySample(
            video_id=name,
            mos=row.number(mos_col),
            std=row.number(std_col) if std_col and row.has(std_col) else None,
            extras=row.rest(video_col, mos_col, *([std_col] if std_col else [])),
        )
        if name in seen:
            raise RowError(f"video {name!r} listed again (first on line {seen[name]})")
        seen[name] = rec.line
        return sample

    return load_benchmark(
        "mos-csv",
        annotations,
        records,
        build,
        sample_type=QualitySample,
        pattern=VIDEO_PATTERN,
        split=split,
        video_root=video_root,
        mapping=mapping,
        key=lambda v: _cell(v, video_col),
        meta={"columns": {"video": video_col, "mos": mos_col, "std": std_col}},
    )


def _cell(value: object, column: str) -> str | None:
    if isinstance(value, Mapping) and str(value.get(column, "")).strip():
        return str(value[column]).strip()
    return None
