"""The page in a real headless Chromium (Debian ``chromium``, driven by Playwright's
Python package): a real uvicorn server on 127.0.0.1, a real sample video uploaded, a
question asked, the answer awaited, an evidence mark clicked, the player's currentTime
checked, a screenshot taken. Also the static report.html that ``ask --save-evidence``
writes, opened from disk.

Skips only when Chromium or Playwright is absent (CI installs Chromium through ``make
sysdeps``). ``VIDEOQA_SERVE_SCREENSHOT=PATH`` also saves the page's screenshot to PATH
(how docs/images/serve.png is made).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).is_file():
    pytest.skip("Debian chromium is not installed (make sysdeps)", allow_module_level=True)

QUESTION = "what is the man riding?"
CHOICES = ["a bike", "a horse", "a car"]


@pytest.fixture
def live_server():
    import uvicorn

    from videoqa.api import VideoQA
    from videoqa.server import ServerConfig, create_app

    # a 2x2 grid view like `ask --grid 2`; quality questions go to the quality path
    visual = VideoQA.from_pretrained("tiny", route="auto", grid=2)
    app = create_app(ServerConfig(), {"tiny": visual})
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app.state.videoqa
    server.should_exit = True
    thread.join(15)


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


def _page(browser, errors):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return page


def test_page_uploads_asks_and_seeks_to_the_evidence(live_server, browser, bikes_video, tmp_path):
    url, state = live_server
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(url + "/")
    page.wait_for_function("document.querySelectorAll('#model option').length > 0")
    page.set_input_files("#file", str(bikes_video))
    page.click("#upload")
    page.wait_for_function("document.getElementById('video-status').textContent.includes('fps')")
    assert "10.00 s" in page.text_content("#video-status")
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=15000)
    page.fill("#question", QUESTION)
    page.fill("#choices", "\n".join(CHOICES))
    page.click("#ask")
    page.wait_for_selector("body[data-answered=true]", timeout=60000)

    [job_id] = state.jobs.ids()
    result = state.jobs.get(job_id).run.result
    assert page.text_content("#answer-text") == result.answer
    assert page.locator(".probs tr").count() == 1 + len(CHOICES)
    marks = page.locator(".timeline .mark")
    assert marks.count() == len(result.evidence)
    assert "random weights" in page.text_content("#result")

    # the evidence mark of the lowest-ranked frame: a seek the player has to make
    mark = marks.nth(len(result.evidence) - 1)
    target = float(mark.get_attribute("data-time"))
    assert target == pytest.approx(result.evidence[-1].time)
    mark.click()
    current = page.evaluate("document.getElementById('player').currentTime")
    assert current == pytest.approx(target, abs=0.05)
    page.wait_for_function("document.querySelector('#viewer img') && document.querySelector('#viewer img').complete")
    assert page.evaluate("document.querySelector('#viewer img').naturalWidth") == 640

    # hovering the best mark shows its frame, score and facts
    marks.nth(0).hover()
    tooltip = page.locator("#tooltip")
    assert tooltip.is_visible()
    assert f"{result.evidence[0].score:.3f}" in tooltip.text_content()
    assert result.evidence[0].facts[0] in tooltip.text_content()
    page.wait_for_function("document.querySelector('#tooltip img') && document.querySelector('#tooltip img').naturalWidth > 0")

    shot = tmp_path / "serve.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("VIDEOQA_SERVE_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["VIDEOQA_SERVE_SCREENSHOT"])

    # the grid view with each cell's time, served by the job
    cells = page.locator(".grid-cell")
    assert cells.count() == 4
    assert [cells.nth(i).text_content() for i in range(4)] == [f"{c.time:.2f} s" for c in result.grid.cells]
    assert page.evaluate("document.querySelector('.gridview img').naturalWidth") == result.grid.size
    cells.nth(3).click()
    assert page.evaluate("document.getElementById('player').currentTime") == pytest.approx(result.grid.cells[3].time, abs=0.05)

    # a second question about the same video: a quality one, with its curve
    page.fill("#question", "is the video blurry?")
    page.fill("#choices", "")
    page.click("#ask")
    page.wait_for_function("document.body.dataset.answered === 'true' && document.querySelector('svg.quality')", timeout=60000)
    quality = state.jobs.get([j for j in state.jobs.ids() if j != job_id][0]).run.result
    assert quality.route == "quality"
    # every second of the video on the curve (the result's quality_curve), not only the evidence
    assert len(quality.quality_curve) == len(quality.sampled_times) > len(quality.evidence)
    assert page.locator("svg.quality circle").count() == len(quality.quality_curve)
    assert page.locator("#history div").count() == 2
    assert errors == []


def test_report_html_opens_from_disk_and_seeks(browser, bikes_video, tiny_qa, tmp_path):
    from videoqa.pipelines.evidence import save_evidence

    run = tiny_qa.run(bikes_video, QUESTION, CHOICES)
    saved = save_evidence(run, tmp_path / "evidence")
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto((tmp_path / "evidence" / "report.html").as_uri())
    page.wait_for_selector("body[data-answered=true]")
    assert page.text_content("#answer-text") == saved.answer
    marks = page.locator(".timeline .mark")
    assert marks.count() == len(saved.evidence)
    marks.nth(1).click()
    current = page.evaluate("document.getElementById('player').currentTime")
    assert current == pytest.approx(saved.evidence[1].time, abs=0.05)
    assert page.evaluate("document.querySelector('#viewer img').src").startswith("data:image/jpeg;base64,")
    assert page.locator(".card img").count() == len(saved.evidence)
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert errors == []


def test_report_renders_speech_spans_quality_curve_and_uncertainty(browser, bikes_video, tiny_qa, tmp_path):
    from videoqa.pipelines.report import render_report
    from videoqa.pipelines.schema import Evidence

    result = tiny_qa.ask(bikes_video, QUESTION, CHOICES).model_copy(deep=True)
    result.route = "quality"
    result.uncertain = True
    result.uncertain_reason = "a tie between the top two choices"
    result.evidence = [
        Evidence(time=2.0, score=0.25, modality="quality", facts=["quality 4.00/5 over 2.0-3.0 s"]),
        Evidence(time=5.0, score=0.75, modality="quality", weight_map=[[0.0, 1.0], [0.5, 0.25]], image="w.png"),
        Evidence(time=6.0, score=0.5, modality="speech", start=6.0, end=8.5, words=["a", "red", "bike"]),
    ]
    from PIL import Image

    html = render_report(result, {"w.png": Image.new("RGB", (64, 32), (40, 90, 160))})
    (tmp_path / "report.html").write_text(html, encoding="utf-8")
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto((tmp_path / "report.html").as_uri())
    page.wait_for_selector("body[data-answered=true]")
    assert "uncertain: a tie between the top two choices" in page.text_content("#result")
    speech = page.locator(".timeline .mark.speech")
    line_width = page.evaluate("document.getElementById('timeline').clientWidth")
    width = speech.evaluate("e => e.getBoundingClientRect().width")
    assert width == pytest.approx(line_width * 2.5 / 10.0, rel=0.05)  # 6.0-8.5 s of 10 s
    assert "said: “a red bike”" in page.text_content("#result")
    dots = page.locator("svg.quality circle")
    assert dots.count() == 2  # the two quality seconds: q = 5 - 4 * badness
    titles = [dots.nth(i).text_content() for i in range(2)]
    assert titles == ["2.00 s: quality 4.00 / 5", "5.00 s: quality 2.00 / 5"]
    cells = page.locator(".card .weights .weight")  # the per-region weights over its frame
    assert cells.count() == 4
    opacities = [float(cells.nth(i).evaluate("e => e.style.opacity")) for i in range(4)]
    assert opacities == pytest.approx([0.0, 0.7, 0.35, 0.175])
    assert errors == []
