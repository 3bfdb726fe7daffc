"""Fixtures of the server tests: the offline ``tiny`` model loaded once, a controllable
answerer (blocks until released, cooperatively cancellable at its stages) and a factory
of in-process servers (TestClient, lifespan run: workers started, store deleted)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from videoqa.api import VideoQA
from videoqa.pipelines.ask import StageTimer
from videoqa.server import ServerConfig, create_app


@pytest.fixture(scope="session")
def tiny_qa() -> VideoQA:
    """The random-weight ``tiny`` preset through the one resolver (offline)."""
    return VideoQA.from_pretrained("tiny", route="visual")


class GatedAnswerer:
    """An answerer that waits for :attr:`gate` (in 20 ms stages, so a cancelled job stops
    at the next one), then answers with ``inner`` or raises ``error``."""

    def __init__(self, inner, error: BaseException | None = None) -> None:
        self.inner = inner
        self.error = error
        self.name = "gated"
        self.pretrained = False
        self.warnings: list[str] = []
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.calls = 0
        self.stages_waited = 0

    @property
    def settings(self) -> dict[str, object]:
        return {}

    def __call__(self, video, question, choices=None):
        self.calls += 1
        self.entered.set()
        timer = StageTimer()
        while not self.gate.is_set():
            with timer.stage("wait"):
                self.stages_waited += 1
                self.gate.wait(0.02)
        if self.error is not None:
            raise self.error
        return self.inner(video, question, choices)


@pytest.fixture
def gated(tiny_qa) -> Iterator[GatedAnswerer]:
    answerer = GatedAnswerer(tiny_qa.answerer)
    yield answerer
    answerer.gate.set()  # never leave a worker waiting


@pytest.fixture
def make_server(tmp_path: Path, tiny_qa) -> Iterator[Callable[..., TestClient]]:
    """``make_server(models=None, **config) -> TestClient``; ``models`` maps served
    names to VideoQA objects (default: ``{"tiny": tiny_qa}``)."""
    stack = ExitStack()

    def make(models=None, **config) -> TestClient:
        app = create_app(ServerConfig(**config), models or {"tiny": tiny_qa})
        return stack.enter_context(TestClient(app))

    yield make
    stack.close()


def wait_job(client: TestClient, job_id: str, timeout: float = 60.0) -> dict:
    """Poll ``/v1/jobs/<id>`` until it finishes."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/jobs/{job_id}").json()
        if body["status"] in ("done", "failed", "cancelled"):
            return body
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")
