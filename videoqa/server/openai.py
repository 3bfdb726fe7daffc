"""``POST /v1/chat/completions``: the OpenAI chat API with a video.

The last user message carries the question as ``text`` parts and the video as one
``video_url`` part (the format vLLM serves video in)::

    {"model": "tiny",
     "messages": [{"role": "user", "content": [
         {"type": "text", "text": "what is the man riding?"},
         {"type": "video_url", "video_url": {"url": "<video_id> | file:///... | data:video/mp4;base64,..."}}]}],
     "videoqa": {"choices": ["a bike", "a horse"]}}

The ``url`` may be a ``video_id`` from ``POST /v1/videos``, a path or ``file://`` URL
under ``--video-root`` (403 outside it), or a base64 ``data:`` URL (stored like an
upload, same size limit); remote ``http(s)`` URLs are refused (the server fetches
nothing). The reply is a ``chat.completion`` whose message is the answer and whose
``videoqa`` extension field holds the whole AskResult (the evidence). ``stream`` is not
supported. A client that disconnects cancels its job.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any
from urllib.parse import unquote, urlparse

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from videoqa.errors import UsageError
from videoqa.server.errors import PayloadTooLargeError
from videoqa.server.jobs import JobStatus


class ChatExtension(BaseModel):
    """The request's ``videoqa`` field: ``choices`` for multiple choice."""

    model_config = ConfigDict(extra="forbid")

    choices: list[str] | None = Field(None, max_length=64)


class ChatRequest(BaseModel):
    """What we read of an OpenAI chat request (other fields, e.g. ``temperature``, are
    accepted and ignored: the answer is not sampled)."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False
    videoqa: ChatExtension | None = None


def parse_message(messages: list[dict[str, Any]]) -> tuple[str, str]:
    """``(question, video url)`` of the last user message.

    Raises:
        UsageError: no user message, no text, or not exactly one ``video_url`` part.
    """
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise UsageError("the request has no user message")
    content = users[-1].get("content")
    parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
    if not isinstance(parts, list):
        raise UsageError("a message's content must be a string or a list of parts")
    texts, urls = [], []
    for part in parts:
        if not isinstance(part, dict):
            raise UsageError("each content part must be an object with a 'type'")
        if part.get("type") == "text":
            texts.append(str(part.get("text", "")))
        elif part.get("type") == "video_url":
            value = part.get("video_url")
            url = value.get("url") if isinstance(value, dict) else value
            if not isinstance(url, str) or not url:
                raise UsageError("a video_url part needs {'url': ...}")
            urls.append(url)
        else:
            raise UsageError(f"unsupported content part type {part.get('type')!r} (text, video_url)")
    question = " ".join(t.strip() for t in texts if t.strip())
    if not question:
        raise UsageError("the user message has no question text")
    if len(urls) != 1:
        raise UsageError(f"the user message needs exactly one video_url part, got {len(urls)}")
    return question, urls[0]


def decode_data_url(url: str, max_bytes: int) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep or ";base64" not in header:
        raise UsageError("a data: video URL must be base64 (data:video/mp4;base64,...)")
    if len(payload) * 3 // 4 > max_bytes:
        raise PayloadTooLargeError(
            f"the video in the data: URL exceeds {max_bytes} bytes (--max-upload-mb)"
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as err:
        raise UsageError(f"the data: URL is not valid base64: {err}") from None


def add_chat_route(app: FastAPI, state: Any) -> None:
    """Add ``POST /v1/chat/completions`` for the server ``state``
    (:class:`~videoqa.server.app.ServerState`)."""
    from videoqa.server.app import _parse, register_video_url, wait_for_job

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> JSONResponse:
        body = _parse(ChatRequest, await request.body())
        if body.stream:
            raise UsageError("stream=true is not supported: the answer is one message")
        question, url = parse_message(body.messages)
        video_id = await register_video_url(state, url)
        choices = body.videoqa.choices if body.videoqa else None
        job = state.submit(video_id, question, choices, body.model)
        job = await wait_for_job(state, job, request, state.config.chat_timeout_s)
        if job.status is not JobStatus.DONE:
            error = dict((job.error or {}).get("error") or {})
            if job.status is not JobStatus.FAILED:
                error = {
                    "type": error.get("type", "JobCancelledError"),
                    "message": error.get("message", "the job did not finish"),
                    "status": 504,
                }
            return JSONResponse({"error": error}, status_code=int(error.get("status", 500)))
        result = job.run.result
        text = result.answer if not result.explanation else f"{result.answer} ({result.explanation})"
        return JSONResponse(
            {
                "id": f"chatcmpl-{job.job_id}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": job.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "videoqa": {"job_id": job.job_id, "video_id": video_id, **result.model_dump(mode="json")},
            }
        )


def video_url_kind(url: str) -> str:
    """``data``, ``file``, ``remote`` or ``id_or_path`` for a ``video_url``."""
    scheme = urlparse(url).scheme.lower()
    if scheme == "data":
        return "data"
    if scheme == "file":
        return "file"
    if scheme in ("http", "https", "ftp", "s3", "gs"):
        return "remote"
    return "id_or_path"


def file_url_path(url: str) -> str:
    """The path of a ``file://`` URL (percent-decoded)."""
    return unquote(urlparse(url).path)

