// framescope serve: the run's timeline, one swimlane per channel on a time axis (SVG).
// Bars go from a *_started frame to the frame that closes it, dots mark the other frames,
// ticks the tokens; a shade covers what has not been played yet. Uses app.js's helpers ($, svgEl,
// describe, the channel and type constants) when called, after both files have loaded.
"use strict";

function drawTimeline(view) {
  const svg = $("timeline");
  const width = Math.max(svg.clientWidth || svg.parentNode.clientWidth || 900, 400);
  const lanes = CHANNELS.filter((channel) => view.frames.some((frame) => frame.channel === channel));
  const laneHeight = 34;
  const top = 22;
  const left = 92;
  const right = 12;
  const height = top + lanes.length * laneHeight + 6;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("height", String(height));
  svg.replaceChildren();
  const span = Math.max(view.duration, 1);
  const x = (offset) => left + (offset / span) * (width - left - right);
  view.geometry = { x, top, height, left, right, width };
  for (let step = 0; step <= 5; step++) {
    const offset = (span * step) / 5;
    svg.append(svgEl("line", { x1: x(offset), x2: x(offset), y1: top - 4, y2: height, class: "grid" }));
    const label = svgEl("text", { x: x(offset), y: 13, class: "axis", "text-anchor": step === 0 ? "start" : step === 5 ? "end" : "middle" });
    label.textContent = `${(offset / 1e6).toFixed(span < 1e5 ? 4 : 2)} s`;
    svg.append(label);
  }
  const laneOf = new Map(lanes.map((channel, index) => [channel, index]));
  lanes.forEach((channel, index) => {
    const y = top + index * laneHeight;
    svg.append(svgEl("rect", { x: 0, y: y + 1, width, height: laneHeight - 2, class: "lane-bg" }));
    const label = svgEl("text", { x: 8, y: y + laneHeight / 2 + 4, class: "lane-label" });
    label.textContent = channel;
    svg.append(label);
  });
  // spans: an opener (type *_started) and the frame that closes it (parent_id = opener id)
  const closer = new Map();
  view.frames.forEach((frame, index) => {
    if (CLOSING.test(frame.type) && frame.parent_id !== null) closer.set(frame.parent_id, index);
  });
  const depth = new Map();
  const tokenTicks = [];
  view.frames.forEach((frame, index) => {
    const lane = laneOf.get(frame.channel);
    const y = top + lane * laneHeight;
    const cls = `mark ch-${frame.channel}${FAILING.test(frame.type) ? " is-error" : ""}`;
    if (frame.type.endsWith("_started") && closer.has(frame.id)) {
      const parentDepth = depth.has(frame.parent_id) && view.frames[indexOfId(view, frame.parent_id)]?.channel === frame.channel ? depth.get(frame.parent_id) + 1 : 0;
      depth.set(frame.id, parentDepth);
      const end = closer.get(frame.id);
      const closedWithError = FAILING.test(view.frames[end].type);
      const barY = y + 4 + Math.min(parentDepth, 3) * 6;
      const bar = svgEl("rect", {
        x: x(view.offsets[index]), y: barY, height: 5, rx: 2,
        width: Math.max(x(view.offsets[end]) - x(view.offsets[index]), 3),
        class: `${cls}${closedWithError ? " is-error" : ""}`, "data-index": index, opacity: 0.85,
      });
      bar.append(svgEl("title"));
      bar.firstChild.textContent = `${frame.type} ${describe(frame)}`;
      svg.append(bar);
    } else if (TOKEN_TYPES.has(frame.type)) {
      tokenTicks.push(index);
    } else {
      const dot = svgEl("circle", { cx: x(view.offsets[index]), cy: y + laneHeight - 9, r: 4, class: cls, "data-index": index });
      dot.append(svgEl("title"));
      dot.firstChild.textContent = `#${frame.seq} ${frame.type} ${describe(frame)}`;
      svg.append(dot);
    }
  });
  const stride = Math.max(1, Math.ceil(tokenTicks.length / 1500));
  for (let n = 0; n < tokenTicks.length; n += stride) {
    const index = tokenTicks[n];
    const frame = view.frames[index];
    const y = top + laneOf.get(frame.channel) * laneHeight;
    svg.append(svgEl("rect", {
      x: x(view.offsets[index]) - 0.5, y: y + 22, width: 1.5, height: 8, "data-index": index,
      class: `mark ch-${frame.channel}`, opacity: frame.type === "llm_thinking_chunk" ? 0.35 : 0.7,
    }));
  }
  view.future = svgEl("rect", { x: left, y: top - 4, width: 0, height: height - top + 4, class: "future" });
  view.playhead = svgEl("line", { x1: left, x2: left, y1: top - 6, y2: height, class: "playhead" });
  svg.append(view.future, view.playhead);
  svg.onclick = (event) => {
    const index = event.target.getAttribute && event.target.getAttribute("data-index");
    if (index !== null && index !== undefined) view.select(Number(index));
  };
  if (view.selected !== null) view.select(view.selected);
}

function indexOfId(view, id) {
  if (!view.idIndex || view.idIndex.size !== view.frames.length) view.idIndex = new Map(view.frames.map((f, i) => [f.id, i]));
  return view.idIndex.get(id);
}

function drawPlayhead(view, position) {
  if (!view.geometry || !view.playhead) return;
  const { x, width, right } = view.geometry;
  const at = x(Math.min(position, Math.max(view.duration, 1)));
  view.playhead.setAttribute("x1", at);
  view.playhead.setAttribute("x2", at);
  view.future.setAttribute("x", at);
  view.future.setAttribute("width", Math.max(width - right - at, 0));
}
