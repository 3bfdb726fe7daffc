"""Whisper tiny.en on narrated speech: the words and their times, the cache, and the
empty transcripts of a video without audio or without speech."""

from __future__ import annotations

import difflib
import re

import pytest

from videoqa.data.subtitles import parse_subtitles
from videoqa.errors import ModelUnavailableError, VideoNotFoundError
from videoqa.perception.speech import (
    Segment,
    Transcriber,
    Transcript,
    TranscriptCache,
    Word,
    text_in_window,
)
from videoqa.perception.speech.narration import SentenceSpec, build_narrated_clip
from videoqa.video.samples import sample_video


def _norm(word: str) -> str:
    return re.sub(r"[^a-z0-9']", "", word.lower())


def _matched(truth, hyp):
    """Pairs (truth word, recognized word) that the alignment matches exactly."""
    a = [_norm(w.word) for w in truth]
    b = [_norm(w.word) for w in hyp]
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return [
        (truth[block.a + k], hyp[block.b + k])
        for block in matcher.get_matching_blocks()
        for k in range(block.size)
    ]


def test_words_and_times_of_narrated_speech(narrated, transcript):
    assert transcript.source == "whisper" and transcript.note is None
    assert transcript.duration == pytest.approx(20.0, abs=0.1)
    text = transcript.text.lower()
    for word in ("deadline", "friday", "noon", "laptop", "tomorrow", "maria", "website"):
        assert word in text
    pairs = _matched(narrated.words, transcript.words)
    assert len(pairs) >= 0.75 * len(narrated.words)  # tiny.en mishears "the" as "a" at times
    for said, heard in pairs:
        assert abs(heard.start - said.start) <= 0.5, (said, heard)
        assert abs(heard.end - said.end) <= 0.5, (said, heard)
    units = transcript.sentences()
    assert len(units) == 3
    for unit, sentence in zip(units, narrated.sentences, strict=True):
        assert abs(unit.start - sentence.start) <= 0.5 and abs(unit.end - sentence.end) <= 0.5
    assert len(transcript.speech) == 3


def test_transcripts_are_cached_by_content_and_model(narrated, transcript, speech_home, tmp_path):
    cache = TranscriptCache(speech_home / "transcripts")
    again = Transcriber(cpu_threads=1, cache=cache)
    second = again.transcribe(narrated.path)
    assert again.last_from_cache and again._model is None  # nothing was loaded
    assert second.segments == transcript.segments and second.compute_seconds == 0.0
    key = cache.key(narrated.path, again.name, again.options)
    assert (cache.root / key / "transcript.json").is_file()
    assert not list(cache.root.glob("*.tmp"))
    copy = tmp_path / "renamed.mp4"
    copy.write_bytes(open(narrated.path, "rb").read())
    assert cache.key(copy, again.name, again.options) == key  # the content is the key
    other = {**again.options, "beam_size": 1}
    assert cache.key(copy, again.name, other) != key
    with open(copy, "ab") as handle:
        handle.write(b"\0")
    assert cache.key(copy, again.name, again.options) != key
    (cache.root / key / "transcript.json").write_text("{broken")
    assert cache.get(key) is None  # an unreadable entry is a miss, not an error


def test_no_audio_track_and_silence_give_empty_transcripts(speech_home, tmp_path):
    tr = Transcriber(cpu_threads=1, cache=False)
    none = tr.transcribe(sample_video("bikes"))
    assert none.empty and none.segments == [] and "no audio track" in none.note
    silent = build_narrated_clip([], sample_video("bikes"), tmp_path / "silent.mp4", duration=4.0)
    quiet = tr.transcribe(silent.path)
    assert quiet.empty and quiet.duration == pytest.approx(4.0, abs=0.1)
    assert "no speech" in quiet.note
    with pytest.raises(VideoNotFoundError):
        tr.transcribe(tmp_path / "missing.mp4")


def test_a_model_that_cannot_load_is_a_typed_error(tmp_path, narrated):
    (tmp_path / "model").mkdir()
    tr = Transcriber(tmp_path / "model", cache=False)
    with pytest.raises(ModelUnavailableError):
        tr.transcribe(narrated.path)


def _hand_made() -> Transcript:
    words = [
        Word(word="Hello", start=0.5, end=0.9),
        Word(word="there.", start=1.0, end=1.4),
        Word(word="The", start=3.0, end=3.2),
        Word(word="budget", start=3.3, end=3.8),
        Word(word="is", start=3.9, end=4.0),
        Word(word="$50", start=4.1, end=4.5),
        Word(word=",000", start=4.5, end=4.9),
        Word(word="next", start=7.0, end=7.3),
        Word(word="week", start=7.4, end=7.8),
    ]
    segs = [
        Segment(start=0.5, end=4.9, text="Hello there. The budget is $50,000", words=words[:7]),
        Segment(start=7.0, end=7.8, text="next week", words=words[7:]),
    ]
    return Transcript(source="whisper", model="test", segments=segs)


def test_sentences_window_text_and_srt_golden():
    t = _hand_made()
    units = t.sentences()
    assert [(u.start, u.end, u.text) for u in units] == [
        (0.5, 1.4, "Hello there."),
        (3.0, 4.9, "The budget is $50,000"),  # a 2.1 s pause ends the unit
        (7.0, 7.8, "next week"),
    ]
    stretched = t.model_copy(update={"speech": [(0.4, 4.95), (6.9, 7.9)]})
    assert [u.text for u in stretched.sentences()] == [
        "Hello there.",
        "The budget is $50,000",
        "next week",
    ]
    assert text_in_window(t, 3.5, 4.2) == "budget is $50"
    assert text_in_window(t, 6.0) == "next week"
    assert text_in_window(t, 5.0, 6.0) == ""
    assert text_in_window(t) == "Hello there. The budget is $50,000 next week"
    with pytest.raises(ValueError):
        text_in_window(t, 2.0, 1.0)
    cues = parse_subtitles(t.to_srt(), "srt")
    assert [(c.start, c.end, c.text) for c in cues] == [
        (0.5, 4.9, "Hello there. The budget is $50,000"),
        (7.0, 7.8, "next week"),
    ]


def test_narration_refuses_overlapping_sentences(speech_home, tmp_path):
    from videoqa.errors import UsageError
    from videoqa.perception.speech.narration import espeak_available, narrate_words

    if not espeak_available():
        pytest.skip("espeak-ng is not installed")
    specs = [
        SentenceSpec(start=0.0, text="one two three four"),
        SentenceSpec(start=0.2, text="five"),
    ]
    with pytest.raises(UsageError, match="starts before"):
        narrate_words(specs)
    _audio, timeline = narrate_words(specs, min_pause=0.5)
    assert timeline[1].start == pytest.approx(timeline[0].end + 0.5, abs=1e-3)


def test_tvqa_subtitles_become_a_transcript_and_a_text_stream(tmp_path):
    from pathlib import Path

    from videoqa.data import load_dataset
    from videoqa.perception.speech import speech_text, transcript_from_cues

    data = Path(__file__).resolve().parents[2] / "fixtures" / "data" / "tvqa"
    folder = tmp_path / "subs"
    folder.mkdir()
    srt = (data / "subtitles" / "met_s06e22_seg01_clip_02.srt").read_text()
    vtt = "WEBVTT\n\n" + re.sub(r"(\d),(\d{3})", r"\1.\2", srt)  # the same cues as WebVTT
    (folder / "met_s06e22_seg01_clip_02.vtt").write_text(vtt)
    bench = load_dataset("tvqa", data / "tvqa_val.jsonl", subtitles=folder)
    cues = bench.samples[0].extras["subtitles"]
    assert [c["start"] for c in cues] == [1.21, 4.0]
    transcript = transcript_from_cues(cues, "tvqa")
    assert transcript.source == "subtitles" and transcript.duration == 8.49
    assert [u.text for u in transcript.sentences()] == [c["text"] for c in cues]
    assert text_in_window(transcript, 5.0, 6.0) == cues[1]["text"]
    assert (
        speech_text(
            "unused.mp4", 0.0, 2.0, subtitles=data / "subtitles" / "met_s06e22_seg01_clip_02.srt"
        )
        == cues[0]["text"]
    )
