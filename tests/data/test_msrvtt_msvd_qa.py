"""MSRVTT-QA and MSVD-QA loaders (shared reader, different video naming)."""

from __future__ import annotations

from pathlib import Path

from videoqa.data import load_dataset
from videoqa.data.msrvtt_qa import question_word_type


def test_question_word_type():
    assert question_word_type("What is a man doing?") == "what"
    assert question_word_type("  who runs") == "who"
    assert question_word_type("is it raining") == "other"
    assert question_word_type("whom did he see") == "other"


def test_msrvtt_qa(fixtures):
    bench = load_dataset("msrvtt-qa", fixtures / "msrvtt_qa" / "test_qa.json", video_root="v")
    assert bench.ids == ["0", "1", "3"] and bench.records == 4
    first = bench.samples[0]
    assert (first.video_id, first.answer, first.qtype, first.extras) == (
        "video7010",
        "man",
        "who",
        {"category_id": 3},
    )
    assert bench.samples[2].video_id == "video7012" and bench.samples[2].qtype == "how"
    assert [(i.line, i.key, i.reason) for i in bench.issues] == [(4, "2", "missing field 'answer'")]
    assert bench.videos["video7010"].path == Path("v") / "video7010.mp4"


def test_msvd_qa_with_youtube_mapping(fixtures):
    bench = load_dataset(
        "msvd-qa",
        fixtures / "msvd_qa" / "test_qa.json",
        mapping=fixtures / "msvd_qa" / "youtube_mapping.txt",
    )
    assert bench.ids == ["30933", "30934", "30936"]
    assert [s.video_id for s in bench.samples] == ["vid1", "vid2", "vid3"]
    assert bench.videos["vid1"].path == Path("-4wsuPCjDBc_5_15.avi")
    assert bench.videos["vid3"].path == Path("vid3.avi")
    assert [(i.line, i.reason) for i in bench.issues] == [(4, "field 'question' is empty")]
    assert [w.reason for w in bench.warnings] == [
        "1 video id(s) not in the mapping, paths use the id: vid3"
    ]


def test_msvd_mapping_either_column_order(tmp_path, fixtures):
    mapping = tmp_path / "m.txt"
    mapping.write_text("vid1 clipA\nclipB vid2\n")
    bench = load_dataset("msvd-qa", fixtures / "msvd_qa" / "test_qa.json", mapping=mapping)
    assert bench.videos["vid1"].path == Path("clipA.avi")
    assert bench.videos["vid2"].path == Path("clipB.avi")
