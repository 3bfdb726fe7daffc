"""Subtitle files through pysubs2: SRT and WebVTT cues in seconds, markup removed,
broken or missing files as typed errors, SRT written back."""

from __future__ import annotations

import pytest

from videoqa.data.subtitles import SubtitleCue, parse_subtitles, read_subtitles, write_srt
from videoqa.errors import DataFormatError

SRT = "1\n00:00:01,250 --> 00:00:03,000\n<i>Hello</i>\nthere\n\n2\n00:01:02,000 --> 00:01:04,500\nBye.\n"
VTT = (
    "WEBVTT\n\nNOTE a comment\n\n00:00:01.250 --> 00:00:03.000\n<v Ted>Hello <b>there</b>\n\n"
    "intro\n01:02.000 --> 01:04.500 align:start\nBye.\n"
)
EXPECTED = [
    SubtitleCue(start=1.25, end=3.0, text="Hello there"),
    SubtitleCue(start=62.0, end=64.5, text="Bye."),
]


@pytest.mark.parametrize(("name", "text"), [("a.srt", SRT), ("a.vtt", VTT), ("A.SRT", SRT)])
def test_read_srt_and_vtt(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert read_subtitles(path) == EXPECTED


def test_byte_order_mark_and_empty_file(tmp_path):
    path = tmp_path / "bom.srt"
    path.write_bytes(b"\xef\xbb\xbf" + SRT.encode())
    assert read_subtitles(path) == EXPECTED
    empty = tmp_path / "empty.srt"
    empty.write_text("   \n")
    assert read_subtitles(empty) == []


def test_bad_files_are_data_format_errors(tmp_path):
    with pytest.raises(DataFormatError, match="not found"):
        read_subtitles(tmp_path / "missing.srt")
    junk = tmp_path / "junk.txt"
    junk.write_text("this is not a subtitle file\n")
    with pytest.raises(DataFormatError, match="junk.txt"):
        read_subtitles(junk)
    binary = tmp_path / "bin.srt"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(DataFormatError):
        read_subtitles(binary)


def test_write_srt_round_trip():
    text = write_srt(EXPECTED)
    assert "00:00:01,250 --> 00:00:03,000" in text
    assert parse_subtitles(text, "srt") == EXPECTED
