"""Receive a ``multipart/form-data`` upload straight into the store, bounded in size.

The body is parsed as it arrives (python-multipart's streaming parser): a declared
``Content-Length`` over the limit is refused before a byte of the body is read, and a
body that grows past it (chunked, or a lying length) is refused as soon as it does; the
partial file is deleted in every failure.
"""

from __future__ import annotations

from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from videoqa.server.errors import NotMultipartError, PayloadTooLargeError
from videoqa.server.store import VideoStore

# Room for the multipart framing (boundaries, part headers, small fields) beyond the file.
FRAMING_BYTES = 64 * 1024
FILE_FIELD = "file"


def check_declared_length(request: Request, max_bytes: int) -> int | None:
    """The request's ``Content-Length`` (None when absent).

    Raises:
        PayloadTooLargeError: it exceeds ``max_bytes`` plus the multipart framing.
    """
    declared = request.headers.get("content-length")
    if declared is None:
        return None
    try:
        length = int(declared)
    except ValueError:
        raise NotMultipartError(f"a Content-Length that is not a number: {declared!r}") from None
    if length > max_bytes + FRAMING_BYTES:
        raise PayloadTooLargeError(
            f"the upload is {length} bytes; this server accepts at most {max_bytes} bytes "
            f"(--max-upload-mb)"
        )
    return length


class _FilePart:
    """Callbacks of the multipart parser: the ``file`` part goes to ``path``."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.filename: str | None = None
        self.size = 0
        self._handle = None
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._in_file = False

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._field = self._value = b""
        self._in_file = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        if name == FILE_FIELD and filename is not None and self._handle is None:
            self.filename = filename.decode("utf-8", "replace") or "upload"
            self._handle = open(self.path, "wb")  # noqa: SIM115 - closed in close()
            self._in_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            return
        self.size += end - start
        if self.size > self.max_bytes:
            raise PayloadTooLargeError(
                f"the upload exceeds {self.max_bytes} bytes (--max-upload-mb); stopped reading"
            )
        self._handle.write(data[start:end])

    def _part_end(self) -> None:
        self._in_file = False

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


async def receive_upload(request: Request, store: VideoStore, max_bytes: int) -> tuple[Path, str, int]:
    """Stream the ``file`` part of a multipart request into a new part file of ``store``.

    Returns:
        ``(path, filename, size in bytes)``; the caller owns (and must delete) ``path``.

    Raises:
        PayloadTooLargeError: over ``max_bytes`` (declared or received); nothing kept.
        NotMultipartError: not ``multipart/form-data`` with a boundary, or no ``file``
            part; nothing kept.
    """
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise NotMultipartError(
            "upload a video as multipart/form-data with a 'file' field "
            "(curl -F file=@clip.mp4 ...), or send JSON {\"path\": ...} for a file under "
            "--video-root"
        )
    check_declared_length(request, max_bytes)
    path = store.new_part()
    part = _FilePart(path, max_bytes)
    parser = MultipartParser(params[b"boundary"], part.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        part.close()
        if part.filename is None:
            raise NotMultipartError(f"the upload has no {FILE_FIELD!r} file part")
    except BaseException as exc:
        part.close()
        path.unlink(missing_ok=True)
        if isinstance(exc, PayloadTooLargeError | NotMultipartError):
            raise
        if isinstance(exc, Exception) and type(exc).__module__.startswith("python_multipart"):
            raise NotMultipartError(f"a malformed multipart body: {exc}") from None
        raise
    return path, part.filename, part.size
