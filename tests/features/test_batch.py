"""videoqa.batch: per-item failures recorded once per item, job failures stop the job."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from videoqa.batch import (
    ErrorLog,
    ItemFailure,
    default_file_timeout,
    failure_of,
    file_fingerprint,
    is_job_failure,
    resolve_timeout,
    run_item,
)
from videoqa.errors import (
    CorruptVideoError,
    ModelUnavailableError,
    UsageError,
    VideoNotFoundError,
)


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_item_returns_the_value_or_a_typed_failure(tmp_path: Path) -> None:
    assert run_item("a", lambda: 3) == 3
    video = tmp_path / "v.mp4"
    video.write_bytes(b"12345")

    def broken() -> None:
        raise IndexError("list index out of range")

    failure = run_item("a", broken, path=video)
    assert isinstance(failure, ItemFailure)
    assert (failure.video_id, failure.error) == ("a", "IndexError")
    assert failure.reason == "IndexError: list index out of range"
    assert failure.file == file_fingerprint(video) and failure.file.startswith("5:")


@pytest.mark.parametrize(
    "exc",
    [
        ModelUnavailableError("no such model"),
        OSError(errno.ENOSPC, "No space left on device"),
        OSError(errno.EROFS, "Read-only file system"),
        KeyboardInterrupt(),
    ],
)
def test_job_failures_propagate(exc: BaseException) -> None:
    assert is_job_failure(exc)

    def work() -> None:
        raise exc

    with pytest.raises(type(exc)):
        run_item("a", work)


def test_video_errors_that_are_oserrors_are_item_failures() -> None:
    missing = VideoNotFoundError("video not found: x.mp4", "x.mp4")
    assert isinstance(missing, OSError) and not is_job_failure(missing)
    assert not is_job_failure(MemoryError()) and not is_job_failure(ValueError("shape"))


def test_a_retried_item_replaces_its_line_and_a_success_removes_it(tmp_path: Path) -> None:
    log = ErrorLog(tmp_path / "errors.jsonl")
    log.record(failure_of("a", CorruptVideoError("bad a1")))
    log.record(failure_of("b", CorruptVideoError("bad b")))
    log.record(failure_of("a", ValueError("bad a2")))  # a retry of "a"
    assert [row.reason for row in log.entries().values()] == [
        "ValueError: bad a2",
        "CorruptVideoError: bad b",
    ]
    log.compact()
    assert [row["video_id"] for row in _lines(log.path)] == ["a", "b"]
    log.compact(resolved={"a"})
    assert [row["video_id"] for row in _lines(log.path)] == ["b"]
    log.compact(resolved={"b"})
    assert not log.path.exists()
    log.compact()  # no file: nothing to do


def test_a_cut_last_line_is_ignored(tmp_path: Path) -> None:
    log = ErrorLog(tmp_path / "errors.jsonl")
    log.record(failure_of("a", CorruptVideoError("bad")))
    with open(log.path, "a") as handle:
        handle.write('{"video_id": "b", "rea')  # killed in the middle of a write
    assert list(log.entries()) == ["a"]
    log.compact()
    assert [row["video_id"] for row in _lines(log.path)] == ["a"]


def test_known_bad_only_for_video_errors_on_an_unchanged_file(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"broken")
    log = ErrorLog(tmp_path / "errors.jsonl")
    log.record(failure_of("v", CorruptVideoError("bad"), video))
    log.record(failure_of("m", RuntimeError("model crashed"), video))
    log.record(failure_of("gone", VideoNotFoundError("missing"), tmp_path / "gone.mp4"))
    assert log.known_bad("v", video) is not None
    assert log.known_bad("m", video) is None  # not a video error: worth a retry
    assert log.known_bad("gone", tmp_path / "gone.mp4") is not None  # still missing
    (tmp_path / "gone.mp4").write_bytes(b"now here")
    assert log.known_bad("gone", tmp_path / "gone.mp4") is None
    video.write_bytes(b"repaired, longer")
    assert log.known_bad("v", video) is None
    todo, skipped = log.partition(["v", "gone", "new"], lambda vid: (vid, tmp_path / f"{vid}.mp4"))
    assert todo == ["v", "gone", "new"] and skipped == []


def test_time_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIDEOQA_FILE_TIMEOUT", raising=False)
    assert default_file_timeout() == 600.0
    monkeypatch.setenv("VIDEOQA_FILE_TIMEOUT", "0")
    assert default_file_timeout() is None
    monkeypatch.setenv("VIDEOQA_FILE_TIMEOUT", "2.5")
    assert default_file_timeout() == 2.5 and resolve_timeout(None) == 2.5
    assert resolve_timeout(0) is None and resolve_timeout(7) == 7.0
    for bad in ("-1", "inf", "soon"):
        monkeypatch.setenv("VIDEOQA_FILE_TIMEOUT", bad)
        with pytest.raises(UsageError):
            default_file_timeout()
    with pytest.raises(UsageError):
        resolve_timeout(-3)


def test_teach_pixels_records_a_failing_video_and_goes_on(tmp_path: Path) -> None:
    """A pixels teacher that fails on one video (or a video without a file): the other
    videos are written, the failures are in the summary and in the error log."""
    from types import SimpleNamespace

    import numpy as np

    from videoqa.cli.teach import TeachSummary, _Failures, errors_path, teach_pixels

    class Teacher:
        def answer_probs(self, frames, question, choices):  # noqa: ANN001
            if question == "boom":
                raise RuntimeError("teacher failed")
            return np.full((len(frames.frames), len(choices)), 1 / len(choices), np.float32)

    class Writer:
        def __init__(self) -> None:
            self.rows: list = []

        def write_all(self, records) -> int:  # noqa: ANN001
            records = list(records)
            self.rows += records
            return len(records)

    class Store:
        def __contains__(self, vid: object) -> bool:
            return True

        def get(self, vid: str) -> SimpleNamespace:
            return SimpleNamespace(times=np.array([0.0, 0.1]))

    from tests.video.conftest import make_video

    good = make_video(tmp_path / "good.mp4", 5).path
    videos = SimpleNamespace(
        entries={"good": SimpleNamespace(path=good), "bad": SimpleNamespace(path=good),
                 "nofile": SimpleNamespace(path=None)}  # fmt: skip
    )

    def sample(qid: str, vid: str, question: str) -> SimpleNamespace:
        return SimpleNamespace(qid=qid, video_id=vid, question=question, choices=["a", "b"],
                               answer=0)  # fmt: skip

    samples = [sample("q1", "good", "what?"), sample("q2", "bad", "boom"),
               sample("q3", "nofile", "what?")]  # fmt: skip
    summary = TeachSummary(questions=3, out=str(tmp_path / "t.h5"))
    log = ErrorLog(errors_path(tmp_path / "t.h5"))
    writer = Writer()
    teach_pixels(Teacher(), samples, Store(), videos, writer, summary, advance=lambda n: None,
                 failures=_Failures(summary, log))  # fmt: skip
    assert [r.qid for r in writer.rows] == ["q1"] and summary.written == 1
    assert {vid: row.error for vid, row in log.entries().items()} == {
        "bad": "RuntimeError",
        "nofile": "VideoError",
    }
    assert log.path.name == "t.errors.jsonl" and len(summary.bad_videos) == 2
