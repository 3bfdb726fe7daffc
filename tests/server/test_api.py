"""The HTTP API of ``videoqa serve``, in process (FastAPI TestClient): uploads, asks,
jobs and their events, frames, the OpenAI chat route, and every refusal the issue lists."""

from __future__ import annotations

import base64
import io
import json
import os
import time

import numpy as np
import pytest
from PIL import Image

from tests.server.conftest import GatedAnswerer, wait_job
from videoqa.api import VideoQA
from videoqa.errors import CorruptVideoError, UsageError
from videoqa.video.reader import VideoReader, read_frames


def upload(client, path, name=None):
    with open(path, "rb") as handle:
        return client.post("/v1/videos", files={"file": (name or path.name, handle, "video/mp4")})


def ask(client, video_id, question="what is the man riding?", choices=("a bike", "a horse"), **extra):
    body = {"video_id": video_id, "question": question, "choices": list(choices) if choices else None, **extra}
    return client.post("/v1/ask", json=body)


def store_files(client) -> list[str]:
    return sorted(os.listdir(client.app.state.videoqa.store.dir))


# ------------------------------------------------------------------ happy path
def test_upload_probes_like_the_reader(make_server, bikes_video):
    client = make_server()
    response = upload(client, bikes_video)
    assert response.status_code == 201
    body = response.json()
    with VideoReader(bikes_video) as reader:
        reader.frame_times()
        expected = reader.info
    probe = body["probe"]
    assert body["name"] == "bikes.mp4" and body["source"] == "upload"
    assert body["size"] == bikes_video.stat().st_size
    for key in ("duration", "fps", "num_frames", "width", "height", "codec"):
        assert probe[key] == getattr(expected, key)
    assert probe["num_frames"] == 250
    assert client.get(f"/v1/videos/{body['video_id']}").json()["probe"] == probe
    assert store_files(client) == [f"{body['video_id']}.mp4"]


def test_ask_job_gives_the_pipeline_result(make_server, bikes_video, tiny_qa):
    client = make_server()
    video_id = upload(client, bikes_video).json()["video_id"]
    response = ask(client, video_id)
    assert response.status_code == 202
    job = wait_job(client, response.json()["job_id"])
    assert job["status"] == "done" and job["error"] is None
    got = job["result"]
    want = tiny_qa.ask(bikes_video, "what is the man riding?", ["a bike", "a horse"]).model_dump(mode="json")
    assert got["answer"] == want["answer"] and got["choices"] == want["choices"]
    np.testing.assert_allclose(got["probabilities"], want["probabilities"], atol=1e-5)
    assert [e["time"] for e in got["evidence"]] == [e["time"] for e in want["evidence"]]
    assert got["sampled_times"] == want["sampled_times"]
    assert sum(got["probabilities"]) == pytest.approx(1.0, abs=1e-5)


def test_second_question_reuses_the_prepared_video(make_server, bikes_video):
    client = make_server()
    video_id = upload(client, bikes_video).json()["video_id"]
    first = wait_job(client, ask(client, video_id).json()["job_id"])["result"]
    second = wait_job(client, ask(client, video_id, "is it sunny?", None).json()["job_id"])["result"]
    assert "decode" in first["timings"] and "encode_frames" in first["timings"]
    assert "decode" not in second["timings"]  # served from the pipeline's cache
    assert second["open_ended"] is True and len(second["choices"]) == 5


def test_events_stream_the_stages_in_order(make_server, bikes_video):
    client = make_server()
    video_id = upload(client, bikes_video).json()["video_id"]
    job_id = ask(client, video_id, "a new question", ["x", "y"]).json()["job_id"]
    with client.stream("GET", f"/v1/jobs/{job_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    events = [
        (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
        for block in text.strip().split("\n\n")
    ]
    names = [name for name, _ in events]
    assert names[0] == "queued" and names[1] == "running" and names[-1] == "end"
    stages = [data["stage"] for name, data in events if name == "stage"]
    assert stages[:4] == ["probe", "sample", "decode", "encode_frames"]
    assert stages[-1] == "answer"
    assert events[-1][1] == {"status": "done"}
    assert client.get(f"/v1/jobs/{job_id}").json()["stages"] == stages


def test_frame_endpoint_serves_the_decoded_frame(make_server, bikes_video):
    client = make_server()
    video_id = upload(client, bikes_video).json()["video_id"]
    response = client.get(f"/v1/videos/{video_id}/frames/2.500.jpg")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    image = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), dtype=np.float32)
    want = read_frames(bikes_video, [2.5]).frames[0].astype(np.float32)
    assert image.shape == want.shape == (272, 640, 3)
    assert np.abs(image - want).mean() < 4.0  # JPEG at quality 85
    other = read_frames(bikes_video, [8.0]).frames[0].astype(np.float32)
    assert np.abs(image - other).mean() > 10.0  # a different moment looks different
    assert client.get(f"/v1/videos/{video_id}/frames/11.jpg").status_code == 422
    assert client.get(f"/v1/videos/{video_id}/frames/abc.jpg").status_code == 422
    assert client.get(f"/v1/videos/{video_id}/frames/1.png").status_code == 404
    assert client.get("/v1/videos/u0000000000000000/frames/1.jpg").status_code == 404


def test_frame_requests_demux_the_video_once(make_server, bikes_video, monkeypatch):
    client = make_server()
    video_id = upload(client, bikes_video).json()["video_id"]
    demuxed = []
    demux = VideoReader._demux_index

    def counting(reader):
        demuxed.append(reader.path)
        return demux(reader)

    monkeypatch.setattr(VideoReader, "_demux_index", counting)
    times = ("1.000", "4.000", "7.500")
    frames = [client.get(f"/v1/videos/{video_id}/frames/{t}.jpg") for t in times]
    assert [r.status_code for r in frames] == [200, 200, 200]
    assert len({r.content for r in frames}) == 3
    assert len(demuxed) == 1  # one exact index for all the frame requests of a video
    state = client.app.state.videoqa
    reader = state._readers[video_id][0]  # noqa: SLF001
    assert client.delete(f"/v1/videos/{video_id}").status_code == 204
    assert video_id not in state._readers  # noqa: SLF001
    with pytest.raises(UsageError, match="closed"):
        reader.read_at([1.0])


def test_video_file_supports_range_requests(make_server, bikes_video):
    client = make_server()
    video_id = upload(client, bikes_video).json()["video_id"]
    response = client.get(f"/v1/videos/{video_id}/file", headers={"Range": "bytes=0-99"})
    assert response.status_code == 206
    assert response.content == bikes_video.read_bytes()[:100]


def test_page_models_and_static_assets(make_server):
    client = make_server()
    page = client.get("/")
    assert page.status_code == 200 and "/static/render.js" in page.text and "/static/app.js" in page.text
    for name, kind in (("render.js", "javascript"), ("app.js", "javascript"), ("style.css", "css")):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and kind in response.headers["content-type"]
    assert client.get("/static/report.html").status_code == 404
    assert client.get("/static/..%2Fserver%2Fapp.py").status_code == 404
    models = client.get("/v1/models").json()
    assert models["object"] == "list"
    assert [(m["id"], m["pretrained"]) for m in models["data"]] == [("tiny", False)]


# ---------------------------------------------------------------- bad uploads
def test_non_video_is_415_with_the_readers_error_and_nothing_kept(make_server, tmp_path):
    client = make_server()
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    response = upload(client, text)
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["type"] == "UnsupportedVideoError" and "not a media file: notes.mp4" in error["message"]
    assert str(client.app.state.videoqa.store.dir) not in error["message"]
    assert store_files(client) == []


def test_truncated_video_is_422_corrupt_and_nothing_kept(make_server, bikes_video, tmp_path):
    client = make_server()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(bikes_video.read_bytes()[:200_000])  # the moov atom is at the end
    response = upload(client, cut)
    assert response.status_code == 422
    assert response.json()["error"]["type"] == CorruptVideoError.__name__
    assert store_files(client) == []


def test_not_multipart_is_415(make_server):
    client = make_server()
    response = client.post("/v1/videos", content=b"raw bytes", headers={"content-type": "video/mp4"})
    assert response.status_code == 415
    assert response.json()["error"]["type"] == "NotMultipartError"
    no_file = client.post("/v1/videos", data={"other": "x"}, files={"notfile": ("a.txt", b"x")})
    assert no_file.status_code == 415
    assert store_files(client) == []


def _asgi_post(app, headers, chunks):
    """POST /v1/videos straight through ASGI; returns (status, chunks the app read)."""
    import anyio

    sent = {"status": None}
    reads = {"n": 0}
    chunks = iter(chunks)

    async def receive():
        try:
            chunk = next(chunks)
        except StopIteration:
            return {"type": "http.request", "body": b"", "more_body": False}
        reads["n"] += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/videos",
        "raw_path": b"/v1/videos",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    anyio.run(app, scope, receive, send)
    return sent["status"], reads["n"]


def _endless_multipart(boundary: str, chunk: int = 64 * 1024):
    yield (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    while True:
        yield b"\0" * chunk


def test_declared_oversize_upload_is_413_before_reading_the_body(make_server):
    client = make_server(max_upload_mb=1)
    headers = {
        "content-type": "multipart/form-data; boundary=xyz",
        "content-length": str(600 * 1024 * 1024),
    }
    status, reads = _asgi_post(client.app, headers, _endless_multipart("xyz"))
    assert status == 413
    assert reads == 0  # not one byte of the body was read
    assert store_files(client) == []


def test_streamed_oversize_upload_stops_at_the_limit(make_server):
    client = make_server(max_upload_mb=1)
    headers = {"content-type": "multipart/form-data; boundary=xyz"}  # no Content-Length
    status, reads = _asgi_post(client.app, headers, _endless_multipart("xyz"))
    assert status == 413
    assert reads <= 1 + 1024 * 1024 // (64 * 1024) + 1  # stopped within a chunk of 1 MiB
    assert store_files(client) == []  # the partial file is deleted


def test_oversize_data_url_is_413(make_server):
    client = make_server(max_upload_mb=0.01)
    url = "data:video/mp4;base64," + base64.b64encode(b"\0" * 20_000).decode()
    response = client.post("/v1/chat/completions", json=_chat(url))
    assert response.status_code == 413
    assert store_files(client) == []


# ---------------------------------------------------------------------- paths
@pytest.fixture
def video_root(tmp_path, bikes_video):
    root = tmp_path / "root"
    (root / "clips").mkdir(parents=True)
    (root / "clips" / "bikes.mp4").write_bytes(bikes_video.read_bytes())
    (root / "inside-link.mp4").symlink_to(root / "clips" / "bikes.mp4")
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(bikes_video.read_bytes())
    (root / "escape.mp4").symlink_to(outside)
    return root


def test_paths_under_the_root_are_served(make_server, video_root):
    client = make_server(video_root=video_root)
    assert client.get("/v1/library").json()["videos"] == ["clips/bikes.mp4", "inside-link.mp4"]
    first = client.post("/v1/videos", json={"path": "clips/bikes.mp4"})
    assert first.status_code == 201 and first.json()["source"] == "root"
    again = client.post("/v1/videos", json={"path": str(video_root / "clips" / "bikes.mp4")})
    assert again.json()["video_id"] == first.json()["video_id"]  # same file, same id
    assert client.post("/v1/videos", json={"path": "inside-link.mp4"}).json()["video_id"] == first.json()["video_id"]
    job = client.post("/v1/ask", json={"path": "clips/bikes.mp4", "question": "a bike?", "choices": ["yes", "no"]})
    assert wait_job(client, job.json()["job_id"])["status"] == "done"
    assert store_files(client) == []  # root videos are not copied


@pytest.mark.parametrize("path", ["../secret.mp4", "clips/../../secret.mp4", "escape.mp4", "/etc/passwd"])
def test_paths_outside_the_root_are_403(make_server, video_root, path):
    client = make_server(video_root=video_root)
    for response in (
        client.post("/v1/videos", json={"path": path}),
        client.post("/v1/ask", json={"path": path, "question": "q?"}),
        client.post("/v1/chat/completions", json=_chat(path)),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["type"] == "ForbiddenPathError"


def test_file_url_outside_the_root_is_403(make_server, video_root, tmp_path):
    client = make_server(video_root=video_root)
    response = client.post("/v1/chat/completions", json=_chat((tmp_path / "secret.mp4").as_uri()))
    assert response.status_code == 403


def test_no_root_means_no_paths(make_server, bikes_video):
    client = make_server()
    assert client.post("/v1/videos", json={"path": str(bikes_video)}).status_code == 403
    assert client.get("/v1/library").json() == {"root": None, "videos": []}


def test_unknown_ids_are_404(make_server, video_root, bikes_video):
    client = make_server(video_root=video_root)
    assert client.get("/v1/videos/nope").status_code == 404
    assert client.get("/v1/jobs/nope").status_code == 404
    assert client.get("/v1/jobs/nope/events").status_code == 404
    assert client.delete("/v1/jobs/nope").status_code == 404
    assert client.post("/v1/videos", json={"path": "clips/missing.mp4"}).status_code == 404
    assert ask(client, "u0123456789abcdef").status_code == 404
    video_id = upload(client, bikes_video).json()["video_id"]
    response = ask(client, video_id, model="vgt:elsewhere")
    assert response.status_code == 404 and "served: tiny" in response.json()["error"]["message"]


def test_invalid_ask_bodies_are_422(make_server, bikes_video):
    client = make_server()
    video_id = upload(client, bikes_video).json()["video_id"]
    assert client.post("/v1/ask", json={"video_id": video_id}).status_code == 422
    assert client.post("/v1/ask", json={"video_id": video_id, "question": "q", "extra": 1}).status_code == 422
    assert client.post("/v1/ask", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    both = client.post("/v1/ask", json={"video_id": video_id, "path": "x.mp4", "question": "q"})
    assert both.status_code == 422


# -------------------------------------------------------------- load behaviour
def test_full_queue_is_429_with_retry_after(make_server, bikes_video, gated):
    client = make_server(models={"gated": VideoQA(gated, route="visual")}, workers=1, queue=1)
    video_id = upload(client, bikes_video).json()["video_id"]
    running = ask(client, video_id).json()["job_id"]
    assert gated.entered.wait(10)
    waiting = ask(client, video_id).json()["job_id"]
    refused = ask(client, video_id)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["type"] == "QueueFullError"
    assert client.get(f"/v1/jobs/{waiting}").json()["position"] == 1
    gated.gate.set()
    assert wait_job(client, running)["status"] == "done"
    assert wait_job(client, waiting)["status"] == "done"
    assert client.get("/v1/health").json()["jobs"]["refused"] == 1


def test_cancel_a_queued_and_a_running_job(make_server, bikes_video, gated):
    client = make_server(models={"gated": VideoQA(gated, route="visual")}, workers=1, queue=4)
    video_id = upload(client, bikes_video).json()["video_id"]
    running = ask(client, video_id).json()["job_id"]
    assert gated.entered.wait(10)
    queued = ask(client, video_id).json()["job_id"]
    assert client.delete(f"/v1/jobs/{queued}").json()["status"] == "cancelled"
    client.delete(f"/v1/jobs/{running}")
    job = wait_job(client, running, timeout=10)  # stops at its next stage; gate never opened
    assert job["status"] == "cancelled" and job["error"]["type"] == "JobCancelledError"
    assert gated.calls == 1  # the cancelled queued job never ran
    gated.gate.set()
    again = wait_job(client, ask(client, video_id).json()["job_id"])
    assert again["status"] == "done"  # the worker is free again


def _asgi_disconnecting(app, method, path, body=b"", after=0.3):
    """Call ``app`` as a client that sends ``body`` and goes away ``after`` seconds later."""
    import anyio

    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent_at = []

    async def receive():
        if messages:
            sent_at.append(time.monotonic())
            return messages.pop(0)
        if time.monotonic() - sent_at[0] > after:
            return {"type": "http.disconnect"}
        await anyio.sleep(1.0)
        return {"type": "http.disconnect"}

    async def send(message):
        pass

    raw, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": raw, "raw_path": raw.encode(), "query_string": query.encode(),
        "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
        "headers": [(b"content-type", b"application/json")],
    }
    anyio.run(app, scope, receive, send)


def test_a_client_that_disconnects_cancels_its_chat_job(make_server, bikes_video, gated):
    client = make_server(models={"gated": VideoQA(gated, route="visual")}, workers=1, queue=4)
    video_id = upload(client, bikes_video).json()["video_id"]
    body = json.dumps(_chat(video_id, model="gated")).encode()
    _asgi_disconnecting(client.app, "POST", "/v1/chat/completions", body)
    [job_id] = client.app.state.videoqa.jobs.ids()
    job = wait_job(client, job_id, timeout=10)
    assert job["status"] == "cancelled"
    assert "went away" in job["error"]["message"]
    assert not gated.gate.is_set()  # it stopped without ever being released


@pytest.mark.parametrize("cancel", [True, False])
def test_leaving_the_event_stream(make_server, bikes_video, gated, cancel):
    client = make_server(models={"gated": VideoQA(gated, route="visual")}, workers=1, queue=4)
    video_id = upload(client, bikes_video).json()["video_id"]
    job_id = ask(client, video_id).json()["job_id"]
    assert gated.entered.wait(10)
    query = "?cancel_on_disconnect=true" if cancel else ""
    _asgi_disconnecting(client.app, "GET", f"/v1/jobs/{job_id}/events{query}")
    if cancel:  # the page's way: nobody will see the answer
        assert wait_job(client, job_id, timeout=10)["status"] == "cancelled"
    else:  # a job id is a handle: the job runs on, its result is kept for the TTL
        assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "running"
        gated.gate.set()
        assert wait_job(client, job_id)["status"] == "done"


def test_a_failing_job_reports_its_typed_error_and_the_server_keeps_serving(make_server, bikes_video, tiny_qa):
    broken = GatedAnswerer(tiny_qa.answerer, error=CorruptVideoError("cannot read frame 7", "x.mp4"))
    broken.gate.set()
    client = make_server(models={"tiny": tiny_qa, "broken": VideoQA(broken, route="visual")})
    video_id = upload(client, bikes_video).json()["video_id"]
    failed = wait_job(client, ask(client, video_id, model="broken").json()["job_id"])
    assert failed["status"] == "failed"
    assert failed["error"] == {"type": "CorruptVideoError", "message": "cannot read frame 7", "status": 422}
    bad = wait_job(client, ask(client, video_id, choices=["same", "same"]).json()["job_id"])
    assert bad["status"] == "failed" and bad["error"]["type"] == "UsageError"
    ok = wait_job(client, ask(client, video_id).json()["job_id"])
    assert ok["status"] == "done"


def test_a_job_past_its_timeout_is_stopped(make_server, bikes_video, gated):
    client = make_server(models={"gated": VideoQA(gated, route="visual")}, job_timeout_s=0.3)
    video_id = upload(client, bikes_video).json()["video_id"]
    job = wait_job(client, ask(client, video_id).json()["job_id"], timeout=10)
    assert job["status"] == "failed" and job["error"]["type"] == "JobTimeoutError"
    assert gated.stages_waited >= 10  # it ran ~0.3 s of 20 ms stages, then stopped


# ---------------------------------------------------------------------- store
def test_upload_count_limit_drops_the_oldest_unused(make_server, bikes_video):
    client = make_server(max_videos=2)
    ids = [upload(client, bikes_video).json()["video_id"] for _ in range(3)]
    assert client.get(f"/v1/videos/{ids[0]}").status_code == 404
    assert [client.get(f"/v1/videos/{i}").status_code for i in ids[1:]] == [200, 200]
    assert store_files(client) == sorted(f"{i}.mp4" for i in ids[1:])


def test_upload_size_limit_and_in_use_videos(make_server, bikes_video, gated):
    size_mb = bikes_video.stat().st_size / 2**20
    client = make_server(models={"gated": VideoQA(gated, route="visual")}, store_mb=size_mb * 1.5)
    first = upload(client, bikes_video).json()["video_id"]
    ask(client, first)  # in use until the gate opens
    assert gated.entered.wait(10)
    refused = upload(client, bikes_video)
    assert refused.status_code == 507 and refused.json()["error"]["type"] == "StoreFullError"
    assert store_files(client) == [f"{first}.mp4"]
    gated.gate.set()
    wait_job(client, client.app.state.videoqa.jobs.ids()[0])
    second = upload(client, bikes_video)
    assert second.status_code == 201  # the first, now unused, made room
    assert store_files(client) == [f"{second.json()['video_id']}.mp4"]


def test_ttl_and_shutdown_delete_the_uploads(tmp_path, tiny_qa, bikes_video):
    from fastapi.testclient import TestClient

    from videoqa.server import ServerConfig, create_app

    app = create_app(ServerConfig(ttl_s=60), {"tiny": tiny_qa})
    state = app.state.videoqa
    with TestClient(app) as client:
        old = upload(client, bikes_video).json()["video_id"]
        job = wait_job(client, ask(client, old).json()["job_id"])
        assert state.store.sweep(time.monotonic() + 30) == 0
        assert state.jobs.sweep(time.monotonic() + 30) == 0
        assert state.store.sweep(time.monotonic() + 61) == 1
        assert state.jobs.sweep(time.monotonic() + 61) == 1
        assert client.get(f"/v1/videos/{old}").status_code == 404
        assert client.get(f"/v1/jobs/{job['job_id']}").status_code == 404
        assert os.listdir(state.store.dir) == []
        upload(client, bikes_video)
        assert len(os.listdir(state.store.dir)) == 1
    assert not state.store.dir.exists()  # the whole store folder is gone after shutdown


# ----------------------------------------------------------------------- chat
def _chat(url, text="what is the man riding?", **extra):
    return {
        "model": "tiny",
        "messages": [
            {"role": "system", "content": "You answer questions about videos."},
            {"role": "user", "content": [{"type": "text", "text": text}, {"type": "video_url", "video_url": {"url": url}}]},
        ],
        "temperature": 0.0,
        **extra,
    }


def test_chat_completions_answers_with_the_evidence(make_server, bikes_video, tiny_qa):
    client = make_server()
    video_id = upload(client, bikes_video).json()["video_id"]
    response = client.post("/v1/chat/completions", json=_chat(video_id, videoqa={"choices": ["a bike", "a horse"]}))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion" and body["model"] == "tiny"
    message = body["choices"][0]["message"]
    want = tiny_qa.ask(bikes_video, "what is the man riding?", ["a bike", "a horse"])
    assert message == {"role": "assistant", "content": want.answer}
    extension = body["videoqa"]
    assert extension["choices"] == ["a bike", "a horse"]
    assert [e["time"] for e in extension["evidence"]] == [e.time for e in want.evidence]


def test_chat_with_a_data_url_stores_it_like_an_upload(make_server, bikes_video):
    client = make_server()
    url = "data:video/mp4;base64," + base64.b64encode(bikes_video.read_bytes()).decode()
    response = client.post("/v1/chat/completions", json=_chat(url))
    assert response.status_code == 200
    video_id = response.json()["videoqa"]["video_id"]
    assert client.get(f"/v1/videos/{video_id}").json()["probe"]["num_frames"] == 250


def test_chat_refusals(make_server, bikes_video):
    client = make_server()
    video_id = upload(client, bikes_video).json()["video_id"]
    assert client.post("/v1/chat/completions", json=_chat("https://example.com/a.mp4")).status_code == 422
    assert client.post("/v1/chat/completions", json=_chat(video_id, stream=True)).status_code == 422
    no_video = {"messages": [{"role": "user", "content": "what is this?"}]}
    assert "exactly one video_url" in client.post("/v1/chat/completions", json=no_video).json()["error"]["message"]
    bad64 = client.post("/v1/chat/completions", json=_chat("data:video/mp4;base64,@@@"))
    assert bad64.status_code == 422
    text = "data:video/mp4;base64," + base64.b64encode(b"hello, not a video").decode()
    not_video = client.post("/v1/chat/completions", json=_chat(text))
    assert not_video.status_code == 415 and not_video.json()["error"]["type"] == "UnsupportedVideoError"
    assert store_files(client) == [f"{video_id}.mp4"]


# ------------------------------------------------------------ models and CLI
def test_quality_questions_take_the_quality_path(make_server, bikes_video, tiny_qa):
    client = make_server(models={"tiny": VideoQA(tiny_qa.answerer, route="auto")})
    video_id = upload(client, bikes_video).json()["video_id"]
    job = wait_job(client, ask(client, video_id, "is the video blurry?", None).json()["job_id"])
    result = job["result"]
    assert result["route"] == "quality" and result["pretrained"] is True
    assert result["evidence"] and all(0 <= e["score"] <= 1 for e in result["evidence"])
    # the quality path reports its stages too (progress of a quality job)
    assert job["stages"] == ["quality_assessment", "decode_evidence"]
    assert len(result["quality_curve"]) == len(result["sampled_times"])


def test_models_load_once_through_the_resolver(monkeypatch, bikes_video):
    from fastapi.testclient import TestClient

    import videoqa.pipelines.resolve as resolve_module
    from videoqa.server import ServerConfig, create_app

    calls = []
    real = resolve_module.resolve

    def counting(spec, **options):
        calls.append((spec, options))
        return real(spec, **options)

    monkeypatch.setattr(resolve_module, "resolve", counting)
    app = create_app(ServerConfig(models=["tiny"], options={"top_k": 2, "frames": 8}))
    with TestClient(app) as client:
        video_id = upload(client, bikes_video).json()["video_id"]
        for question in ("one?", "two?", "three?"):
            result = wait_job(client, ask(client, video_id, question).json()["job_id"])["result"]
            assert len(result["evidence"]) == 2 and len(result["sampled_times"]) == 8
    assert calls == [("tiny", {"top_k": 2, "frames": 8})]


def test_serve_command_builds_the_configured_app(monkeypatch, tmp_path):
    import uvicorn
    from typer.testing import CliRunner

    from videoqa.cli.main import app as cli

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: started.update(app=app, host=host, port=port))
    result = CliRunner().invoke(
        cli, ["serve", "--model", "tiny", "--port", "8123", "--video-root", str(tmp_path),
              "--max-upload-mb", "5", "--workers", "2", "--queue", "3", "--top-k", "2"],
    )
    assert result.exit_code == 0, result.output
    state = started["app"].state.videoqa
    assert (started["host"], started["port"]) == ("127.0.0.1", 8123)
    assert list(state.models) == ["tiny"] and state.store.root == tmp_path.resolve()
    assert state.config.max_upload_bytes == 5 * 2**20
    assert (state.jobs.workers, state.jobs.queue_size) == (2, 3)
    assert not state.store.dir.exists()  # removed when uvicorn returns
    missing = CliRunner().invoke(cli, ["serve", "--model", "tiny", "--video-root", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "is not a folder" in missing.output
    unknown = CliRunner().invoke(cli, ["serve", "--model", "vgt:" + str(tmp_path / "none")])
    assert unknown.exit_code == 4
