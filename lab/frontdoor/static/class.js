// The instructor's dashboard: the class table from /class/api (the server's cached view: no
// check runs on a refresh), and actions on the labs ticked, after a confirmation.
"use strict";
const root = document.getElementById("class");
const steps = root.dataset.steps.split(",");
const ticked = new Set();

function fmt(s) { if (s === null || s === undefined) return "-"; s = Math.round(s);
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min`; }

function cell(tr, text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td; }

async function refresh() {
  const r = await fetch("/class/api");
  if (!r.ok) return;
  const c = await r.json();
  document.getElementById("sweep").textContent = c.sweep_seconds ? `a sweep of every lab took ${c.sweep_seconds} s` : "first sweep under way";
  const body = document.querySelector("#labs tbody");
  body.innerHTML = "";
  // who is stuck longest: the longest time on the step being worked on
  const stuck = c.labs.filter((l) => l.stuck_s !== null && l.stuck_s !== undefined)
    .sort((a, b) => b.stuck_s - a.stuck_s)[0];
  const current = stuck && (stuck.timeline || []).find((t) => t.current);
  document.getElementById("stuck").textContent = stuck && current
    ? `stuck longest: ${stuck.name}, ${fmt(stuck.stuck_s)} on ${current.step}` : "";
  for (const lab of c.labs) {
    const tr = document.createElement("tr");
    tr.className = "lab" + (stuck && lab.name === stuck.name ? " stuck" : ""); tr.id = `lab-${lab.name}`;
    tr.dataset.stepsDone = lab.steps_done === undefined ? "" : lab.steps_done;
    const td = document.createElement("td");
    const box = document.createElement("input"); box.type = "checkbox"; box.checked = ticked.has(lab.name);
    box.addEventListener("change", () => box.checked ? ticked.add(lab.name) : ticked.delete(lab.name));
    td.appendChild(box); tr.appendChild(td);
    const a = document.createElement("a"); a.href = `/lab/${lab.name}/`; a.textContent = lab.name;
    cell(tr, "").appendChild(a);
    const by = {}; (lab.timeline || []).forEach((t) => { by[t.step] = t; });
    steps.forEach((s, i) => {
      const t = by[s];
      const done = t && t.passed_at;
      const td = cell(tr, done ? (t.by === "instructor" ? "solved" : "ok") : "",
        done ? (t.by === "instructor" ? "by-instructor" : "ok") : (t && t.current ? "todo" : "later"));
      if (t && t.seconds !== null && t.seconds !== undefined) td.title = `${s}: ${fmt(t.seconds)}`;
    });
    cell(tr, lab.stuck_s === null || lab.stuck_s === undefined ? "-" : fmt(lab.stuck_s));
    cell(tr, lab.serving || "-");
    cell(tr, lab.error || (lab.problems || []).join("; ") || (lab.pending ? "not looked at yet" : "-"),
         lab.error || (lab.problems || []).length ? "problem" : "");
    cell(tr, `${lab.engine} (${lab.engine_kind})`);
    cell(tr, lab.busy ? `${lab.busy} under way ...` : (lab.last_action || "-"));
    body.appendChild(tr);
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
