// The live page of `videoqa serve`: upload or pick a video, ask, follow the job's
// server-sent events, render the answer with render.js, seek the player from the marks.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const { renderResult, setPlayhead, el } = window.VideoQARender;
  const state = { videoId: null, result: null, jobId: null, events: null };

  async function api(path, options) {
    const response = await fetch(path, options);
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      const detail = body && body.error ? `${body.error.type}: ${body.error.message}` : response.statusText;
      throw new Error(`${response.status} ${detail}`);
    }
    return body;
  }

  function status(id, text, isError) {
    $(id).textContent = text;
    $(id).classList.toggle("error", !!isError);
  }

  async function loadModels() {
    const models = await api("/v1/models");
    const select = $("model");
    select.replaceChildren(
      ...models.data.map((m) => el("option", { value: m.id, text: m.pretrained ? m.id : `${m.id} (random weights)` }))
    );
    const info = await api("/v1/health");
    $("server-info").textContent = `· ${info.workers} worker(s), queue ${info.queue_size}`;
    if (info.video_root) {
      const lib = await api("/v1/library");
      $("library-row").hidden = false;
      $("library").append(...lib.videos.map((v) => el("option", { value: v, text: v })));
    }
  }

  function useVideo(body) {
    state.videoId = body.video_id;
    const p = body.probe;
    status("video-status", `${body.name}: ${p.duration.toFixed(2)} s, ${p.width}×${p.height}, ${p.fps.toFixed(2)} fps, ${p.codec}`);
    $("player").src = `/v1/videos/${encodeURIComponent(body.video_id)}/file`;
    $("ask").disabled = false;
    $("result").replaceChildren();
    $("timeline-slot").replaceChildren();
    $("viewer").replaceChildren();
    $("history").replaceChildren();
  }

  async function upload() {
    const file = $("file").files[0];
    if (!file) return status("video-status", "choose a video file first", true);
    const form = new FormData();
    form.append("file", file, file.name);
    status("video-status", `uploading ${file.name} …`);
    try {
      useVideo(await api("/v1/videos", { method: "POST", body: form }));
    } catch (err) {
      status("video-status", `upload refused: ${err.message}`, true);
    }
  }

  async function pick() {
    const path = $("library").value;
    if (!path) return;
    try {
      useVideo(
        await api("/v1/videos", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ path }) })
      );
    } catch (err) {
      status("video-status", `refused: ${err.message}`, true);
    }
  }

  function frameAt(seconds) {
    return `/v1/videos/${encodeURIComponent(state.videoId)}/frames/${Number(seconds).toFixed(3)}.jpg`;
  }

  function seek(seconds, ev) {
    const player = $("player");
    player.pause();
    player.currentTime = seconds;
    setPlayhead(state.result, seconds);
    const src = frameAt(ev ? ev.time : seconds);
    $("viewer").replaceChildren(
      el("img", { src, alt: `frame at ${seconds.toFixed(2)} s` }),
      el("div", { class: "caption", text: `frame at ${Number(seconds).toFixed(2)} s${ev ? ` · score ${Number(ev.score).toFixed(3)}` : ""}` })
    );
  }

  function show(result, jobId) {
    state.result = result;
    const ctx = {
      frameSrc: (ev) => frameAt(ev.time),
      gridSrc: result.grid ? `/v1/jobs/${encodeURIComponent(jobId)}/grid.png` : null,
      seek,
    };
    renderResult($("result"), $("timeline-slot"), result, ctx);
    $("history").prepend(el("div", { text: `${result.question} → ${result.answer} (${result.model.name}, ${(result.timings.total || 0).toFixed(2)} s)` }));
    document.body.dataset.answered = "true";
  }

  function parseChoices() {
    const lines = $("choices").value.split("\n").map((s) => s.trim()).filter(Boolean);
    return lines.length ? lines : null;
  }

  async function ask() {
    const question = $("question").value.trim();
    if (!question) return status("ask-status", "type a question", true);
    if (state.events) state.events.close();
    document.body.dataset.answered = "false";
    $("ask").disabled = true;
    try {
      const job = await api("/v1/ask", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ video_id: state.videoId, question, choices: parseChoices(), model: $("model").value }),
      });
      state.jobId = job.job_id;
      follow(job.job_id);
    } catch (err) {
      status("ask-status", `refused: ${err.message}`, true);
      $("ask").disabled = false;
    }
  }

  function follow(jobId) {
    status("ask-status", "queued …");
    // leaving the page cancels the question: nobody would see its answer
    const events = new EventSource(`/v1/jobs/${encodeURIComponent(jobId)}/events?cancel_on_disconnect=true`);
    state.events = events;
    events.addEventListener("queued", (e) => status("ask-status", `queued (position ${JSON.parse(e.data).position})`));
    events.addEventListener("stage", (e) => status("ask-status", `running: ${JSON.parse(e.data).stage} …`));
    const finish = async (e) => {
      events.close();
      $("ask").disabled = false;
      const data = JSON.parse(e.data);
      if (data.status !== "done") {
        const error = data.error || { type: data.status, message: "" };
        return status("ask-status", `${data.status}: ${error.type}: ${error.message}`, true);
      }
      const job = await api(`/v1/jobs/${encodeURIComponent(jobId)}`);
      status("ask-status", `answered in ${(job.result.timings.total || 0).toFixed(2)} s`);
      show(job.result, jobId);
    };
    events.addEventListener("end", finish);
    events.onerror = () => {
      if (events.readyState === EventSource.CLOSED) status("ask-status", "lost the connection to the server", true);
    };
  }

  $("upload").addEventListener("click", upload);
  $("library").addEventListener("change", pick);
  $("ask").addEventListener("click", ask);
  $("question").addEventListener("keydown", (e) => e.key === "Enter" && !$("ask").disabled && ask());
  $("player").addEventListener("timeupdate", () => setPlayhead(state.result, $("player").currentTime));
  loadModels().catch((err) => status("ask-status", `cannot reach the server: ${err.message}`, true));
})();
