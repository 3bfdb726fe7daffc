"""MOS tables (KoNViD-1k / LSVQ / LIVE-VQC style headers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from videoqa.data import load_dataset
from videoqa.data.mos import find_column
from videoqa.errors import DataFormatError


def test_find_column_ignores_case():
    assert find_column(["File", "MOS"], ["video", "file"]) == "File"
    assert find_column([" mos "], ["mos"]) == " mos "
    assert find_column(["a"], ["b"]) is None


def test_konvid_style(fixtures):
    bench = load_dataset("mos-csv", fixtures / "mos" / "KoNViD_1k_mos.csv", video_root="k")
    assert bench.meta["columns"] == {"video": "flickr_id", "mos": "mos", "std": "SD"}
    assert [(s.video_id, s.mos, s.std) for s in bench.samples] == [
        ("3337642103", 4.64, 0.52),
        ("5359297426", 1.22, 0.41),
        ("10053703034", 3.1, None),
    ]
    assert bench.samples[0].extras == {"n": "120"}
    assert [(i.line, i.key, i.reason) for i in bench.issues] == [
        (4, "8725478730", "field 'mos' must be a number, got 'three'"),
        (5, "3337642103", "video '3337642103' listed again (first on line 2)"),
    ]
    assert bench.videos["3337642103"].path == Path("k") / "3337642103.mp4"


def test_lsvq_and_live_vqc_style(fixtures):
    lsvq = load_dataset("mos-csv", fixtures / "mos" / "LSVQ_labels_test.csv")
    assert lsvq.meta["columns"]["video"] == "name" and lsvq.meta["columns"]["std"] is None
    assert [s.mos for s in lsvq.samples] == [73.97, 60.57]
    assert lsvq.videos["yfcc-batch1/11117"].path == Path("yfcc-batch1/11117.mp4")
    live = load_dataset("mos-csv", fixtures / "mos" / "LIVE_VQC.csv", delimiter=";")
    assert [(s.video_id, s.mos) for s in live.samples] == [("A001.mp4", 80.23), ("A002.mp4", 51.0)]
    assert live.videos["A001.mp4"].path == Path("A001.mp4")


def test_explicit_columns_and_errors(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("clip,quality,spread\nx,2.5,-1\ny,3,0.2\n")
    bench = load_dataset(
        "mos-csv", table, video_column="clip", mos_column="quality", std_column="spread"
    )
    assert [(s.video_id, s.std) for s in bench.samples] == [("y", 0.2)]
    assert bench.issues[0].line == 2 and "std" in bench.issues[0].reason
    with pytest.raises(DataFormatError, match="no video column"):
        load_dataset("mos-csv", table)
    with pytest.raises(DataFormatError, match="missing column"):
        load_dataset("mos-csv", table, video_column="nope", mos_column="quality")
