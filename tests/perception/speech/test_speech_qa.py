"""Speech questions: recognized by rules, answered from the transcript or subtitles
(multiple choice, "when" with the spoken span), fused into visual answers, and reached
through the router, the API and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from videoqa.cli.main import app
from videoqa.pipelines.ask import AskRun
from videoqa.pipelines.router import QuestionRouter
from videoqa.pipelines.schema import AskResult, ModelInfo
from videoqa.pipelines.speech import SpeechQA, lexical_overlap, recognize_speech_question
from videoqa.video.reader import probe
from videoqa.video.samples import sample_video
from videoqa.video.types import FrameBatch


@pytest.mark.parametrize(
    ("question", "speech", "when"),
    [
        ("when does she mention the deadline?", True, True),
        ("what does he say the budget is?", True, False),
        ("what do they talk about at the start?", True, False),
        ("what did the announcer tell us?", True, False),
        ("what are the people doing?", False, False),
        ("is the video blurry?", False, False),
        ("when does the man fall?", False, True),
        ("what is the bright object in the sky?", False, False),
    ],
)
def test_speech_questions_by_rules(question, speech, when):
    intent = recognize_speech_question(question)
    assert intent.is_speech is speech and intent.when is when
    assert intent.method == "rules"


def test_lexical_overlap_golden():
    assert lexical_overlap("a laptop", "Please bring your laptop.") == 1.0
    assert lexical_overlap("the old castle", "we climb to Old Castle") == 1.0
    assert lexical_overlap("ten thousand dollars", "fifty thousand dollars") == pytest.approx(2 / 3)
    assert lexical_overlap("the", "the") == 0.0


@pytest.fixture(scope="module")
def qa(transcriber) -> SpeechQA:
    return SpeechQA(transcriber)


def test_multiple_choice_and_when_from_the_transcript(qa, narrated, transcript):
    run = qa.answer(
        narrated.path,
        "what does he say people should bring to the meeting?",
        ["an umbrella", "a laptop", "a sandwich"],
        transcript=transcript,
    )
    result = run.result
    assert result.route == "speech" and result.pretrained and not result.open_ended
    assert result.answer == "a laptop" and result.probabilities[1] > 0.5
    assert sum(result.probabilities) == pytest.approx(1.0)
    top = result.evidence[0]
    said = narrated.sentences[1]
    assert top.modality == "speech" and top.frame_index is None
    assert abs(top.start - said.start) <= 0.5 and abs(top.end - said.end) <= 0.5
    assert "laptop" in [w.lower() for w in top.words]
    when = qa.answer(narrated.path, "when does he mention the deadline?", transcript=transcript)
    r = when.result
    first = narrated.sentences[0]
    assert r.open_ended and "deadline" in r.answer.lower()
    assert abs(r.evidence[0].start - first.start) <= 0.5
    assert abs(r.evidence[0].end - first.end) <= 0.5
    assert r.explanation.startswith("said at ")
    assert len(when.frames) == 0 and when.grid_image is None


def _visual_run(video, question, choices, probabilities):
    info = probe(video)
    result = AskResult(
        question=question,
        answer=choices[0],
        answer_index=0,
        choices=list(choices),
        probabilities=list(probabilities),
        open_ended=False,
        evidence=[],
        sampled_times=[1.0],
        video=info,
        model=ModelInfo(name="fake", arch="fake", pretrained=False),
        pretrained=False,
        sampler="uniform",
    )
    frames = FrameBatch(np.zeros((0, 1, 1, 3), np.uint8), np.zeros(0), np.zeros(0, np.int64))
    return AskRun(result=result, frames=frames, grid_image=None)


def test_router_sends_speech_questions_to_the_transcript_and_fuses_the_others(qa, narrated):
    def no_visual():
        raise AssertionError("a speech question must not load the visual model")

    router = QuestionRouter(no_visual, speech=qa)
    run = router(narrated.path, "when does he mention the laptop?")
    assert run.result.route == "speech" and "laptop" in run.result.answer.lower()

    calls = []

    def visual(video, question, choices):
        calls.append(question)
        return _visual_run(video, question, choices, [0.5, 0.5])

    fused = QuestionRouter(lambda: visual, speech=qa)(
        narrated.path, "who presents the new design for the website?", ["Maria", "John"]
    )
    assert calls and fused.result.route == "visual"
    assert fused.result.answer == "Maria" and fused.result.probabilities[0] > 0.5
    modalities = {e.modality for e in fused.result.evidence}
    assert modalities == {"speech"}  # the fake visual path gave no frames
    assert any("speech weight" in f for e in fused.result.evidence for f in e.facts)
    visual_only = QuestionRouter(lambda: visual, route="visual", speech=qa)(
        narrated.path, "who presents the new design for the website?", ["Maria", "John"]
    )
    assert visual_only.result.probabilities == [0.5, 0.5]


def test_no_speech_falls_back_or_is_uncertain(qa, speech_home):
    bikes = sample_video("bikes")  # no audio track
    visual = lambda: lambda v, q, c: _visual_run(v, q, c, [0.7, 0.3])  # noqa: E731
    run = QuestionRouter(visual, speech=qa)(bikes, "what does he say?", ["yes", "no"])
    assert run.result.route == "visual"
    assert any("no audio track" in w for w in run.result.warnings)
    forced = QuestionRouter(visual, route="speech", speech=qa)(
        bikes, "what does he say?", ["yes", "no"]
    )
    assert forced.result.route == "speech" and forced.result.uncertain
    assert "no audio track" in forced.result.uncertain_reason
    assert forced.result.probabilities == [0.5, 0.5]


def test_subtitles_answer_instead_of_the_audio(qa, tmp_path):
    subs = tmp_path / "show.srt"
    subs.write_text(
        "1\n00:00:01,000 --> 00:00:03,000\nI lost my keys at the station.\n\n"
        "2\n00:00:05,000 --> 00:00:07,500\nThe dog is sleeping on the sofa.\n"
    )
    router = QuestionRouter(lambda: None, speech=qa, subtitles=subs)
    run = router(
        sample_video("bikes"), "what did she say she lost?", ["her keys", "her phone", "the dog"]
    )
    assert run.result.route == "speech" and run.result.answer == "her keys"
    assert run.result.model.name.startswith("subtitles")
    top = run.result.evidence[0]
    assert (top.start, top.end) == (1.0, 3.0) and top.words[:2] == ["I", "lost"]


def test_cli_transcribe_and_ask(narrated, tmp_path, speech_home):
    runner = CliRunner()
    srt = tmp_path / "out.srt"
    out = runner.invoke(app, ["transcribe", narrated.path, "--json", "--srt", str(srt)])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert len(data["segments"]) >= 1 and data["segments"][0]["words"][0]["start"] < 1.6
    assert "deadline" in srt.read_text().lower()
    again = runner.invoke(app, ["transcribe", narrated.path, "--srt", str(srt)])
    assert again.exit_code == 2 and "--overwrite" in again.stderr
    asked = runner.invoke(
        app, ["ask", narrated.path, "when does he mention the website?", "--json"]
    )
    assert asked.exit_code == 0, asked.output
    result = json.loads(asked.stdout)
    assert result["route"] == "speech" and result["evidence"][0]["modality"] == "speech"
    third = narrated.sentences[2]
    assert abs(result["evidence"][0]["start"] - third.start) <= 0.5
    missing = runner.invoke(
        app, ["ask", narrated.path, "what?", "--subtitles", str(tmp_path / "no.srt")]
    )
    assert missing.exit_code == 2 and "not found" in missing.stderr


def test_api_takes_subtitles(tmp_path, speech_home):
    from videoqa.api import VideoQA

    subs = tmp_path / "show.vtt"
    subs.write_text("WEBVTT\n\n00:00:02.000 --> 00:00:04.000\nThe meeting moved to Tuesday.\n")
    qa = VideoQA(answerer=None, route="auto")
    result = qa.ask(
        sample_video("bikes"),
        "what day does he say the meeting is?",
        ["Tuesday", "Sunday"],
        subtitles=subs,
    )
    assert result.route == "speech" and result.answer == "Tuesday"
    assert result.evidence[0].start == 2.0 and result.evidence[0].end == 4.0


def test_embedding_router_catches_paraphrases(qa):
    reason = recognize_speech_question(
        "what reason does he give in his speech?", use_embeddings=True
    )
    assert reason.method == "embedding" and reason.is_speech and reason.score > 0.5
    holding = recognize_speech_question("what is the man holding?", use_embeddings=True)
    assert not holding.is_speech and holding.score < 0.5


def test_cli_fuses_speech_into_a_visual_answer(narrated, speech_home):
    args = ["ask", narrated.path, "who presents the new design?", "--choices", "Maria", "John"]
    out = CliRunner().invoke(
        app, [*args, "--model", "tiny", "--frames", "4", "--top-k", "2", "--json"]
    )
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["route"] == "visual" and not result["pretrained"]
    kinds = [e["modality"] for e in result["evidence"]]
    assert kinds.count("visual") == 2 and "speech" in kinds
    speech = next(e for e in result["evidence"] if e["modality"] == "speech")
    assert "Maria" in speech["words"] and speech["start"] < speech["end"]
