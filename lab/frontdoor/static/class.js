// The instructor's dashboard: the class table from /class/api (the server's cached view: no
// check runs on a refresh), and actions on the labs ticked, after a confirmation.
"use strict";
const root = document.getElementById("class");
const steps = root.dataset.steps.split(",");
const ticked = new Set();

function fmt(s) { if (s === null || s === undefined) return "-"; s = Math.round(s);
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min`; }

function row(body, name) {
  // a lab's row is made once and then updated in place: what a person has ticked, hovered
  // or is about to click stays where it is across refreshes
  let tr = document.getElementById(`lab-${name}`);
  if (tr) return tr;
  tr = document.createElement("tr");
  tr.id = `lab-${name}`;
  const box = document.createElement("input"); box.type = "checkbox";
  box.addEventListener("change", () => box.checked ? ticked.add(name) : ticked.delete(name));
  tr.appendChild(document.createElement("td")).appendChild(box);
  const a = document.createElement("a"); a.href = `/lab/${name}/`; a.textContent = name;
  tr.appendChild(document.createElement("td")).appendChild(a);
  for (let i = 0; i < steps.length + 5; i++) tr.appendChild(document.createElement("td"));
  body.appendChild(tr);
  return tr;
}

function put(td, text, cls, title) { td.textContent = text; td.className = cls || ""; td.title = title || ""; }

async function refresh() {
  const r = await fetch("/class/api");
  if (!r.ok) return;
  const c = await r.json();
  document.getElementById("sweep").textContent = c.sweep_seconds ? `a sweep of every lab took ${c.sweep_seconds} s` : "first sweep under way";
  const body = document.querySelector("#labs tbody");
  // who is stuck longest: the longest time on the step being worked on
  const stuck = c.labs.filter((l) => l.stuck_s !== null && l.stuck_s !== undefined)
    .sort((a, b) => b.stuck_s - a.stuck_s)[0];
  const current = stuck && (stuck.timeline || []).find((t) => t.current);
  document.getElementById("stuck").textContent = stuck && current
    ? `stuck longest: ${stuck.name}, ${fmt(stuck.stuck_s)} on ${current.step}` : "";
  const names = new Set(c.labs.map((l) => l.name));
  body.querySelectorAll("tr").forEach((tr) => { if (!names.has(tr.id.slice(4))) tr.remove(); });
  for (const lab of c.labs) {
    const tr = row(body, lab.name);
    tr.className = "lab" + (stuck && lab.name === stuck.name ? " stuck" : "");
    tr.dataset.stepsDone = lab.steps_done === undefined ? "" : lab.steps_done;
    const tds = tr.children;
    tds[0].firstChild.checked = ticked.has(lab.name);
    const by = {}; (lab.timeline || []).forEach((t) => { by[t.step] = t; });
    steps.forEach((s, i) => {
      const t = by[s];
      const done = t && t.passed_at;
      put(tds[2 + i], done ? (t.by === "instructor" ? "solved" : "ok") : "",
          done ? (t.by === "instructor" ? "by-instructor" : "ok") : (t && t.current ? "todo" : "later"),
          t && t.seconds !== null && t.seconds !== undefined ? `${s}: ${fmt(t.seconds)}` : s);
    });
    const k = 2 + steps.length;
    put(tds[k], lab.stuck_s === null || lab.stuck_s === undefined ? "-" : fmt(lab.stuck_s));
    put(tds[k + 1], lab.serving || "-");
    const problems = lab.error || (lab.problems || []).join("; ");
    put(tds[k + 2], problems || (lab.pending ? "not looked at yet" : "-"), problems ? "problem" : "");
    put(tds[k + 3], `${lab.engine} (${lab.engine_kind})`);
    put(tds[k + 4], lab.busy ? `${lab.busy} under way ...` : (lab.last_action || "-"), "last-action");
  }
}

document.getElementById("all").addEventListener("change", (e) => {
  document.querySelectorAll("#labs tbody tr").forEach((tr) => {
    const name = tr.id.slice(4); e.target.checked ? ticked.add(name) : ticked.delete(name); });
  refresh();
});

document.getElementById("do").addEventListener("click", async () => {
  const action = document.getElementById("action").value;
  const labs = [...ticked].sort();
  const state = document.getElementById("action-state");
  if (!labs.length) { state.textContent = "tick the labs first"; return; }
  const what = {action, labs, step: document.getElementById("step").value,
                fault: document.getElementById("fault").value, node: document.getElementById("node").value || null};
  const detail = action === "solve" ? ` through ${what.step}` : action === "fail" ? ` ${what.fault} ${what.node || ""}` : "";
  if (!confirm(`${action}${detail} on ${labs.join(", ")}?`)) return;
  const r = await fetch("/class/action", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(what)});
  state.textContent = r.ok ? `started on ${(await r.json()).started.join(", ")}` : await r.text();
  refresh();
});

refresh();
setInterval(refresh, 1000 * Number(root.dataset.refresh));
