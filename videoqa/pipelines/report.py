"""One self-contained HTML file showing an answer the way ``videoqa serve``'s page does.

The page's assets (``videoqa/resources/web/``: ``render.js``, ``style.css`` and the
``report.html`` template) are the ones the server serves; here they are inlined with the
:class:`~videoqa.pipelines.schema.AskResult` JSON and the evidence frames (as JPEG data
URIs), so ``report.html`` opens from disk with no server and no network: the evidence as
marks on a timeline (x = time in seconds, height = saliency), the frames with their
facts, the grid view with each cell's time, and the per-second quality curve of a
quality answer. The video itself is referenced by its ``file://`` URL, not embedded.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from importlib import resources

from PIL import Image

from videoqa.pipelines.schema import AskResult

__all__ = ["REPORT_NAME", "render_report", "web_asset"]

REPORT_NAME = "report.html"
_JPEG_QUALITY = 85


def web_asset(name: str) -> str:
    """The text of the page asset ``name`` (``render.js``, ``style.css``, ``app.js``,
    ``index.html``, ``report.html``) shipped in ``videoqa/resources/web/``.

    Raises:
        FileNotFoundError: no such asset.
    """
    return resources.files("videoqa.resources").joinpath("web", name).read_text(encoding="utf-8")


def _script_safe(text: str) -> str:
    """``text`` made safe inside a ``<script>`` element (no ``</script>`` or ``<!--``)."""
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _jpeg_data_uri(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=_JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def render_report(
    result: AskResult, images: Mapping[str, Image.Image], video_src: str | None = None
) -> str:
    """The report page of ``result`` as one HTML string.

    Args:
        result: the answer; ``evidence[i].image`` and ``grid.image`` name entries of
            ``images`` (as :func:`~videoqa.pipelines.evidence.save_evidence` fills them).
        images: image name → picture; embedded as JPEG data URIs.
        video_src: URL the page's player loads (e.g. ``file:///…/clip.mp4``); ``None``
            hides the player.

    Returns:
        the HTML text (UTF-8), needing no other file
        (:func:`~videoqa.pipelines.evidence.write_report` writes it beside the evidence).
    """
    payload = {
        "result": result.model_dump(mode="json"),
        "images": {name: _jpeg_data_uri(image) for name, image in images.items()},
        "video_src": video_src,
    }
    page = web_asset("report.html")
    parts = {
        "/*STYLE*/": web_asset("style.css").replace("</", "<\\/"),
        "/*RENDER*/": _script_safe(web_asset("render.js")),
        "/*DATA*/": json.dumps(payload).replace("<", "\\u003c"),  # no tag can start inside
    }
    for marker, text in parts.items():
        if page.count(marker) != 1:
            raise RuntimeError(f"the report template must hold {marker} once")
        head, tail = page.split(marker)
        page = head + text + tail
    return page
