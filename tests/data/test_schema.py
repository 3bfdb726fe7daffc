"""Schema additions: RowIssue, MomentSample, QualitySample, Benchmark accounting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from videoqa.data.schema import (
    Benchmark,
    MomentSample,
    QASample,
    QualitySample,
    RowIssue,
    VideoEntry,
    VideoIndex,
)


def _qa(qid: str) -> QASample:
    return QASample(qid=qid, video_id="v", question="q?", answer="a")


def test_row_issue_text():
    issue = RowIssue(source="val.csv", line=4, key="1_2", reason="bad answer")
    assert str(issue) == "val.csv:4 [1_2]: bad answer"
    assert str(RowIssue(source="a.jsonl", line=1, reason="x")) == "a.jsonl:1: x"
    with pytest.raises(ValidationError):
        RowIssue(source="a", line=0, reason="x")


def test_moment_sample_checks_and_clip_count():
    sample = MomentSample(
        qid="1",
        query="q",
        vid="v",
        duration=151,
        relevant_windows=[[2, 6]],
        relevant_clip_ids=[1, 2],
        saliency_scores=[[0, 4, 2], [1, 1, 1]],
    )
    assert sample.num_clips == 76 and sample.relevant_windows == ((2.0, 6.0),)
    for bad in (
        {"relevant_clip_ids": [1], "saliency_scores": []},
        {"relevant_clip_ids": [1], "saliency_scores": [[5, 0, 0]]},
        {"relevant_clip_ids": [1], "saliency_scores": [[1, 1]]},
        {"relevant_windows": [[6, 2]]},
        {"relevant_clip_ids": [-1], "saliency_scores": [[1, 1, 1]]},
        {"duration": 0},
    ):
        with pytest.raises(ValidationError):
            MomentSample(**{"qid": "1", "query": "q", "vid": "v", "duration": 10, **bad})


def test_quality_sample_rejects_nan_and_negative_std():
    assert QualitySample(video_id="a", mos=3.5).std is None
    with pytest.raises(ValidationError):
        QualitySample(video_id="a", mos=float("nan"))
    with pytest.raises(ValidationError):
        QualitySample(video_id="a", mos=3, std=-0.1)


def test_benchmark_accounting_and_ids(tmp_path):
    issue = RowIssue(source="f", line=3, reason="x")
    bench = Benchmark[QASample](
        name="t", split="val", samples=[_qa("a"), _qa("b")], issues=[issue], records=3
    )
    assert len(bench) == 2 and bench.ids == ["a", "b"] and bench.by_id()["b"].qid == "b"
    with pytest.raises(ValidationError, match="2 samples \\+ 0 issues != 3 records"):
        Benchmark[QASample](name="t", split="val", samples=[_qa("a"), _qa("b")], records=3)
    with pytest.raises(ValidationError, match="not unique"):
        Benchmark[QASample](name="t", split="val", samples=[_qa("a"), _qa("a")], records=2)
    quality = Benchmark[QualitySample](
        name="m", split="s", samples=[QualitySample(video_id="v1", mos=1)], records=1
    )
    assert quality.ids == ["v1"]


def test_missing_videos_checks_the_disk(tmp_path):
    present = tmp_path / "a.mp4"
    present.write_bytes(b"")
    videos = VideoIndex(
        entries={
            "a": VideoEntry(video_id="a", path=present),
            "b": VideoEntry(video_id="b", path=tmp_path / "b.mp4"),
            "c": VideoEntry(video_id="c", path=None),
        }
    )
    bench = Benchmark[QASample](name="t", split="s", samples=[], videos=videos, records=0)
    assert bench.missing_videos() == ["b", "c"]


@pytest.mark.parametrize(
    ("name", "file", "sample_type"),
    [
        ("nextqa-mc", "nextqa/val.csv", QASample),
        ("star", "star/STAR_val.json", QASample),
        ("qvhighlights", "qvhighlights/highlight_val_release.jsonl", MomentSample),
        ("mos-csv", "mos/KoNViD_1k_mos.csv", QualitySample),
    ],
)
def test_benchmark_json_round_trip(fixtures, name, file, sample_type):
    from videoqa.data import load_dataset

    bench = load_dataset(name, fixtures / file, video_root="videos")
    again = Benchmark[sample_type].model_validate_json(bench.model_dump_json())
    assert again == bench and again.issues == bench.issues
