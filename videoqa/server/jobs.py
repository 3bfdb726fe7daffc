"""A bounded job queue with a fixed number of worker threads: inference runs off the
event loop, at most ``workers`` jobs at once, at most ``queue`` more waiting; one more is
refused (:class:`~videoqa.server.errors.QueueFullError`, HTTP 429 with ``Retry-After``).

A job reports its progress as events (``queued``, ``running``, one ``stage`` per
pipeline stage as it starts, ``end``), which ``/v1/jobs/<id>/events`` streams. A
cancelled or timed-out job stops at its next stage boundary (the pipelines'
:func:`~videoqa.pipelines.ask.watch_stages` hook) and its video reading stops at the
next packet (:func:`~videoqa.video.reader.time_limit`); a finished job is kept
``ttl_s`` seconds for its client to fetch, then dropped.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from videoqa.pipelines.ask import AskRun, watch_stages
from videoqa.server.errors import (
    JobCancelledError,
    JobTimeoutError,
    NotFoundError,
    QueueFullError,
    error_body,
)
from videoqa.video.reader import time_limit


class JobStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass
class Job:
    """One question about one video.

    Attributes:
        job_id: its id in URLs.
        model: the served model name that answers.
        video_id: the stored video.
        question, choices: what is asked (``choices`` ``None``: open-ended).
        status: see :class:`JobStatus`.
        stage: the pipeline stage running now (``probe``, ``decode``, ...).
        run: the pipeline's output once done.
        error: the typed error body once failed or cancelled.
        events: ``(name, data)`` in the order they happened.
        created, started, finished: ``time.monotonic()`` stamps (seconds).
    """

    model: str
    video_id: str
    question: str
    choices: list[str] | None
    job_id: str = field(default_factory=lambda: "j" + uuid.uuid4().hex[:16])
    status: JobStatus = JobStatus.QUEUED
    stage: str | None = None
    run: AskRun | None = None
    error: dict | None = None
    events: list[tuple[str, dict]] = field(default_factory=list)
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    cancel_requested: bool = False

    def emit(self, name: str, data: dict) -> None:
        self.events.append((name, data))

    @property
    def done(self) -> bool:
        return self.status in FINISHED

    def describe(self, position: int | None = None) -> dict[str, object]:
        """The JSON of ``GET /v1/jobs/<id>``: status, the stage running now and the
        stages started so far (progress), queue position, the error, and once done the
        same AskResult JSON as ``videoqa ask --json``."""
        now = time.monotonic()
        body: dict[str, object] = {
            "job_id": self.job_id,
            "status": self.status.value,
            "stage": self.stage,
            "stages": [data["stage"] for name, data in list(self.events) if name == "stage"],
            "model": self.model,
            "video_id": self.video_id,
            "question": self.question,
            "position": position,
            "seconds": round((self.finished or now) - self.created, 4),
            "error": self.error["error"] if self.error else None,
            "result": self.run.result.model_dump(mode="json") if self.run is not None else None,
        }
        return body


Runner = Callable[[Job], AskRun]


class JobQueue:
    """Jobs by id, ``workers`` threads running them through ``runner``.

    Args:
        runner: ``runner(job) -> AskRun``; any exception fails the job with its typed
            error (the server keeps serving).
        workers: worker threads.
        queue_size: jobs waiting beyond the running ones.
        timeout_s: a running job is stopped (failed with JobTimeoutError) after this.
        ttl_s: a finished job is forgotten this long after it finished.
        on_finish: called with each finished job (e.g. to release its video).
    """

    def __init__(
        self,
        runner: Runner,
        workers: int = 1,
        queue_size: int = 16,
        timeout_s: float = 600.0,
        ttl_s: float = 3600.0,
        on_finish: Callable[[Job], None] | None = None,
    ) -> None:
        self.runner = runner
        self.workers = workers
        self.queue_size = queue_size
        self.timeout_s = timeout_s
        self.ttl_s = ttl_s
        self.on_finish = on_finish
        self._jobs: dict[str, Job] = {}
        self._pending: deque[Job] = deque()
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._running = 0
        self._durations: deque[float] = deque(maxlen=32)
        self.counts = {"submitted": 0, "refused": 0, "done": 0, "failed": 0, "cancelled": 0}

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        for i in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"videoqa-worker-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel what waits, ask running jobs to stop, join the workers (up to
        ``timeout`` seconds)."""
        with self._cond:
            self._stopping = True
            while self._pending:
                self._finish(self._pending.popleft(), JobStatus.CANCELLED, JobCancelledError("the server is shutting down"))
            for job in self._jobs.values():
                if job.status is JobStatus.RUNNING:
                    job.cancel_requested = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    # -------------------------------------------------------------- clients
    def submit(self, job: Job) -> Job:
        """Queue ``job``.

        Raises:
            QueueFullError: ``queue_size`` jobs already wait (``Retry-After`` header:
                seconds until a place is likely free).
        """
        with self._cond:
            if self._stopping:
                raise QueueFullError("the server is shutting down", headers={"Retry-After": "5"})
            if len(self._pending) >= self.queue_size and not (
                self.queue_size == 0 and self._running < self.workers and not self._pending
            ):
                self.counts["refused"] += 1
                retry = self._retry_after()
                raise QueueFullError(
                    f"the queue is full ({len(self._pending)} waiting, {self._running} running "
                    f"on {self.workers} worker(s)); retry after {retry} s",
                    headers={"Retry-After": str(retry)},
                )
            self._jobs[job.job_id] = job
            self._pending.append(job)
            self.counts["submitted"] += 1
            job.emit("queued", {"position": len(self._pending)})
            self._cond.notify()
        return job

    def _retry_after(self) -> int:
        mean = sum(self._durations) / len(self._durations) if self._durations else 1.0
        ahead = len(self._pending) + self._running
        return max(1, math.ceil(mean * ahead / self.workers))

    def get(self, job_id: str) -> Job:
        """Raises NotFoundError for an unknown (or expired) id."""
        with self._cond:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id!r} (unknown or expired)")
        return job

    def position(self, job: Job) -> int | None:
        """1-based place of a queued job in the queue."""
        with self._cond:
            for i, waiting in enumerate(self._pending, start=1):
                if waiting is job:
                    return i
        return None

    def cancel(self, job_id: str, reason: str = "cancelled by the client") -> Job:
        """Cancel a job: a queued one at once, a running one at its next stage.

        Raises:
            NotFoundError: unknown id.
        """
        job = self.get(job_id)
        with self._cond:
            if job.status is JobStatus.QUEUED:
                self._pending.remove(job)
                self._finish(job, JobStatus.CANCELLED, JobCancelledError(reason))
            elif job.status is JobStatus.RUNNING:
                job.cancel_requested = True
        return job

    def ids(self) -> list[str]:
        """Ids of the jobs kept (waiting, running, or finished within ``ttl_s``)."""
        with self._cond:
            return list(self._jobs)

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {
                "waiting": len(self._pending),
                "running": self._running,
                "kept": len(self._jobs),
                **self.counts,
            }

    # --------------------------------------------------------- maintenance
    def sweep(self, now: float | None = None) -> int:
        """Forget jobs finished more than ``ttl_s`` ago; fail (JobTimeoutError) running
        jobs past ``timeout_s`` (they stop at their next stage). Returns how many were
        forgotten."""
        now = time.monotonic() if now is None else now
        with self._cond:
            for job in self._jobs.values():
                if (
                    job.status is JobStatus.RUNNING
                    and job.started is not None
                    and now - job.started > self.timeout_s
                ):
                    job.cancel_requested = True
            old = [
                j.job_id
                for j in self._jobs.values()
                if j.done and j.finished is not None and now - j.finished > self.ttl_s
            ]
            for job_id in old:
                del self._jobs[job_id]
        return len(old)

    # -------------------------------------------------------------- workers
    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping and not self._pending:
                    return
                job = self._pending.popleft()
                job.status = JobStatus.RUNNING
                job.started = time.monotonic()
                self._running += 1
                job.emit("running", {})
            try:
                run = self._run(job)
            except BaseException as exc:  # noqa: BLE001 - a failing job must not stop the worker
                with self._cond:
                    self._running -= 1
                    timed_out = isinstance(exc, JobTimeoutError)
                    status = JobStatus.CANCELLED if isinstance(exc, JobCancelledError) else JobStatus.FAILED
                    self._finish(job, status, exc)
                    if not timed_out:
                        self._durations.append(time.monotonic() - (job.started or job.created))
                continue
            with self._cond:
                self._running -= 1
                self._durations.append(time.monotonic() - (job.started or job.created))
                if job.cancel_requested:  # stopped after its last stage: still cancelled
                    self._finish(job, JobStatus.CANCELLED, self._stop_reason(job))
                else:
                    job.run = run
                    self._finish(job, JobStatus.DONE, None)

    def _stop_reason(self, job: Job) -> BaseException:
        started = job.started or job.created
        if time.monotonic() - started > self.timeout_s:
            return JobTimeoutError(f"the job ran longer than the limit of {self.timeout_s:g} s")
        return JobCancelledError("cancelled by the client (or the client went away)")

    def _run(self, job: Job) -> AskRun:
        deadline = (job.started or time.monotonic()) + self.timeout_s

        def on_stage(stage: str) -> None:
            if job.cancel_requested or time.monotonic() > deadline:
                raise self._stop_reason(job)
            job.stage = stage
            job.emit("stage", {"stage": stage})

        with watch_stages(on_stage), time_limit(self.timeout_s):
            return self.runner(job)

    def _finish(self, job: Job, status: JobStatus, error: BaseException | None) -> None:
        """Mark ``job`` finished (called with the lock held)."""
        if isinstance(error, JobTimeoutError):
            status = JobStatus.FAILED
        job.status = status
        job.finished = time.monotonic()
        job.stage = None
        job.error = error_body(error) if error is not None else None
        self.counts[status.value] = self.counts.get(status.value, 0) + 1
        end: dict[str, object] = {"status": status.value}
        if job.error:
            end["error"] = job.error["error"]
        job.emit("end", end)
        if self.on_finish is not None:
            try:
                self.on_finish(job)
            except Exception:  # noqa: BLE001 - bookkeeping must not kill a worker
                pass
