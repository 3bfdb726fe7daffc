// Renders one AskResult (the JSON of `videoqa ask --json`) into the page: the answer with
// per-choice probabilities, the evidence as marks on a timeline (x = time in seconds over
// the video's duration, height = saliency score), the evidence frames with their facts,
// the grid view with each cell's time, and the per-second quality curve of quality
// answers. Shared by the live page of `videoqa serve` (app.js) and the static
// report.html that `videoqa ask --save-evidence DIR` writes. No dependencies, no build.
//
// ctx: {
//   frameSrc(evidence, rank) -> URL of the evidence frame image, or null,
//   gridSrc -> URL of the grid image, or null,
//   seek(seconds, evidence) -> called when a mark, a frame card or a grid cell is clicked,
// }
"use strict";

(function (root) {
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children || []) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    return node;
  }

  function fmt(seconds) {
    return `${Number(seconds).toFixed(2)} s`;
  }

  function isQuality(result, ev) {
    // the quality path's evidence may carry the default modality "visual"
    return ev.modality === "quality" || (result.route === "quality" && (ev.modality || "visual") === "visual");
  }

  // Seconds of the evidence's span: [start, end] for speech/segment evidence, else null.
  function span(ev) {
    if (ev.start === null || ev.start === undefined) return null;
    if (ev.end === null || ev.end === undefined) return null;
    return [ev.start, ev.end];
  }

  function weightOverlay(ev) {
    const map = ev.weight_map || [];
    if (!map.length || !map[0].length) return null;
    const rows = map.length;
    const cols = map[0].length;
    const grid = el("div", { class: "weights", title: "per-region weights" });
    grid.style.gridTemplateColumns = `repeat(${cols}, 1fr)`;
    grid.style.gridTemplateRows = `repeat(${rows}, 1fr)`;
    for (const row of map) {
      for (const w of row) {
        const cell = el("div", { class: "weight" });
        cell.style.opacity = Math.max(0, Math.min(1, Number(w))) * 0.7;
        grid.append(cell);
      }
    }
    return grid;
  }

  function frameFigure(ev, rank, ctx) {
    const src = ctx.frameSrc ? ctx.frameSrc(ev, rank) : null;
    if (!src) return null;
    return el("div", { class: "frame" }, [
      el("img", { src: src, alt: `evidence frame at ${fmt(ev.time)}`, loading: "lazy" }),
      weightOverlay(ev),
    ]);
  }

  function factsList(ev) {
    const items = [];
    if (ev.supports) items.push(el("li", { text: `supports: ${ev.supports}` }));
    for (const fact of ev.facts || []) items.push(el("li", { text: fact }));
    if (ev.words && ev.words.length) {
      items.push(el("li", { class: "words", text: `said: “${ev.words.join(" ")}”` }));
    }
    return el("ul", { class: "facts" }, items);
  }

  function evidenceLabel(result, ev) {
    const where = span(ev) ? `${fmt(ev.start)}–${fmt(ev.end)}` : fmt(ev.time);
    const kind = ev.modality && ev.modality !== "visual" ? `${ev.modality} · ` : "";
    const what = isQuality(result, ev) ? "badness" : "saliency";
    return `${kind}${where} · ${what} ${Number(ev.score).toFixed(3)}`;
  }

  function renderAnswer(result) {
    const p = result.probabilities[result.answer_index];
    const box = el("div", { class: "answer" }, [
      el("div", { class: "answer-text" }, [
        el("span", { class: "label", text: "A: " }),
        el("strong", { id: "answer-text", text: result.answer }),
        el("span", { class: "p", text: ` (p = ${Number(p).toFixed(3)})` }),
      ]),
    ]);
    if (result.explanation) box.append(el("div", { class: "explanation", text: result.explanation }));
    if (!result.pretrained) {
      box.append(el("div", { class: "flag random", text: "untrained model (random weights): not a real answer" }));
    }
    if (result.uncertain) {
      const why = result.uncertain_reason ? `: ${result.uncertain_reason}` : "";
      box.append(el("div", { class: "flag uncertain", text: `uncertain${why}` }));
    }
    for (const warning of result.warnings || []) {
      box.append(el("div", { class: "flag warning", text: `warning: ${warning}` }));
    }
    const table = el("table", { class: "probs" }, [
      el("tr", {}, [el("th", { text: result.open_ended ? "answer (top of the vocabulary)" : "choice" }), el("th", { text: "probability" })]),
    ]);
    result.choices.forEach((choice, i) => {
      const prob = Number(result.probabilities[i]);
      const bar = el("div", { class: "bar" });
      bar.style.width = `${(prob * 100).toFixed(1)}%`;
      table.append(
        el("tr", { class: i === result.answer_index ? "chosen" : "" }, [
          el("td", { text: choice }),
          el("td", {}, [el("div", { class: "barbox" }, [bar]), el("span", { class: "num", text: prob.toFixed(3) })]),
        ])
      );
    });
    box.append(table);
    const model = result.model || {};
    box.append(
      el("div", { class: "meta", text: `${result.route} path · model ${model.name} (${model.arch})${model.pretrained ? "" : ", random weights"} · sampler ${result.sampler}` })
    );
    return box;
  }

  // The timeline under the player: sampled times as ticks, evidence as marks.
  function renderTimeline(result, ctx) {
    const duration = Math.max(Number(result.video.duration) || 0, 1e-6);
    const line = el("div", { class: "timeline", id: "timeline" });
    const pos = (t) => `${Math.max(0, Math.min(100, (100 * t) / duration))}%`;
    for (const t of result.sampled_times || []) {
      const tick = el("div", { class: "tick", title: `sampled ${fmt(t)}` });
      tick.style.left = pos(t);
      line.append(tick);
    }
    const maxScore = Math.max(1e-9, ...result.evidence.map((e) => Number(e.score)));
    const tip = el("div", { class: "tooltip", id: "tooltip" });
    const labelled = []; // times of the labels drawn so far: no two closer than 6% of the line
    result.evidence.forEach((ev, rank) => {
      const s = span(ev);
      const mark = el("button", {
        class: `mark ${ev.modality || "visual"}${s ? " span" : ""}`,
        "data-time": String(s ? s[0] : ev.time),
        "data-rank": String(rank + 1),
        title: evidenceLabel(result, ev),
        "aria-label": `evidence ${rank + 1} at ${fmt(ev.time)}`,
        onclick: () => ctx.seek && ctx.seek(s ? s[0] : ev.time, ev),
        onmouseenter: () => showTip(tip, result, ev, rank, ctx, mark),
        onmouseleave: () => tip.classList.remove("shown"),
      });
      mark.style.left = pos(s ? s[0] : ev.time);
      if (s) mark.style.width = `${Math.max(0.5, (100 * (s[1] - s[0])) / duration)}%`;
      mark.style.height = `${12 + (36 * Number(ev.score)) / maxScore}px`;
      line.append(mark);
      if (labelled.every((t) => Math.abs(t - ev.time) > 0.06 * duration)) {
        labelled.push(ev.time);
        const label = el("div", { class: "mark-label", text: `${Number(ev.time).toFixed(1)}s · ${Number(ev.score).toFixed(2)}` });
        label.style.left = pos(ev.time);
        line.append(label);
      }
    });
    const head = el("div", { class: "playhead", id: "playhead" });
    line.append(head);
    const axis = el("div", { class: "axis" }, [
      el("span", { text: "0 s" }),
      el("span", { text: `marks: evidence (height = ${result.route === "quality" ? "badness" : "saliency"}); ticks: sampled frames` }),
      el("span", { text: fmt(duration) }),
    ]);
    return el("div", { class: "timeline-box" }, [line, axis, tip]);
  }

  function showTip(tip, result, ev, rank, ctx, mark) {
    tip.replaceChildren(
      el("div", { class: "tip-title", text: `#${rank + 1} · ${evidenceLabel(result, ev)}` }),
      frameFigure(ev, rank, ctx),
      factsList(ev)
    );
    const box = mark.parentElement.getBoundingClientRect();
    const at = mark.getBoundingClientRect();
    const left = Math.min(Math.max(0, at.left - box.left - 120), Math.max(0, box.width - 260));
    tip.style.left = `${left}px`;
    tip.classList.add("shown");
  }

  function renderEvidenceCards(result, ctx) {
    const cards = result.evidence.map((ev, rank) =>
      el(
        "div",
        {
          class: "card",
          "data-time": String(ev.time),
          onclick: () => ctx.seek && ctx.seek(span(ev) ? ev.start : ev.time, ev),
        },
        [el("div", { class: "card-title", text: `#${rank + 1} · ${evidenceLabel(result, ev)}` }), frameFigure(ev, rank, ctx), factsList(ev)]
      )
    );
    return el("div", { class: "section" }, [el("h3", { text: "Evidence" }), el("div", { class: "cards" }, cards)]);
  }

  function renderGrid(result, ctx) {
    if (!result.grid) return null;
    const n = result.grid.grid;
    const box = el("div", { class: "gridview" });
    if (ctx.gridSrc) box.append(el("img", { src: ctx.gridSrc, alt: `${n}×${n} grid view` }));
    const cells = el("div", { class: "grid-cells" });
    cells.style.gridTemplateColumns = `repeat(${n}, 1fr)`;
    cells.style.gridTemplateRows = `repeat(${n}, 1fr)`;
    for (const cell of result.grid.cells) {
      const c = el("button", { class: "grid-cell", "data-time": String(cell.time), onclick: () => ctx.seek && ctx.seek(cell.time, null) }, [
        el("span", { text: fmt(cell.time) }),
      ]);
      c.style.gridRow = String(cell.row + 1);
      c.style.gridColumn = String(cell.col + 1);
      cells.append(c);
    }
    box.append(cells);
    return el("div", { class: "section" }, [el("h3", { text: `Grid view (${n}×${n}): each cell's time` }), box]);
  }

  // Quality (1-5) per second: the result's quality_curve (every second of the video) when
  // the quality path gave one, else the seconds the quality answer lists (the score of
  // quality evidence is its badness (5 - q) / 4, so q = 5 - 4 * score).
  function renderQualityCurve(result, ctx) {
    const curve = result.quality_curve || [];
    const everySecond = curve.length > 0;
    const points = (everySecond
      ? curve.map((p) => [(Number(p.start) + Number(p.end)) / 2, Number(p.score)])
      : result.evidence
          .filter((ev) => isQuality(result, ev))
          .map((ev) => [span(ev) ? ev.start : ev.time, 5 - 4 * Number(ev.score)])
    ).sort((a, b) => a[0] - b[0]);
    if (!points.length) return null;
    const duration = Math.max(Number(result.video.duration) || 0, 1e-6);
    const W = 600, H = 160, P = 28;
    const x = (t) => P + ((W - 2 * P) * t) / duration;
    const y = (q) => H - P - ((H - 2 * P) * (q - 1)) / 4;
    const plot = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "quality", role: "img" });
    for (const q of [1, 2, 3, 4, 5]) {
      plot.append(svg("line", { x1: P, x2: W - P, y1: y(q), y2: y(q), class: "gridline" }));
      const label = svg("text", { x: 4, y: y(q) + 4, class: "axislabel" });
      label.textContent = String(q);
      plot.append(label);
    }
    plot.append(svg("polyline", { points: points.map(([t, q]) => `${x(t)},${y(q)}`).join(" "), class: "curve" }));
    for (const [t, q] of points) {
      const dot = svg("circle", { cx: x(t), cy: y(q), r: 4, class: "dot" });
      const title = svg("title", {});
      title.textContent = `${fmt(t)}: quality ${q.toFixed(2)} / 5`;
      dot.append(title);
      dot.addEventListener("click", () => ctx.seek && ctx.seek(t, null));
      plot.append(dot);
    }
    const end = svg("text", { x: W - P - 30, y: H - 6, class: "axislabel" });
    end.textContent = fmt(duration);
    plot.append(end);
    const heading = everySecond
      ? "Quality per second (1–5)"
      : "Quality per second (1–5) at the seconds the answer rests on";
    return el("div", { class: "section" }, [el("h3", { text: heading }), plot]);
  }

  function renderTimings(result) {
    const parts = Object.entries(result.timings || {}).map(([k, v]) => `${k} ${Number(v).toFixed(2)}s`);
    return parts.length ? el("div", { class: "meta timings", text: `timings: ${parts.join(", ")}` }) : null;
  }

  // Fill `target` (answer, evidence, grid, curve) and `timelineTarget` (the timeline).
  function renderResult(target, timelineTarget, result, ctx) {
    target.replaceChildren(
      el("div", { class: "question", text: `Q: ${result.question}` }),
      renderAnswer(result),
      renderEvidenceCards(result, ctx),
      renderGrid(result, ctx) || "",
      renderQualityCurve(result, ctx) || "",
      renderTimings(result) || ""
    );
    timelineTarget.replaceChildren(renderTimeline(result, ctx));
  }

  // Move the playhead of the rendered timeline to `seconds`.
  function setPlayhead(result, seconds) {
    const head = document.getElementById("playhead");
    if (!head || !result) return;
    const duration = Math.max(Number(result.video.duration) || 0, 1e-6);
    head.style.left = `${Math.max(0, Math.min(100, (100 * seconds) / duration))}%`;
  }

  root.VideoQARender = { renderResult, setPlayhead, el };
})(window);
