"""QVHighlights loader on a fixture file."""

from __future__ import annotations

from videoqa.data import load_dataset


def test_qvhighlights_fixture(fixtures):
    bench = load_dataset("qvhighlights", fixtures / "qvhighlights" / "highlight_val_release.jsonl")
    assert bench.ids == ["5071", "9001", "9004"] and bench.records == 5
    first = bench.samples[0]
    assert first.vid == "NUsG9BgSes0_60.0_210.0" and first.duration == 150.0
    assert first.relevant_windows == ((118.0, 124.0),)
    assert first.relevant_clip_ids == (59, 60, 61)
    assert first.saliency_scores == ((3, 3, 3), (3, 4, 3), (3, 1, 3))
    unlabelled = bench.samples[1]
    assert unlabelled.relevant_windows == () and unlabelled.num_clips == 63
    assert [(i.line, i.key) for i in bench.issues] == [(3, "9002"), (5, "9003")]
    assert "1 saliency scores for 2 relevant clips" in bench.issues[0].reason
    assert bench.issues[1].reason == "a clip id is beyond the 5 clips of the video"
    assert [(w.line, w.key) for w in bench.warnings] == [(6, "9004")]
    assert bench.videos["NUsG9BgSes0_60.0_210.0"].duration == 150.0
    assert bench.videos["abcDEF_0.0_126.0"].duration == 126.0
