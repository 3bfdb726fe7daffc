"""A narrated clip built once per session: three sentences spoken by espeak-ng at known
times over the real ``bikes`` sample video (looped to 20 s); tests skip without
espeak-ng. Caches, espeak-ng's pulse files and onnxruntime's telemetry stay in a
temporary folder (``XDG_*``, ``VIDEOQA_CACHE_DIR``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from videoqa.perception.speech.narration import (
    NarratedClip,
    SentenceSpec,
    build_narrated_clip,
    espeak_available,
)
from videoqa.video.samples import sample_video

SENTENCES = (
    (1.0, "The project deadline is next Friday at noon."),
    (7.0, "Please bring your laptop to the meeting tomorrow."),
    (13.0, "Maria will present the new design for the website."),
)


@pytest.fixture(scope="session")
def speech_home(tmp_path_factory) -> Path:
    """A temporary home for every cache the speech tools write."""
    home = tmp_path_factory.mktemp("speech-home")
    saved = {
        k: os.environ.get(k)
        for k in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "VIDEOQA_CACHE_DIR")
    }
    for key, sub in (
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_RUNTIME_DIR", "run"),
        ("VIDEOQA_CACHE_DIR", "videoqa"),
    ):
        (home / sub).mkdir()
        os.environ[key] = str(home / sub)
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def narrated(speech_home, tmp_path_factory) -> NarratedClip:
    """The narrated clip (``.path``) and its exact spoken timeline."""
    if not espeak_available():
        pytest.skip("espeak-ng is not installed")
    out = tmp_path_factory.mktemp("narrated") / "meeting.mp4"
    specs = [SentenceSpec(start=s, text=t) for s, t in SENTENCES]
    return build_narrated_clip(specs, sample_video("bikes"), out, duration=20.0)


@pytest.fixture(scope="session")
def transcriber(speech_home):
    from videoqa.perception.speech import Transcriber, TranscriptCache

    return Transcriber(cpu_threads=1, cache=TranscriptCache(speech_home / "transcripts"))


@pytest.fixture(scope="session")
def transcript(narrated, transcriber):
    return transcriber.transcribe(narrated.path)
