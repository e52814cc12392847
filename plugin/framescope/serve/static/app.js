// framescope serve: the run list and the run player. Plain JS, no build step.
//
// The run view loads every frame of the run once (SSE, speed=0) and plays them back on the
// client from their timestamps, so pause and seek need no round trip. A run that is still
// streaming keeps arriving on the same EventSource and the player follows it.
"use strict";

const ROOT = document.body.dataset.root || "";
const CHANNELS = ["flow", "llm", "tools", "messages", "lifecycle", "custom"];
const TOKEN_TYPES = new Set(["llm_stream_chunk", "llm_thinking_chunk"]);
const CLOSING = /_(finished|completed|failed|error|cancelled)$/;
const FAILING = /_(failed|error)$/;

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
};
const svgEl = (tag, attrs) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  return node;
};
const pretty = (value) => (typeof value === "string" ? value : JSON.stringify(value, null, 2));

// "2026-11-30T15:44:19.170668Z" -> microseconds since the epoch (exact: < 2^53).
function micros(stamp) {
  const match = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(stamp);
  if (!match) return Date.parse(stamp) * 1000;
  const whole = Date.parse(match[1] + match[3]);
  const fraction = match[2] ? Math.round(parseFloat("0" + match[2]) * 1e6) : 0;
  return whole * 1000 + fraction;
}

function describe(frame) {
  const d = frame.data || {};
  if (frame.type === "llm_tool_call_delta") return `${d.name || ""} ${JSON.stringify(d.arguments_fragment ?? "")}`.trim();
  if (frame.type === "llm_call_completed") return `${d.response_model || ""} ${d.finish_reason || ""}`.trim();
  if (TOKEN_TYPES.has(frame.type)) return JSON.stringify(d.chunk ?? "");
  return d.method_name || d.tool_name || d.model || d.label || d.flow_name || d.error || "";
}

// ---------------------------------------------------------------------------- run list
async function showRuns() {
  $("runs-view").hidden = false;
  const response = await fetch(`${ROOT}/api/runs`);
  const runs = await response.json();
  const body = $("runs").querySelector("tbody");
  if (!response.ok) {
    $("no-runs").hidden = false;
    $("no-runs").textContent = runs.error || `the server answered ${response.status}`;
    return;
  }
  $("no-runs").hidden = runs.length > 0;
  for (const run of runs) {
    const row = el("tr", "run-row");
    row.dataset.runId = run.run_id;
    const started = run.started_at ? new Date(run.started_at).toLocaleString() : "?";
    row.append(el("td", "", started));
    const idCell = el("td", "mono");
    const link = el("a", "run-link", run.run_id);
    link.href = `${ROOT}/runs/${encodeURIComponent(run.run_id)}`;
    idCell.append(link);
    row.append(idCell, el("td", "", run.top_level_type || "-"), el("td", "num", String(run.frame_count)));
    const outcome = el("td");
    outcome.append(el("span", `badge ${run.outcome}`, run.outcome));
    const links = el("td", "links");
    for (const [name, href] of Object.entries(run.links || {})) {
      const anchor = el("a", "", name);
      anchor.href = href;
      anchor.target = "_blank";
      anchor.rel = "noopener";
      links.append(anchor);
    }
    row.append(outcome, links);
    body.append(row);
  }
}

// ---------------------------------------------------------------------------- run view
class RunView {
  constructor(runId, info) {
    this.runId = runId;
    this.info = info;
    this.frames = [];
    this.offsets = [];
    this.t0 = null;
    this.complete = false;
    this.outcome = null;
    this.applied = 0;
    this.position = 0;
    this.selected = null;
    const wanted = new URLSearchParams(location.search).get("speed");
    this.speed = wanted === null || wanted === "" || isNaN(Number(wanted)) ? 1 : Math.max(0, Number(wanted));
    this.playing = true;
    this.dragging = false;
    this.timelineDirty = true;
    this.lastTick = null;
    this.reset();
    this.wireControls();
  }

  get duration() {
    return this.offsets.length ? this.offsets[this.offsets.length - 1] : 0;
  }

  reset() {
    this.applied = 0;
    this.llmCalls = new Map();
    this.toolCards = new Map();
    this.toolByFrame = new Map();
    this.pendingDeltas = new Map();
    $("llm-calls").replaceChildren(el("p", "quiet", "no LLM output yet"));
    $("tools").replaceChildren(el("p", "quiet", "none yet"));
    $("errors").replaceChildren(el("p", "quiet", "none"));
    $("log").replaceChildren();
  }

  wireControls() {
    const select = $("speed");
    select.value = String(this.speed);
    if (select.value === "") {
      select.append(new Option(`${this.speed}\u00d7`, String(this.speed)));
      select.value = String(this.speed);
    }
    select.addEventListener("change", () => {
      this.speed = Number(select.value);
      this.playing = true;
    });
    $("play").addEventListener("click", () => {
      this.dragging = false;
      if (!this.playing && this.complete && this.position >= this.duration) this.position = 0;
      if (this.speed === 0 && !this.playing) {
        this.speed = 1;
        select.value = "1";
      }
      this.playing = !this.playing;
    });
    const seek = $("seek");
    seek.addEventListener("input", () => {
      this.dragging = true;
      this.playing = false;
      if (this.speed === 0) {
        this.speed = 1;
        select.value = "1";
      }
      this.position = Number(seek.value);
      this.renderTo(this.position);
    });
    seek.addEventListener("change", () => {
      this.dragging = false;
    });
    window.addEventListener("resize", () => {
      this.timelineDirty = true;
    });
  }

  receive(frame) {
    const stamp = micros(frame.timestamp);
    if (this.t0 === null) this.t0 = stamp;
    this.frames.push(frame);
    this.offsets.push(Math.max(stamp - this.t0, this.duration));
    this.timelineDirty = true;
  }

  // index of the first frame whose offset is past `position`
  visibleCount(position) {
    let low = 0;
    let high = this.offsets.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.offsets[middle] <= position) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  tick(now) {
    if (this.lastTick === null) this.lastTick = now;
    const elapsedMs = now - this.lastTick;
    this.lastTick = now;
    if (this.playing && this.frames.length) {
      this.position = this.speed === 0 ? this.duration : this.position + elapsedMs * 1000 * this.speed;
      if (this.position >= this.duration) {
        this.position = this.duration;
        if (this.complete) this.playing = false;
      }
    }
    // redraw when frames arrived; at most 4 times a second while a live run is still streaming
    if (this.timelineDirty && (this.complete || now - (this.lastDraw || 0) > 250)) {
      this.lastDraw = now;
      this.drawTimeline();
    }
    this.renderTo(this.position);
    requestAnimationFrame((t) => this.tick(t));
  }

  renderTo(position) {
    const count = this.visibleCount(position);
    if (count < this.applied) this.reset();
    const grew = count > this.applied;
    for (let index = this.applied; index < count; index++) this.apply(this.frames[index], index);
    this.applied = count;
    if (grew && this.playing) {
      for (const node of [$("log"), ...document.querySelectorAll("#llm-calls .answer, #llm-calls .thinking")]) {
        node.scrollTop = node.scrollHeight;  // follow the stream while it plays
      }
    }
    const ended = this.complete && count === this.frames.length && !this.playing;
    document.body.dataset.state = !this.frames.length && !this.complete ? "loading" : ended ? "ended" : this.playing ? "playing" : "paused";
    document.body.dataset.applied = String(count);
    $("play").textContent = this.playing ? "Pause" : ended ? "Replay" : "Play";
    $("clock").textContent = `${(position / 1e6).toFixed(3)} s / ${(this.duration / 1e6).toFixed(3)} s`;
    $("count").textContent = `${count} / ${this.frames.length}${this.complete ? "" : "+"} frames`;
    const seek = $("seek");
    seek.max = String(this.duration);
    if (!this.dragging) seek.value = String(Math.round(position));
    for (const node of document.querySelectorAll(".answer.streaming")) {
      if (node.dataset.closedAt !== undefined && Number(node.dataset.closedAt) < count) node.classList.remove("streaming");
    }
    this.drawPlayhead(position);
  }

  // -- panels -------------------------------------------------------------------------
  llmBlock(callId, frame) {
    let block = this.llmCalls.get(callId);
    if (!block) {
      if (!this.llmCalls.size) $("llm-calls").replaceChildren();
      const box = el("div", "llm-call");
      const meta = el("div", "llm-meta", frame && frame.data.model ? `${frame.data.model} (${frame.data.provider || "?"})` : "LLM");
      const thinking = el("div", "thinking");
      const answer = el("div", "answer streaming");
      answer.dataset.callId = callId;
      box.append(meta, thinking, answer);
      $("llm-calls").append(box);
      block = { box, meta, thinking, answer };
      this.llmCalls.set(callId, block);
    }
    return block;
  }

  toolCard(key, name) {
    let card = this.toolCards.get(key);
    if (!card) {
      if (!this.toolCards.size) $("tools").replaceChildren();
      const box = el("div", "tool-card");
      box.dataset.toolCallId = key;
      const state = el("span", "tool-state", "arguments streaming");
      const title = el("span", "tool-name", name || "tool");
      const args = el("pre", "tool-args", "");
      const result = el("pre", "tool-result", "");
      const resultLabel = el("div", "label", "result");
      resultLabel.hidden = true;
      box.append(state, title, el("div", "label", "arguments"), args, resultLabel, result);
      $("tools").append(box);
      card = { box, state, title, args, result, resultLabel, streamed: "" };
      this.toolCards.set(key, card);
    }
    return card;
  }

  addError(frame, text) {
    if (!$("errors").querySelector(".error-card")) $("errors").replaceChildren();
    const card = el("div", "error-card");
    const d = frame ? frame.data : {};
    card.append(el("span", "error-type", d.error_type || (frame ? frame.type : "error")), el("span", "", `: ${text || d.error || ""}`));
    if (frame) card.addEventListener("click", () => this.select(this.frames.indexOf(frame)));
    $("errors").append(card);
  }

  apply(frame, index) {
    const d = frame.data || {};
    switch (frame.type) {
      case "llm_call_started":
        this.llmBlock(frame.id, frame);
        break;
      case "llm_stream_chunk":
        this.llmBlock(frame.parent_id).answer.append(String(d.chunk ?? ""));
        break;
      case "llm_thinking_chunk":
        this.llmBlock(frame.parent_id).thinking.append(String(d.chunk ?? ""));
        break;
      case "llm_call_completed":
      case "llm_call_failed": {
        const block = this.llmBlock(frame.parent_id);
        block.answer.classList.remove("streaming");
        if (d.usage) block.meta.textContent += ` \u00b7 ${d.usage.input_tokens ?? "?"} in / ${d.usage.output_tokens ?? "?"} out tokens`;
        break;
      }
      case "llm_tool_call_delta": {
        const slot = `${frame.parent_id}:${d.index ?? 0}`;
        if (d.id || !this.pendingDeltas.has(slot)) this.pendingDeltas.set(slot, d.id || frame.id);
        const card = this.toolCard(this.pendingDeltas.get(slot), d.name);
        if (d.name) card.title.textContent = d.name;
        card.streamed += d.arguments_fragment || "";
        card.args.textContent = card.streamed;
        break;
      }
      case "tool_usage_started": {
        const key = d.tool_call_id || frame.id;
        this.toolByFrame.set(frame.id, key);
        const card = this.toolCard(key, d.tool_name);
        card.title.textContent = d.tool_name || card.title.textContent;
        card.args.textContent = pretty(d.arguments ?? {});
        card.state.textContent = "running";
        break;
      }
      case "tool_usage_finished":
      case "tool_usage_error": {
        const card = this.toolCard(this.toolByFrame.get(frame.parent_id) || d.tool_call_id || frame.id, d.tool_name);
        card.resultLabel.hidden = false;
        if (frame.type === "tool_usage_error") {
          card.box.classList.add("failed");
          card.state.textContent = "failed";
          card.result.textContent = `${d.error_type || "Error"}: ${d.error || ""}`;
        } else {
          card.state.textContent = "done";
          card.result.textContent = pretty(d.output ?? d.result);
        }
        break;
      }
      default:
        break;
    }
    if (FAILING.test(frame.type)) this.addError(frame);
    if (!TOKEN_TYPES.has(frame.type)) this.logRow(frame, index);
  }

  logRow(frame, index) {
    const row = el("li");
    row.dataset.index = String(index);
    const dot = el("span", `dot ch-${frame.channel}${FAILING.test(frame.type) ? " is-error" : ""}`);
    row.append(el("span", "seq", String(frame.seq ?? index)), dot, el("span", "type", frame.type), el("span", "what", describe(frame)));
    row.addEventListener("click", () => this.select(index));
    $("log").append(row);
  }

  select(index) {
    const frame = this.frames[index];
    if (!frame) return;
    this.selected = index;
    $("details").textContent = JSON.stringify(frame, null, 2);
    $("details").dataset.index = String(index);
    for (const node of document.querySelectorAll(".selected")) node.classList.remove("selected");
    const row = $("log").querySelector(`li[data-index="${index}"]`);
    if (row) row.classList.add("selected");
    const mark = $("timeline").querySelector(`[data-index="${index}"]`);
    if (mark) mark.classList.add("selected");
  }

  drawTimeline() {
    this.timelineDirty = false;
    drawTimeline(this);
  }

  drawPlayhead(position) {
    drawPlayhead(this, position);
  }

  finish(outcome) {
    this.complete = true;
    this.outcome = outcome;
    const badge = $("outcome");
    badge.textContent = outcome.outcome;
    badge.className = `badge ${outcome.outcome}`;
    if (outcome.outcome === "failed" && !this.frames.some((f) => FAILING.test(f.type))) this.addError(null, `${outcome.error_type}: ${outcome.error}`);
    this.timelineDirty = true;
  }
}

async function showRun(runId) {
  $("run-view").hidden = false;
  $("run-title").textContent = `run ${runId}`;
  document.title = `framescope · ${runId}`;
  const response = await fetch(`${ROOT}/api/runs/${encodeURIComponent(runId)}`);
  const info = await response.json();
  if (!response.ok) {
    const notice = el("div", "notice", info.error || `the server answered ${response.status}`);
    $("run-view").replaceChildren(notice);
    document.body.dataset.state = "missing";
    return;
  }
  $("outcome").textContent = "loading";
  $("outcome").className = "badge live";
  for (const [name, href] of Object.entries(info.links || {})) {
    const anchor = el("a", "trace-link", `trace in ${name === "jaeger" ? "Jaeger" : "Grafana"} \u2197`);
    anchor.href = href;
    anchor.target = "_blank";
    anchor.rel = "noopener";
    $("trace-links").append(anchor);
  }
  const view = new RunView(runId, info);
  window.framescopeView = view;
  const source = new EventSource(`${ROOT}/api/runs/${encodeURIComponent(runId)}/frames?speed=0`);
  source.onmessage = (event) => view.receive(JSON.parse(event.data));
  source.addEventListener("end", (event) => {
    source.close();
    view.finish(JSON.parse(event.data));
  });
  requestAnimationFrame((t) => view.tick(t));
}

function route() {
  const path = location.pathname.slice(ROOT.length);
  const match = /^\/runs\/([^/]+)\/?$/.exec(path);
  if (match) showRun(decodeURIComponent(match[1]));
  else showRuns();
  $("where").textContent = location.host;
}

route();
