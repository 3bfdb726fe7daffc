from __future__ import annotations

import math

import numpy as np
import pytest

from videoqa.encoders import load_encoder
from videoqa.errors import UsageError, VideoNotFoundError
from videoqa.pipelines.ask import AskConfig, AskPipeline, decode_size
from videoqa.video.reader import VideoReader
from videoqa.video.types import VideoInfo


def test_localizes_the_frames_the_question_is_about(red_blue_video, colour_encoder):
    pipe = AskPipeline(colour_encoder, AskConfig(frames=8, top_k=3))
    result = pipe(red_blue_video, "what colour is the blue square?", ["red", "blue"]).result
    assert result.answer == "blue"
    assert result.answer_index == 1
    # every localized frame lies in the blue half (2–4 s)
    assert all(e.time >= 2.0 for e in result.evidence)
    assert all(e.supports == "blue" for e in result.evidence)
    assert len(result.evidence) == 3


def test_question_about_red_localizes_the_red_half(red_blue_video, colour_encoder):
    pipe = AskPipeline(colour_encoder, AskConfig(frames=8, top_k=2))
    result = pipe(red_blue_video, "when is it red?", ["red", "green"]).result
    assert all(e.time < 2.0 for e in result.evidence)
    assert result.answer == "red"


def test_probabilities_and_evidence_invariants(red_blue_video, colour_encoder):
    cfg = AskConfig(frames=8, top_k=4)
    result = AskPipeline(colour_encoder, cfg)(
        red_blue_video, "is it blue?", ["red", "green", "blue"]
    ).result
    assert math.isclose(sum(result.probabilities), 1.0, rel_tol=1e-6)
    assert result.choices == ["red", "green", "blue"]
    scores = [e.score for e in result.evidence]
    assert scores == sorted(scores, reverse=True)
    assert len(result.sampled_times) == 8
    for e in result.evidence:
        assert 0.0 <= e.time < result.video.duration
        assert e.time in result.sampled_times
        assert math.isclose(sum(e.choice_probabilities), 1.0, rel_tol=1e-6)
    assert {"probe", "decode", "encode_frames", "localize", "answer", "total"} <= set(
        result.timings
    )
    assert result.pretrained is False


def test_open_ended_answers_from_the_vocabulary(red_blue_video, colour_encoder):
    vocab = ["red", "green", "blue", "purple"]
    pipe = AskPipeline(colour_encoder, AskConfig(frames=8, top_k=2, answer_top_k=3), vocab)
    result = pipe(red_blue_video, "which colour appears when it turns blue?").result
    assert result.open_ended
    assert result.answer == "blue"
    assert len(result.choices) == 3 and set(result.choices) <= set(vocab)
    assert result.probabilities == sorted(result.probabilities, reverse=True)
    assert sum(result.probabilities) <= 1.0 + 1e-6


def test_grid_view_maps_cells_to_times(red_blue_video, colour_encoder):
    run = AskPipeline(colour_encoder, AskConfig(frames=8, grid=2, grid_size=64))(
        red_blue_video, "blue?", ["red", "blue"]
    )
    grid = run.result.grid
    assert grid is not None and grid.grid == 2 and len(grid.cells) == 4
    times = [c.time for c in grid.cells]
    assert times == sorted(times)
    assert [(c.row, c.col) for c in grid.cells] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert run.grid_image is not None and run.grid_image.image.shape == (64, 64, 3)


def test_sampled_frames_equal_full_decode(bikes_video):
    encoder = load_encoder("tiny")
    run = AskPipeline(encoder, AskConfig(frames=6, top_k=2, max_side=4096))(
        bikes_video, "what is happening?", ["riding", "swimming"]
    )
    with VideoReader(bikes_video) as reader:
        full = reader.read_all()
    for frame, index in zip(run.frames.frames, run.frames.indices, strict=True):
        np.testing.assert_array_equal(frame, full.frames[index])


SAMPLE_SIZES = {
    "bikes": (640, 272),
    "bigbuckbunny": (1280, 720),
    "carphone_pristine": (176, 144),
    "carphone_distorted": (176, 144),
}


@pytest.mark.parametrize("name", sorted(SAMPLE_SIZES))
def test_tiny_model_on_every_real_sample_video(sample_videos, name):
    result = AskPipeline(load_encoder("tiny"), AskConfig(frames=8, top_k=3))(
        sample_videos[name], "what is happening?", ["riding bicycles", "a rabbit", "a phone call"]
    ).result
    assert result.answer in result.choices
    assert math.isclose(sum(result.probabilities), 1.0, rel_tol=1e-6)
    assert (result.video.width, result.video.height) == SAMPLE_SIZES[name]
    assert len(result.evidence) == 3
    assert all(0.0 <= e.time < result.video.duration for e in result.evidence)
    assert [e.score for e in result.evidence] == sorted(
        (e.score for e in result.evidence), reverse=True
    )
    assert not result.pretrained and not result.model.pretrained


@pytest.mark.parametrize(
    ("question", "choices"),
    [("   ", None), ("what?", ["only one"]), ("what?", ["a", "a"]), ("what?", ["a", " "])],
)
def test_bad_questions_are_usage_errors(red_blue_video, colour_encoder, question, choices):
    with pytest.raises(UsageError):
        AskPipeline(colour_encoder)(red_blue_video, question, choices)


def test_missing_video_is_typed(tmp_path, colour_encoder):
    with pytest.raises(VideoNotFoundError):
        AskPipeline(colour_encoder)(tmp_path / "nope.mp4", "what?", ["a", "b"])


def _info(width: int, height: int, rotation: int = 0) -> VideoInfo:
    return VideoInfo(
        path="x",
        duration=1,
        fps=25,
        num_frames=25,
        width=width,
        height=height,
        codec="h264",
        rotation=rotation,
    )


def test_decode_size_keeps_aspect_and_rotation():
    assert decode_size(_info(1280, 720), 640) == (640, 360)
    assert decode_size(_info(640, 272), 640) is None
    assert decode_size(_info(1280, 720, rotation=90), 640) == (360, 640)


def test_questions_about_one_video_decode_and_encode_it_once(red_blue_video, colour_encoder):
    calls = []
    original = colour_encoder.encode_images

    def counting(frames, batch_size=32):
        calls.append(len(frames))
        return original(frames, batch_size)

    colour_encoder.encode_images = counting
    pipe = AskPipeline(colour_encoder, AskConfig(frames=8, top_k=2))
    first = pipe(red_blue_video, "is it red?", ["red", "blue"]).result
    second = pipe(red_blue_video, "is it blue?", ["red", "blue"]).result
    assert calls == [8]
    assert "decode" in first.timings and "decode" not in second.timings
    assert first.answer == "red" and second.answer == "blue"
    uncached = AskPipeline(colour_encoder, AskConfig(frames=8, top_k=2), cache_size=0)
    uncached(red_blue_video, "red?", ["red", "blue"])
    uncached(red_blue_video, "red?", ["red", "blue"])
    assert calls == [8, 8, 8]


def test_visual_evidence_states_its_facts(red_blue_video, colour_encoder):
    result = AskPipeline(colour_encoder, AskConfig(frames=8, top_k=2))(
        red_blue_video, "is it blue?", ["red", "blue"]
    ).result
    first = result.evidence[0]
    assert first.facts[0].startswith(f"saliency {first.score:.3f}, rank 1 of 8")
    assert (
        first.facts[1]
        == f"alone, this frame favours 'blue' (p={max(first.choice_probabilities):.2f})"
    )
