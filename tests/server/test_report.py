"""report.html, the self-contained page ``videoqa ask --save-evidence DIR`` writes
(rendered in a browser by test_browser.py; here: its content and its safety)."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from videoqa.cli.main import app
from videoqa.pipelines.evidence import save_evidence
from videoqa.pipelines.report import render_report, web_asset

DATA = re.compile(r'<script type="application/json" id="report-data">(.*?)</script>', re.S)


def _payload(html: str) -> dict:
    [raw] = DATA.findall(html)
    return json.loads(raw)


def test_report_embeds_the_result_and_every_frame(tiny_qa, bikes_video, tmp_path):
    run = tiny_qa.run(bikes_video, "what is the man riding?", ["a bike", "a horse"])
    saved = save_evidence(run, tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    payload = _payload(html)
    assert payload["result"] == json.loads((tmp_path / "result.json").read_text())
    assert sorted(payload["images"]) == sorted(e.image for e in saved.evidence)
    assert all(uri.startswith("data:image/jpeg;base64,") for uri in payload["images"].values())
    assert payload["video_src"] == bikes_video.resolve().as_uri()
    # one file: the page's own renderer and style inlined, nothing fetched
    assert web_asset("render.js").splitlines()[0] in html
    assert "/static/" not in html and 'src="http' not in html and "<link rel=\"stylesheet\"" not in html


def test_report_keeps_hostile_text_inert(tiny_qa, bikes_video):
    question = "</script><script>alert(1)</script><!-- is it?"
    result = tiny_qa.ask(bikes_video, question, ["yes", "no"])
    html = render_report(result, {})
    assert "<script>alert(1)" not in html
    assert html.count("</script>") == 3  # the data block and the two scripts, nothing more
    assert _payload(html)["result"]["question"] == question


def test_ask_save_evidence_writes_report_html(bikes_video, tmp_path):
    out = tmp_path / "ev"
    result = CliRunner().invoke(
        app,
        ["ask", str(bikes_video), "what is the man riding?", "--model", "tiny", "--grid", "2",
         "--choices", "a bike", "a horse", "--save-evidence", str(out)],
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert "report.html" in names and "grid.png" in names and "result.json" in names
    payload = _payload((out / "report.html").read_text(encoding="utf-8"))
    assert "grid.png" in payload["images"]
    assert [c["time"] for c in payload["result"]["grid"]["cells"]] == sorted(
        c["time"] for c in payload["result"]["grid"]["cells"]
    )
    assert len(payload["result"]["grid"]["cells"]) == 4
