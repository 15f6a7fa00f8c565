// The stepfn console's own script: draws a state machine's graph as SVG (laid out by
// dagre) from the JSON graph the page embeds, colours it by each state's outcome, keeps
// it live over server-sent events, exports it as SVG, and checks the start form's JSON.
// Every name is put in the page with textContent or setAttribute, never as markup.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const TERMINAL = { Start: true, End: true };
  const FAN_OUT = { Parallel: true, Map: true };
  const FAN_OUT_GROUP = { parallel: true, map: true };

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const key of Object.keys(attrs || {})) node.setAttribute(key, String(attrs[key]));
    if (parent) parent.appendChild(node);
    return node;
  }

  function readJson(id) {
    const holder = document.getElementById(id);
    return holder ? JSON.parse(holder.textContent) : null;
  }

  function shorten(text, limit) {
    return text.length <= limit ? text : text.slice(0, limit - 1) + "\u2026";
  }

  function nodeSize(node) {
    if (node.type === "Join") return { width: 14, height: 14 };
    if (TERMINAL[node.type]) return { width: 64, height: 28 };
    const label = shorten(node.name, 34);
    return { width: Math.min(260, Math.max(96, label.length * 7 + 28)), height: 42 };
  }

  function layout(graph) {
    const g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
    g.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 36, edgesep: 12, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(function () { return {}; });
    for (const group of graph.groups) g.setNode(group.id, { label: group.label, paddingTop: 22 });
    for (const group of graph.groups) if (group.parent) g.setParent(group.id, group.parent);
    for (const node of graph.nodes) {
      g.setNode(node.id, nodeSize(node));
      if (node.parent) g.setParent(node.id, node.parent);
    }
    graph.edges.forEach(function (edge, i) {
      const label = edge.label || "";
      g.setEdge(edge.source, edge.target, {
        label: label, width: label ? Math.min(200, label.length * 5.6 + 6) : 0,
        height: label ? 14 : 0, labelpos: "c",
      }, "e" + i);
    });
    dagre.layout(g);
    return g;
  }

  function draw(container, graph) {
    const g = layout(graph);
    const size = g.graph();
    const svg = el("svg", {
      xmlns: SVG, width: Math.ceil(size.width || 200), height: Math.ceil(size.height || 100),
      viewBox: "0 0 " + Math.ceil(size.width || 200) + " " + Math.ceil(size.height || 100),
      role: "img", "aria-label": "State machine graph",
    });
    const defs = el("defs", {}, svg);
    const marker = el("marker", {
      id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7,
      orient: "auto-start-reverse",
    }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z" }, marker);
    const depth = {};
    const parents = {};
    for (const group of graph.groups) parents[group.id] = group.parent;
    function depthOf(id) {
      if (!(id in depth)) depth[id] = parents[id] ? depthOf(parents[id]) + 1 : 0;
      return depth[id];
    }
    const groups = graph.groups.slice().sort(function (a, b) { return depthOf(a.id) - depthOf(b.id); });
    for (const group of groups) {
      const box = g.node(group.id);
      if (!box || !box.width) continue;
      const item = el("g", { class: "group " + group.kind }, svg);
      el("rect", { x: box.x - box.width / 2, y: box.y - box.height / 2, width: box.width, height: box.height, rx: 6 }, item);
      // A Parallel's or Map's own node names it: only branches and processors get a label.
      if (FAN_OUT_GROUP[group.kind]) continue;
      const text = el("text", { x: box.x - box.width / 2 + 8, y: box.y - box.height / 2 + 14 }, item);
      text.textContent = shorten(group.label, 60);
    }
    graph.edges.forEach(function (edge, i) {
      const line = g.edge({ v: edge.source, w: edge.target, name: "e" + i });
      if (!line || !line.points) return;
      const item = el("g", { class: "edge " + edge.kind }, svg);
      const d = line.points.map(function (p, j) { return (j ? "L" : "M") + p.x.toFixed(1) + " " + p.y.toFixed(1); }).join(" ");
      el("path", { d: d, "marker-end": "url(#arrow)" }, item);
      if (edge.label) {
        const text = el("text", { x: line.x, y: line.y + 4, "text-anchor": "middle" }, item);
        text.textContent = shorten(edge.label, 36);
      }
    });
    const byName = {};
    for (const node of graph.nodes) {
      const box = g.node(node.id);
      const item = el("g", { class: "node" + (TERMINAL[node.type] ? " terminal" : ""), "data-type": node.type }, svg);
      item.setAttribute("data-name", node.name);
      const title = el("title", {}, item);
      title.textContent = node.type === "Join" ? "" : node.name + " (" + node.type + ")";
      if (node.type === "Join") {
        el("circle", { cx: box.x, cy: box.y, r: 6 }, item);
      } else {
        el("rect", { x: box.x - box.width / 2, y: box.y - box.height / 2, width: box.width, height: box.height, rx: TERMINAL[node.type] ? 14 : 6 }, item);
        const name = el("text", { x: box.x, y: TERMINAL[node.type] ? box.y + 4 : box.y - 2, "text-anchor": "middle", class: "name" }, item);
        name.textContent = shorten(node.name, 34);
        if (!TERMINAL[node.type]) {
          const type = el("text", { x: box.x, y: box.y + 13, "text-anchor": "middle", class: "type" }, item);
          type.textContent = node.type;
        }
      }
      node.element = item;
      if (!TERMINAL[node.type] && node.type !== "Join") (byName[node.name] = byName[node.name] || []).push(node);
    }
    container.textContent = "";
    container.appendChild(svg);
    return { svg: svg, nodes: graph.nodes, byName: byName };
  }

  const FAILED = { FAILED: true, TIMED_OUT: true, ABORTED: true };

  function colour(drawn, states, status) {
    const reached = Object.keys(states).length > 0;
    const heads = {};
    for (const node of drawn.nodes) if (FAN_OUT[node.type]) heads[node.parent] = node;
    for (const node of drawn.nodes) {
      let outcome = "not-reached";
      if (node.type === "Start") outcome = reached ? "succeeded" : "not-reached";
      else if (node.type === "End") outcome = status === "SUCCEEDED" ? "succeeded" : FAILED[status] ? "failed" : "not-reached";
      else if (node.type === "Join") {
        const head = heads[node.parent];
        const state = head && states[head.name];
        outcome = state && state.outcome !== "running" ? state.outcome : "not-reached";
      } else if (states[node.name]) outcome = states[node.name].outcome;
      const base = node.element.getAttribute("class").replace(/ o-[a-z-]+/g, "");
      node.element.setAttribute("class", base + " o-" + outcome);
      node.element.setAttribute("data-outcome", outcome);
    }
  }

  function showStatus(status) {
    const holder = document.getElementById("execution-status");
    if (!holder) return;
    const badge = document.createElement("span");
    badge.className = "status status-" + status.toLowerCase();
    badge.textContent = status;
    holder.textContent = "";
    holder.appendChild(badge);
  }

  function live(container, drawn) {
    const url = container.getAttribute("data-events");
    if (!url || container.getAttribute("data-status") !== "RUNNING" || !window.EventSource) return;
    const source = new EventSource(url + "?after=" + encodeURIComponent(container.getAttribute("data-after") || "0"));
    source.onmessage = function (message) {
      const update = JSON.parse(message.data);
      colour(drawn, update.states, update.status);
      showStatus(update.status);
      container.setAttribute("data-after", String(update.lastEventId));
      if (update.status !== "RUNNING") {
        source.close();
        container.setAttribute("data-status", update.status);
        const note = document.getElementById("live-note");
        if (note) note.hidden = false;
      }
    };
  }

  function exportSvg(drawn) {
    const copy = drawn.svg.cloneNode(true);
    const rules = [];
    for (const sheet of Array.from(document.styleSheets)) {
      let list = [];
      try { list = Array.from(sheet.cssRules); } catch (e) { continue; }
      for (const rule of list) if (rule.selectorText && rule.selectorText.indexOf("svg") === 0) rules.push(rule.cssText);
    }
    const vars = getComputedStyle(document.documentElement);
    let css = rules.join("\n");
    css = css.replace(/var\((--[a-z-]+)\)/g, function (_, name) { return vars.getPropertyValue(name).trim(); });
    const style = document.createElementNS(SVG, "style");
    style.textContent = css;
    copy.insertBefore(style, copy.firstChild);
    const text = new XMLSerializer().serializeToString(copy);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
    link.download = "state-machine.svg";
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  function jsonEditors() {
    for (const area of document.querySelectorAll("textarea.json-editor")) {
      const form = area.form;
      const problem = form.querySelector(".json-problem");
      const submit = form.querySelector("button[type=submit]");
      const check = function () {
        let message = "";
        try { JSON.parse(area.value); } catch (e) { message = "Not valid JSON: " + e.message; }
        area.classList.toggle("invalid", message !== "");
        problem.textContent = message;
        submit.disabled = message !== "";
      };
      area.addEventListener("input", check);
      check();
    }
  }

  function start() {
    jsonEditors();
    const container = document.getElementById("graph");
    const graph = readJson("graph-data");
    if (!container || !graph || !window.dagre) return;
    const drawn = draw(container, graph);
    const states = readJson("graph-states");
    if (states) colour(drawn, states, container.getAttribute("data-status"));
    live(container, drawn);
    const button = document.querySelector("button.export-svg");
    if (button) button.addEventListener("click", function () { exportSvg(drawn); });
    container.setAttribute("data-drawn", "true");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
