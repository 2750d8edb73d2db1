// A trainee's page: one xterm.js terminal per container of the lab (a websocket each, opened
// when its tab is first shown), the step and its guide, "check my work", the lab's status.
"use strict";
const root = document.getElementById("lab");
const base = `/lab/${root.dataset.lab}/`;
const terms = {};
let shown = [];

function open(node) {
  if (terms[node]) return terms[node];
  const pane = document.getElementById(`pane-${node}`);
  // the DOM renderer: the screen is text a person can select (and a test can read)
  const term = new Terminal({cursorBlink: true, scrollback: 5000, fontSize: 14, rendererType: "dom"});
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(pane);
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}${base}term/${node}`);
  ws.binaryType = "arraybuffer";
  const enc = new TextEncoder();
  const size = () => { try { fit.fit(); } catch (e) {} 
    if (ws.readyState === 1) ws.send(JSON.stringify({resize: [term.cols, term.rows]})); };
  ws.onopen = size;
  ws.onmessage = (ev) => term.write(new Uint8Array(ev.data));
  ws.onclose = () => { pane.dataset.closed = "1"; };
  term.onData((d) => { if (ws.readyState === 1) ws.send(enc.encode(d)); });
  terms[node] = {term, fit, ws, size};
  window.addEventListener("resize", size);
  return terms[node];
}

function show(nodes) {
  shown = nodes;
  document.querySelectorAll(".pane").forEach((p) => p.classList.toggle("shown", nodes.includes(p.dataset.node)));
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", nodes.includes(t.dataset.node)));
  nodes.forEach((n) => { const t = open(n); setTimeout(t.size, 0); });
  terms[nodes[nodes.length - 1]].term.focus();
}

document.querySelectorAll(".tab").forEach((t) => t.addEventListener("click", () => {
  const split = document.getElementById("split").checked;
  const n = t.dataset.node;
  show(split ? [shown[shown.length - 1], n].filter((x, i, a) => x && a.indexOf(x) === i).slice(-2) : [n]);
}));
document.getElementById("split").addEventListener("change", (e) => {
  document.getElementById("panes").classList.toggle("split", e.target.checked);
  show(e.target.checked ? ["ha1", "ha2"] : [shown[0] || "ha1"]);
});

async function guide() {
  const r = await fetch(`${base}guide`);
  const g = await r.json();
  document.getElementById("guide").textContent = g.text;
  document.getElementById("guide").dataset.step = g.step || "";
}

async function status() {
  const r = await fetch(`${base}status`);
  if (!r.ok) return;
  const s = await r.json();
  const done = s.steps_done === undefined ? "?" : s.steps_done;
  document.getElementById("progress").textContent =
    `${done} of ${s.steps || "?"} steps done` + (s.next ? `; next: ${s.next}` : "") +
    (s.serving ? `; ${s.serving} serves the cluster address` : "") + (s.busy ? `; the instructor: ${s.busy}` : "");
}

document.getElementById("check").addEventListener("click", async () => {
  const state = document.getElementById("check-state");
  state.textContent = "checking ...";
  const r = await fetch(`${base}check`, {method: "POST"});
  if (!r.ok) { state.textContent = await r.text(); return; }
  const res = await r.json();
  const list = document.getElementById("results");
  list.innerHTML = "";
  for (const step of res.steps) {
    for (const c of step.checks) {
      const li = document.createElement("li");
      li.className = c.ok ? "pass" : "fail";
      li.dataset.step = step.step; li.dataset.check = c.name;
      li.textContent = `${c.ok ? "PASS" : "FAIL"} [${step.step}] ${c.what}` + (c.ok ? "" : ` (seen: ${c.seen}; hint: ${c.hint})`);
      list.appendChild(li);
    }
  }
  state.textContent = res.ok ? "every step is done" : `next: ${res.next}`;
  state.dataset.next = res.next || "";
  guide(); status();
});

// the text a terminal shows (its buffer, scrollback included): for tests and screen readers
window.labScreen = (node) => {
  const t = terms[node]; if (!t) return "";
  const b = t.term.buffer.active || t.term.buffer; const out = [];
  for (let i = 0; i < b.length; i++) { const l = b.getLine(i); if (l) out.push(l.translateToString(true)); }
  return out.join("\n");
};

show(["ha1"]);
guide(); status();
setInterval(status, 1000 * Number(root.dataset.refresh));
