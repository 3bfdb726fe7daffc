"""The HTTP API and the page of ``videoqa serve`` (FastAPI).

======================================  ===================================================
``GET /``                               the page (``videoqa/resources/web``)
``GET /v1/health``                      workers, queue, jobs and stored videos
``GET /v1/models``                      the served models (OpenAI list shape)
``GET /v1/library``                     video files under ``--video-root``
``POST /v1/videos``                     multipart upload (``file``) or JSON ``{"path"}``
                                        → ``{"video_id", "probe", ...}``
``GET|DELETE /v1/videos/<id>``          its probe / forget it
``GET /v1/videos/<id>/file``            the video (HTTP range requests, for the player)
``GET /v1/videos/<id>/frames/<t>.jpg``  the frame shown at ``t`` seconds
``POST /v1/ask``                        ``{"video_id"|"path", "question", "choices",
                                        "model"}`` → 202 ``{"job_id"}``
``GET|DELETE /v1/jobs/<id>``            status, stage, then the AskResult / cancel
``GET /v1/jobs/<id>/events``            server-sent events: queued, running, stage, end
``GET /v1/jobs/<id>/grid.png``          the grid view of the answer, when composed
``POST /v1/chat/completions``           OpenAI chat with a ``video_url`` part; the
                                        evidence in the ``videoqa`` extension field
======================================  ===================================================

The server holds no model logic: the models are :class:`~videoqa.api.VideoQA` objects
(the one resolver, :func:`~videoqa.pipelines.resolve.resolve`, and the ask pipeline),
loaded once per process and shared by the workers; one lock per model serializes its
calls (its prepared-video cache is not thread-safe), so several questions about one video
reuse its decoded and encoded frames.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from videoqa.api import VideoQA
from videoqa.errors import UsageError, VideoError, VideoQAError
from videoqa.pipelines.ask import AskRun, decode_size
from videoqa.pipelines.report import web_asset
from videoqa.server.config import ServerConfig
from videoqa.server.errors import (
    NotFoundError,
    PayloadTooLargeError,
    ServerError,
    error_body,
    status_of,
)
from videoqa.server.jobs import Job, JobQueue
from videoqa.server.store import StoredVideo, VideoStore
from videoqa.server.upload import receive_upload
from videoqa.video.reader import VideoReader, time_limit

VIDEO_ID = re.compile(r"[ur][0-9a-f]{16}")
STATIC = {"app.js": "text/javascript", "render.js": "text/javascript", "style.css": "text/css"}
PROBE_TIMEOUT_S = 60.0
SSE_POLL_S = 0.05
OPEN_READERS = 8


class AskRequest(BaseModel):
    """Body of ``POST /v1/ask``: a stored ``video_id`` or a ``path`` under the video
    root; ``choices`` for multiple choice (``None``: open-ended); ``model`` one of
    ``/v1/models`` (default: the first)."""

    model_config = ConfigDict(extra="forbid")

    video_id: str | None = None
    path: str | None = None
    question: str = Field(min_length=1, max_length=2000)
    choices: list[str] | None = Field(None, max_length=64)
    model: str | None = None


class PathRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=4096)


def load_models(config: ServerConfig) -> dict[str, VideoQA]:
    """Each spec of ``config.models`` loaded once through the resolver.

    Raises:
        ModelUnavailableError, UsageError: as :meth:`VideoQA.from_pretrained`.
    """
    return {
        spec: VideoQA.from_pretrained(spec, route=config.route, **config.options)
        for spec in config.models
    }


class ServerState:
    """Everything one server process shares: models, video store, job queue."""

    def __init__(self, config: ServerConfig, models: Mapping[str, VideoQA]) -> None:
        if not models:
            raise UsageError("the server needs at least one model")
        self.config = config
        self.models = dict(models)
        self.default_model = next(iter(self.models))
        self._model_locks = {name: threading.Lock() for name in self.models}
        self.store = VideoStore(
            config.store_bytes, config.max_videos, config.ttl_s, config.video_root
        )
        self.jobs = JobQueue(
            self._run_job,
            workers=config.workers,
            queue_size=config.queue,
            timeout_s=config.job_timeout_s,
            ttl_s=config.ttl_s,
            on_finish=lambda job: self.store.release(job.video_id),
        )
        self._frames: OrderedDict[tuple[str, float], bytes] = OrderedDict()
        self._frames_lock = threading.Lock()
        # open readers of the videos frames were asked of, so that their demux pass
        # (the exact frame index) runs once per video, not once per frame request
        self._readers: OrderedDict[str, tuple[VideoReader, threading.Lock]] = OrderedDict()
        self._grids: dict[str, bytes] = {}
        self._stop = threading.Event()
        self._janitor: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.jobs.start()
        self._janitor = threading.Thread(target=self._sweep_loop, name="videoqa-janitor", daemon=True)
        self._janitor.start()

    def close(self) -> None:
        """Stop the workers, delete every upload and the store folder."""
        self._stop.set()
        self.jobs.stop()
        if self._janitor is not None:
            self._janitor.join(5)
        self.close_readers(lambda _: True)
        self.store.close()

    def sweep(self) -> None:
        """Drop expired uploads, finished jobs (and their grid images); stop overdue jobs."""
        self.jobs.sweep()
        self.store.sweep()
        kept = set(self.jobs.ids())
        for job_id in list(self._grids):
            if job_id not in kept:
                self._grids.pop(job_id, None)
        stored = self.store.ids()
        self.close_readers(lambda video_id: video_id not in stored)

    def _sweep_loop(self) -> None:
        interval = max(0.5, min(30.0, self.config.ttl_s / 4, self.config.job_timeout_s / 4))
        while not self._stop.wait(interval):
            self.sweep()

    # ---------------------------------------------------------------- videos
    def probe_file(self, path: Path) -> Any:
        """The exact probe of ``path`` (a demux pass), bounded in time.

        Raises:
            VideoError subclasses: the reader's typed error.
        """
        with time_limit(PROBE_TIMEOUT_S), VideoReader(path) as reader:
            reader.frame_times()
            return reader.info

    def frame_jpeg(self, video: StoredVideo, seconds: float) -> bytes:
        """The frame displayed at ``seconds`` as JPEG (longer side at most
        ``frame_max_side`` pixels), cached."""
        key = (video.video_id, round(seconds, 3))
        with self._frames_lock:
            if key in self._frames:
                self._frames.move_to_end(key)
                return self._frames[key]
        from PIL import Image

        try:
            with time_limit(PROBE_TIMEOUT_S):
                reader, reader_lock = self._reader(video)
                with reader_lock:
                    batch = reader.read_at(
                        [seconds], size=decode_size(video.info, self.config.frame_max_side)
                    )
        except VideoError:  # e.g. a timeout leaves the reader unusable: open a new one next time
            self.close_readers(lambda video_id: video_id == video.video_id)
            raise
        buffer = io.BytesIO()
        Image.fromarray(batch.frames[0]).save(buffer, format="JPEG", quality=85)
        data = buffer.getvalue()
        with self._frames_lock:
            self._frames[key] = data
            while len(self._frames) > 256:
                self._frames.popitem(last=False)
        return data

    def _reader(self, video: StoredVideo) -> tuple[VideoReader, threading.Lock]:
        """The open reader of ``video`` (opened on first use; the last
        :data:`OPEN_READERS` used are kept) and the lock its calls hold."""
        with self._frames_lock:
            entry = self._readers.get(video.video_id)
            if entry is not None:
                self._readers.move_to_end(video.video_id)
                return entry
        opened = (VideoReader(video.path), threading.Lock())
        with self._frames_lock:
            entry = self._readers.setdefault(video.video_id, opened)
            closing = [] if entry is opened else [opened]  # another request opened it first
            while len(self._readers) > OPEN_READERS:
                closing.append(self._readers.popitem(last=False)[1])
        for reader, lock in closing:
            with lock:
                reader.close()
        return entry

    def close_readers(self, which: Callable[[str], bool]) -> None:
        """Close the open readers of the video ids for which ``which`` is true."""
        with self._frames_lock:
            closing = [self._readers.pop(vid) for vid in list(self._readers) if which(vid)]
        for reader, lock in closing:
            with lock:
                reader.close()

    # ------------------------------------------------------------------ jobs
    def model(self, name: str | None) -> str:
        name = name or self.default_model
        if name not in self.models:
            raise NotFoundError(
                f"model {name!r} is not served here; served: {', '.join(self.models)}"
            )
        return name

    def submit(self, video_id: str, question: str, choices: list[str] | None, model: str | None) -> Job:
        """Queue a question (the video counts as in use until the job ends).

        Raises:
            NotFoundError: unknown video or model. QueueFullError: 429.
        """
        name = self.model(model)
        self.store.acquire(video_id)
        job = Job(model=name, video_id=video_id, question=question, choices=choices)
        try:
            return self.jobs.submit(job)
        except BaseException:
            self.store.release(video_id)
            raise

    def _run_job(self, job: Job) -> AskRun:
        video = self.store.get(job.video_id)
        qa = self.models[job.model]
        with self._model_locks[job.model]:
            run = qa.run(video.path, job.question, job.choices)
        if run.grid_image is not None:
            from PIL import Image

            buffer = io.BytesIO()
            Image.fromarray(run.grid_image.image).save(buffer, format="PNG")
            self._grids[job.job_id] = buffer.getvalue()
        return run


def _error_response(error: BaseException) -> JSONResponse:
    status = status_of(error)
    headers = error.headers if isinstance(error, ServerError) else None
    return JSONResponse(error_body(error, status), status_code=status, headers=headers)


def _parse(model: type[BaseModel], raw: bytes) -> Any:
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors()
        )
        raise UsageError(f"invalid request: {problems}") from None


def create_app(config: ServerConfig | None = None, models: Mapping[str, VideoQA] | None = None) -> FastAPI:
    """The server app.

    Args:
        config: settings (default :class:`ServerConfig`).
        models: served name → loaded model; ``None`` loads ``config.models`` through
            the resolver (once, here).

    Raises:
        ModelUnavailableError, UsageError: a model cannot be loaded.
    """
    config = config or ServerConfig()
    state = ServerState(config, models if models is not None else load_models(config))

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        state.start()
        try:
            yield
        finally:
            await run_in_threadpool(state.close)

    app = FastAPI(title="videoqa", lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.state.videoqa = state

    @app.exception_handler(VideoQAError)
    async def _videoqa_error(_: Request, exc: VideoQAError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:  # the server keeps serving
        return _error_response(exc)

    # ------------------------------------------------------------------ page
    @app.get("/", include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(web_asset("index.html"))

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in STATIC:
            raise NotFoundError(f"no page asset {name!r}")
        return Response(web_asset(name), media_type=STATIC[name])

    # ---------------------------------------------------------------- status
    @app.get("/v1/health")
    async def health() -> dict:
        return {
            "status": "ok",
            "models": list(state.models),
            "workers": config.workers,
            "queue_size": config.queue,
            "jobs": state.jobs.stats(),
            "videos": len(state.store),
            "upload_bytes": state.store.uploads_bytes(),
            "video_root": str(state.store.root) if state.store.root else None,
        }

    @app.get("/v1/models")
    async def list_models() -> dict:
        return {
            "object": "list",
            "data": [
                {
                    "id": name,
                    "object": "model",
                    "owned_by": "videoqa",
                    "name": qa.name,
                    "pretrained": qa.pretrained,
                    "warnings": qa.warnings,
                }
                for name, qa in state.models.items()
            ],
        }

    @app.get("/v1/library")
    async def library() -> dict:
        root = state.store.root
        videos = await run_in_threadpool(state.store.library)
        return {"root": str(root) if root else None, "videos": videos}

    # ---------------------------------------------------------------- videos
    @app.post("/v1/videos", status_code=201)
    async def add_video(request: Request) -> dict:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = _parse(PathRequest, await request.body())
            return (await register_path(state, body.path)).describe()
        declared = request.headers.get("content-length")
        state.store.make_room(min(int(declared), config.max_upload_bytes) if declared and declared.isdigit() else 0)
        part, filename, size = await receive_upload(request, state.store, config.max_upload_bytes)
        return (await keep_upload(state, part, filename, size)).describe()

    @app.get("/v1/videos/{video_id}")
    async def get_video(video_id: str) -> dict:
        return state.store.get(video_id).describe()

    @app.delete("/v1/videos/{video_id}", status_code=204)
    async def delete_video(video_id: str) -> Response:
        state.store.delete(video_id)
        await run_in_threadpool(state.close_readers, lambda vid: vid == video_id)
        return Response(status_code=204)

    @app.get("/v1/videos/{video_id}/file")
    async def video_file(video_id: str) -> FileResponse:
        video = state.store.get(video_id)
        return FileResponse(video.path, media_type="video/mp4" if video.path.suffix in (".mp4", ".m4v", "") else None)

    @app.get("/v1/videos/{video_id}/frames/{name}")
    async def frame(video_id: str, name: str) -> Response:
        video = state.store.get(video_id)
        if not name.endswith(".jpg"):
            raise NotFoundError("frames are served as <seconds>.jpg")
        try:
            seconds = float(name.removesuffix(".jpg"))
        except ValueError:
            raise UsageError(f"{name!r}: the frame time must be a number of seconds") from None
        end = video.info.start_time + video.info.duration
        if not (0.0 <= seconds <= end + 1e-3):
            raise UsageError(f"t = {seconds} s is outside the video (0 to {end:.3f} s)")
        data = await run_in_threadpool(state.frame_jpeg, video, seconds)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    # ------------------------------------------------------------------- ask
    async def resolve_video(body: AskRequest) -> str:
        if (body.video_id is None) == (body.path is None):
            raise UsageError("give exactly one of video_id (from POST /v1/videos) and path")
        if body.video_id is not None:
            return state.store.get(body.video_id).video_id
        return (await register_path(state, body.path)).video_id

    @app.post("/v1/ask", status_code=202)
    async def ask(request: Request) -> dict:
        body = _parse(AskRequest, await request.body())
        video_id = await resolve_video(body)
        job = state.submit(video_id, body.question, body.choices, body.model)
        return {"job_id": job.job_id, "status": job.status.value, "video_id": video_id, "model": job.model}

    @app.get("/v1/jobs/{job_id}")
    async def get_job(job_id: str) -> dict:
        job = state.jobs.get(job_id)
        return job.describe(state.jobs.position(job))

    @app.delete("/v1/jobs/{job_id}")
    async def cancel_job(job_id: str) -> dict:
        job = state.jobs.cancel(job_id)
        return job.describe()

    @app.get("/v1/jobs/{job_id}/grid.png")
    async def grid(job_id: str) -> Response:
        state.jobs.get(job_id)
        data = state._grids.get(job_id)  # noqa: SLF001
        if data is None:
            raise NotFoundError(f"job {job_id!r} has no grid view (ask the server with --grid N)")
        return Response(data, media_type="image/png")

    @app.get("/v1/jobs/{job_id}/events")
    async def events(job_id: str, request: Request, cancel_on_disconnect: bool = False) -> StreamingResponse:
        """Server-sent events of the job; with ``cancel_on_disconnect=true`` a client
        that goes away before the end cancels the job (the page asks so)."""
        job = state.jobs.get(job_id)

        async def stream():
            sent = 0
            while True:
                pending = job.events[sent:]
                for name, data in pending:
                    yield f"event: {name}\ndata: {json.dumps(data)}\n\n"
                sent += len(pending)
                if pending and pending[-1][0] == "end":
                    return
                if await request.is_disconnected():
                    if cancel_on_disconnect and not job.done:
                        state.jobs.cancel(job.job_id, "the client went away")
                    return
                await asyncio.sleep(SSE_POLL_S)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )

    # --------------------------------------------------------- openai chat
    from videoqa.server.openai import add_chat_route

    add_chat_route(app, state)
    return app


async def register_path(state: ServerState, name: str) -> StoredVideo:
    """The video at ``name`` under the video root (probed once; the same file keeps its
    id).

    Raises:
        ForbiddenPathError: outside the root, or no root. NotFoundError: no such file.
        VideoError subclasses: not a readable video.
    """
    path = state.store.root_path(name)
    known = state.store.root_id(path)
    if known is not None:
        try:
            return state.store.get(known)
        except NotFoundError:
            pass
    info = await run_in_threadpool(state.probe_file, path)
    return state.store.add_root(path, info)


async def keep_upload(state: ServerState, part: Path, filename: str, size: int) -> StoredVideo:
    """Probe the received file ``part`` and keep it as an upload; on any failure
    (not a video: 415, damaged: 422, no room: 507) the file is deleted.
    """
    try:
        try:
            info = await run_in_threadpool(state.probe_file, part)
        except VideoError as err:  # the reader's typed error, naming the upload, not our file
            raise type(err)(str(err).replace(str(part), filename), filename) from None
        state.store.make_room(size)
        return state.store.add_upload(part, filename, info)
    finally:
        part.unlink(missing_ok=True)  # gone after a failure; renamed away on success


async def register_video_url(state: ServerState, url: str) -> str:
    """The video id of a chat request's ``video_url``: a stored id, a path or
    ``file://`` URL under the video root, or a base64 ``data:`` URL (stored as an upload).

    Raises:
        UsageError: a remote URL (never fetched) or a malformed data URL.
        ForbiddenPathError, NotFoundError, PayloadTooLargeError, VideoError subclasses.
    """
    from videoqa.server.openai import decode_data_url, file_url_path, video_url_kind

    kind = video_url_kind(url)
    if kind == "remote":
        raise UsageError(
            "remote video URLs are not fetched by this server: upload the video with "
            "POST /v1/videos and pass its video_id as the url"
        )
    if kind == "data":
        data = decode_data_url(url, state.config.max_upload_bytes)
        if len(data) > state.config.max_upload_bytes:
            raise PayloadTooLargeError(f"the video exceeds {state.config.max_upload_bytes} bytes")
        state.store.make_room(len(data))
        part = state.store.new_part()
        try:
            part.write_bytes(data)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return (await keep_upload(state, part, "video_url", len(data))).video_id
    if kind == "file":
        return (await register_path(state, file_url_path(url))).video_id
    if VIDEO_ID.fullmatch(url):
        return state.store.get(url).video_id
    return (await register_path(state, url)).video_id


async def wait_for_job(state: ServerState, job: Job, request: Request, timeout_s: float) -> Job:
    """Wait until ``job`` ends; cancel it when the client disconnects or ``timeout_s``
    passes (then it stops at its next stage).

    Returns:
        the finished job (its status says how it ended).
    """
    deadline = time.monotonic() + timeout_s
    while not job.done:
        if await request.is_disconnected():
            state.jobs.cancel(job.job_id, "the client went away")
            return job
        if time.monotonic() > deadline:
            state.jobs.cancel(job.job_id, f"no answer within {timeout_s:g} s (--chat-timeout)")
            return job
        await asyncio.sleep(SSE_POLL_S)
    return job


__all__ = ["ServerState", "create_app", "load_models"]
