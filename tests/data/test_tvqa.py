"""TVQA loader, time spans and subtitles."""

from __future__ import annotations

import json

import pytest

from videoqa.data import load_dataset
from videoqa.data.tvqa import parse_span, parse_srt


@pytest.mark.parametrize(
    ("ts", "span"),
    [
        ("1.21-8.49", (1.21, 8.49)),
        ("0-3", (0.0, 3.0)),
        ("NaN-NaN", None),
        ("5-2", None),
        ("1-2-3", None),
        ("a-b", None),
    ],
)
def test_parse_span(ts, span):
    assert parse_span(ts) == span


def test_parse_srt_golden():
    text = "1\n00:00:01,210 --> 00:00:03,500\nHi\nthere\n\n2\n01:02:03.4 --> 01:02:04,000\nBye\n"
    assert parse_srt(text) == [
        {"start": 1.21, "end": 3.5, "text": "Hi there"},
        {"start": 3723.4, "end": 3724.0, "text": "Bye"},
    ]


def test_tvqa_with_subtitle_folder(fixtures):
    bench = load_dataset(
        "tvqa", fixtures / "tvqa" / "tvqa_val.jsonl", subtitles=fixtures / "tvqa" / "subtitles"
    )
    assert bench.ids == ["7", "8"] and bench.records == 4
    first = bench.samples[0]
    assert first.answer == 4 and first.answer_text == "A beer bottle"
    assert first.interval == (1.21, 8.49) and first.video_id == "met_s06e22_seg01_clip_02"
    assert first.extras["show_name"] == "How I Met You Mother"
    assert first.extras["subtitles"] == [
        {"start": 1.21, "end": 3.5, "text": "(Robin:) So, Zoey... what about her?"},
        {"start": 4.0, "end": 8.49, "text": "(Ted:) She's great."},
    ]
    second = bench.samples[1]
    assert second.interval is None and second.extras["subtitles"] == []
    assert [(i.line, i.key) for i in bench.issues] == [(3, "9"), (4, None)]
    assert bench.issues[0].reason == "missing field 'answer_idx'"
    assert bench.issues[1].reason.startswith("not valid JSON")
    assert [(w.line, w.reason) for w in bench.warnings] == [
        (2, "time span 'NaN-NaN' unusable, dropped"),
        (2, "no subtitles for 's01e01_seg01_clip_00'"),
    ]


def test_tvqa_subtitles_from_json(tmp_path, fixtures):
    subs = tmp_path / "subs.json"
    cues = [{"start": 0.0, "end": 1.0, "text": "hello"}]
    subs.write_text(json.dumps({"met_s06e22_seg01_clip_02": cues}))
    bench = load_dataset("tvqa", fixtures / "tvqa" / "tvqa_val.jsonl", subtitles=subs)
    assert bench.samples[0].extras["subtitles"] == cues
    plain = load_dataset("tvqa", fixtures / "tvqa" / "tvqa_val.jsonl")
    assert "subtitles" not in plain.samples[0].extras
