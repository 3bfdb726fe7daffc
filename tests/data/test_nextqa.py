"""NExT-QA MC / OE loaders on small fixture files."""

from __future__ import annotations

from pathlib import Path

import pytest

from videoqa.data import load_dataset
from videoqa.data.schema import QASample
from videoqa.errors import DataFormatError


def test_nextqa_mc_golden_rows_and_issues(fixtures):
    bench = load_dataset("nextqa-mc", fixtures / "nextqa" / "val.csv")
    assert (bench.name, bench.split, bench.records) == ("nextqa-mc", "val", 5)
    assert bench.ids == ["4010069381_6", "4882821564_1", "6666666666_1"]
    first = bench.samples[0]
    assert first == QASample(
        qid="4010069381_6",
        video_id="4010069381",
        question="how do the two man play the instrument",
        choices=(
            "roll the handle",
            "tap their feet",
            "strum the string",
            "hit with sticks",
            "pat with hand",
        ),
        answer=0,
        qtype="CH",
        extras={"frame_count": 369, "width": 640, "height": 480},
    )
    quoted, multiline = bench.samples[1], bench.samples[2]
    assert quoted.question == "why did the boy, smiling, pick up one present"
    assert quoted.answer_text == "unwrap it"
    assert multiline.choices[0] == "sniff the\nground" and multiline.qtype == "TP"
    assert [(i.line, i.key) for i in bench.issues] == [(4, "4882821564_2"), (5, None)]
    assert "answer index 7 outside 5 choices" in bench.issues[0].reason
    assert bench.issues[1].reason == "11 fields, the header has 13"
    assert bench.warnings == []


def test_nextqa_mc_video_paths_with_mapping(fixtures):
    root = Path("videos")
    bench = load_dataset(
        "nextqa-mc",
        fixtures / "nextqa" / "val.csv",
        video_root=root,
        mapping=fixtures / "nextqa" / "map_vid_vidorID.json",
    )
    assert bench.videos["4010069381"].path == root / "1010" / "4010069381.mp4"
    assert bench.videos["6666666666"].path == root / "6666666666.mp4"
    assert [(w.line, w.reason) for w in bench.warnings] == [
        (1, "1 video id(s) not in the mapping, paths use the id: 6666666666")
    ]
    assert len(bench.videos) == 3 and bench.missing_videos() == sorted(bench.videos.entries)


def test_nextqa_oe_duplicates_renamed_and_unknown_types_kept(fixtures):
    bench = load_dataset("nextqa-oe", fixtures / "nextqa_oe" / "train.csv")
    assert bench.records == 12 and len(bench) == 11
    assert all(s.choices is None and isinstance(s.answer, str) for s in bench.samples)
    assert "3617262562_2#2" in bench.ids
    by_id = bench.by_id()
    assert by_id["3617262562_2#2"].question == "how did the man react in the middle"
    assert by_id["4598213889_7"].qtype == "ZZ"
    assert [(i.line, i.key, i.reason) for i in bench.issues] == [
        (9, "3617262562_5", "field 'answer' is empty")
    ]
    assert [(w.line, w.key) for w in bench.warnings] == [(7, "3617262562_2"), (11, "4598213889_7")]


def test_nextqa_missing_columns_is_a_format_error(tmp_path, fixtures):
    with pytest.raises(DataFormatError, match=r"missing column\(s\) \['a0', 'a1'"):
        load_dataset("nextqa-mc", fixtures / "nextqa_oe" / "val.csv")
    bad = tmp_path / "x.csv"
    bad.write_text("video,qid\n1,2\n")
    with pytest.raises(DataFormatError, match="missing column"):
        load_dataset("nextqa-oe", bad)
