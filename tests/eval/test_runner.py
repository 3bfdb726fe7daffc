"""The model-run loop with a scripted answerer: lines written, resume, errors, repairs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from videoqa.data import load_dataset
from videoqa.data.schema import Benchmark
from videoqa.errors import CorruptVideoError, UsageError
from videoqa.eval import evaluate, run_predictions
from videoqa.eval.runner import read_done
from videoqa.pipelines.schema import AskResult, Evidence, ModelInfo
from videoqa.video.types import VideoInfo


@dataclass
class _Run:
    result: AskResult


class ScriptedAnswerer:
    """Picks the choice whose text is longest (open-ended: ``"dog"``); fails on videos
    whose name contains ``broken``; records every call."""

    def __init__(self, name: str = "scripted") -> None:
        self.name = name
        self.calls: list[tuple[str, str, list[str] | None]] = []

    def __call__(self, video, question: str, choices: Sequence[str] | None = None) -> _Run:
        self.calls.append((Path(video).name, question, list(choices) if choices else None))
        if "broken" in str(video):
            raise CorruptVideoError(f"decoding failed: {Path(video).name}")
        options = list(choices) if choices else ["dog", "cat"]
        best = max(range(len(options)), key=lambda i: len(options[i])) if choices else 0
        probs = [1.0 / len(options)] * len(options)
        info = VideoInfo(
            path=str(video), duration=4.0, fps=8.0, num_frames=32, width=64, height=48, codec="h264"
        )
        result = AskResult(
            question=question,
            answer=options[best],
            answer_index=best,
            choices=options,
            probabilities=probs,
            open_ended=choices is None,
            evidence=[Evidence(time=2.5, score=0.7), Evidence(time=0.5, score=0.3)],
            sampled_times=[0.5, 2.5],
            video=info,
            model=ModelInfo(name=self.name, arch="Scripted", pretrained=False),
            pretrained=False,
            sampler="uniform",
        )
        return _Run(result)


def _bench(fixtures: Path, root: Path) -> Benchmark:
    return load_dataset("nextqa-mc", fixtures / "model_run" / "val.csv", video_root=root)


def test_writes_lines_resumes_and_scores(tmp_path, fixtures):
    bench = _bench(fixtures, tmp_path)
    out = tmp_path / "preds.jsonl"
    answerer = ScriptedAnswerer()
    steps: list[tuple[int, int]] = []
    summary = run_predictions(
        bench, answerer, out, model="scripted", on_step=lambda d, t: steps.append((d, t))
    )
    assert (summary.total, summary.skipped, summary.written) == (4, 0, 3)
    assert [str(e) for e in summary.errors] == ["broken_1 (broken): decoding failed: broken.mp4"]
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["qid"] for r in lines] == ["bikes_1", "bikes_2", "carphone_pristine_1"]
    first = lines[0]
    assert first["prediction"] == 0 and first["prediction_text"] == "riding bicycles"
    assert first["evidence"] == [{"time": 2.5, "score": 0.7}, {"time": 0.5, "score": 0.3}]
    assert first["model"] == "scripted" and first["pretrained"] is False
    # duplicate options are asked once; the answer maps back to the first index
    assert answerer.calls[2][2] == ["running", "swimming", "talking on a phone", "cooking"]
    assert lines[2]["prediction"] == 2
    report = evaluate(bench, out)
    assert (report.answered, report.missing, report.malformed) == (3, 1, 0)
    assert report.accuracy == 50.0  # bikes_1 (0) and carphone (2) right

    again = ScriptedAnswerer()
    summary2 = run_predictions(bench, again, out, model="scripted")
    assert (summary2.skipped, summary2.written, len(summary2.errors)) == (3, 0, 1)
    assert [c[0] for c in again.calls] == ["broken.mp4"]  # only the failed one is retried
    assert evaluate(bench, out) == report


def test_bad_video_is_not_retried_within_a_run(tmp_path, fixtures):
    bench = _bench(fixtures, tmp_path)
    rows = bench.samples[3]
    twice = bench.model_copy(update={"samples": [rows, rows.model_copy(update={"qid": "b2"})]})
    answerer = ScriptedAnswerer()
    summary = run_predictions(twice, answerer, tmp_path / "p.jsonl", model="scripted")
    assert len(summary.errors) == 2 and len(answerer.calls) == 1


def test_interrupted_last_line_is_repaired(tmp_path, fixtures):
    bench = _bench(fixtures, tmp_path)
    out = tmp_path / "p.jsonl"
    out.write_text('{"qid": "bikes_1", "prediction": 0, "model": "scripted"}\n{"qid": "bik')
    summary = run_predictions(bench, ScriptedAnswerer(), out, model="scripted")
    assert summary.repaired and (summary.skipped, summary.written) == (1, 2)
    report = evaluate(bench, out)
    assert report.malformed == 0 and report.answered == 3
    # a complete last line without its newline is kept
    out.write_text('{"qid": "bikes_1", "prediction": 0}')
    resume = read_done(out, "scripted")
    assert resume.done == {"bikes_1"} and not resume.repaired
    assert out.read_text().endswith("}\n")


def test_other_model_predictions_are_refused(tmp_path, fixtures):
    out = tmp_path / "p.jsonl"
    out.write_text('{"qid": "bikes_1", "prediction": 0, "model": "other"}\n')
    with pytest.raises(UsageError, match="model 'other'"):
        run_predictions(_bench(fixtures, tmp_path), ScriptedAnswerer(), out, model="scripted")


def test_open_ended_and_non_qa(tmp_path, fixtures):
    bench = load_dataset("msrvtt-qa", fixtures / "msrvtt_qa" / "test_qa.json", video_root=tmp_path)
    out = tmp_path / "oe.jsonl"
    summary = run_predictions(bench, ScriptedAnswerer(), out, model="scripted")
    assert summary.written == 3
    assert [json.loads(x)["prediction"] for x in out.read_text().splitlines()] == ["dog"] * 3
    mos = load_dataset("mos-csv", fixtures / "mos" / "mos.csv")
    with pytest.raises(UsageError, match="answers questions"):
        run_predictions(mos, ScriptedAnswerer(), tmp_path / "m.jsonl", model="scripted")


def test_settings_are_recorded_and_checked(tmp_path, fixtures):
    bench = _bench(fixtures, tmp_path)
    out = tmp_path / "p.jsonl"
    settings = {"model": "scripted", "frames": 4, "sampler": "uniform"}
    run_predictions(bench, ScriptedAnswerer(), out, model="scripted", settings=settings)
    first = json.loads(out.read_text().splitlines()[0])
    assert first == {"videoqa_settings": settings}
    again = run_predictions(bench, ScriptedAnswerer(), out, model="scripted", settings=settings)
    assert (again.skipped, again.written) == (3, 0)
    assert out.read_text().count("videoqa_settings") == 1
    other = {**settings, "frames": 2, "sampler": "fps"}
    with pytest.raises(UsageError) as err:
        run_predictions(bench, ScriptedAnswerer(), out, model="scripted", settings=other)
    assert str(err.value) == (
        f'{out} holds predictions made with frames=4, sampler="uniform", not frames=2, '
        'sampler="fps"; choose another --out (or delete the file) to run with these settings'
    )
    legacy = tmp_path / "legacy.jsonl"
    legacy.write_text('{"qid": "bikes_1", "prediction": 0, "model": "scripted"}\n')
    with pytest.raises(UsageError, match="does not say which settings made them"):
        run_predictions(bench, ScriptedAnswerer(), legacy, model="scripted", settings=settings)
    assert evaluate(bench, out).answered == 3  # the settings line is not a prediction


class LookingAhead(ScriptedAnswerer):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[list[tuple[str, list[str]]]] = []

    def lookahead(self, upcoming) -> None:
        self.seen.append([(Path(v).name, [s.qid for s in qs]) for v, qs in upcoming])


def test_lookahead_sees_the_current_and_next_videos(tmp_path, fixtures):
    bench = _bench(fixtures, tmp_path)
    answerer = LookingAhead()
    run_predictions(bench, answerer, tmp_path / "p.jsonl", model="scripted")
    assert answerer.seen == [
        [
            ("bikes.mp4", ["bikes_1", "bikes_2"]),
            ("carphone_pristine.mp4", ["carphone_pristine_1"]),
            ("broken.mp4", ["broken_1"]),
        ],
        [("carphone_pristine.mp4", ["carphone_pristine_1"]), ("broken.mp4", ["broken_1"])],
        [("broken.mp4", ["broken_1"])],
    ]
