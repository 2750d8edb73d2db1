#!/usr/bin/env python3
"""Outages under load (`make bench-load`): the graceful-stop, standby and hard-kill scenarios
on one fast-timing lab while 0, 1, 2 and 4 other labs on the machine run scenarios of their
own (the test suite's two workers are the "1 other lab" row), with the clients' writes on as
in the suite. For each load and step: p50/p95/max outage and the share of each phase
(lab.observe.phases: detection, release, each agent's start, the client's way back).
Writes bench/load.json, bench/LOAD.md and bench/load.png.

    python bench/load.py --others 0,1,2,4 --runs 6"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab import recovery, scenario  # noqa: E402
from lab.engine import images  # noqa: E402
from lab.engine.handle import LabHandle, docker_client  # noqa: E402
from lab.model.config import TAKEOVER_BUDGET, LabConfig  # noqa: E402
from lab.provision import remove_lab, up  # noqa: E402

MEASURED, BUSY = "hlmeas", "hlbusy"
NET = 140  # 172.29.140/141 for the measured lab, 142/143, 144/145 ... for the busy ones
SCENARIOS = ("graceful-stop", "standby", "hard-kill")
BUSY_SCENARIOS = ("hard-kill", "standby", "graceful-stop", "pause-backup")
PHASES = ("detection", "release", "IPaddr2", "Filesystem", "apache2", "client")


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pct(xs: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of xs."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


class Busy(threading.Thread):
    """Another lab on the machine doing what the suite's other worker does: scenarios one
    after another, with the probe and the clients' writes on."""

    def __init__(self, lab: LabHandle, stop: threading.Event):
        super().__init__(name=f"busy-{lab.cfg.name}", daemon=True)
        self.lab, self.stop, self.runs, self.errors = lab, stop, 0, []

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            name = BUSY_SCENARIOS[i % len(BUSY_SCENARIOS)]
            i += 1
            try:
                scenario.run(self.lab, name, writes=True)
                self.runs += 1
            except Exception as exc:  # noqa: BLE001 - a busy lab's trouble is reported, the load goes on
                self.errors.append(f"{name}: {exc}")
                try:
                    recovery.heal(self.lab)
                except Exception as exc2:  # noqa: BLE001
                    self.errors.append(f"heal: {exc2}")


def measure(lab: LabHandle, runs: int, others: int) -> list[dict]:
    rows = []
    for i in range(runs):
        for name in SCENARIOS:
            try:
                r = scenario.run(lab, name, writes=True)
            except Exception as exc:  # noqa: BLE001
                say(f"  {others} others, run {i + 1}: {name} failed: {exc}")
                rows.append({"others": others, "scenario": name, "error": str(exc)})
                recovery.heal(lab)
                continue
            for step in r["steps"]:
                rows.append({"others": others, "scenario": name, "step": step["label"].replace(lab.cfg.master, "M")
                             .replace(lab.cfg.backup, "B"), "outage_s": step["outage_s"],
                             "bounds_s": step["bounds_s"], "within": step["within_bounds"],
                             "detection_s": step["detection_s"], "takeover_s": step["takeover_s"],
                             "phases_s": step["phases_s"], "phases_text": step["phases_text"]})
            say(f"  {others} others, run {i + 1}/{runs}: {name}: " + "; ".join(
                f"{s['label']} {s['outage_s']} s{'' if s['within_bounds'] in (True, None) else ' OUTSIDE'}"
                for s in r["steps"]))
    return rows


def table(rows: list[dict]) -> list[dict]:
    out = []
    keys = sorted({(r["others"], r["scenario"], r["step"]) for r in rows if "step" in r},
                  key=lambda k: (k[0], SCENARIOS.index(k[1]), k[2]))
    for others, name, step in keys:
        mine = [r for r in rows if (r["others"], r["scenario"], r.get("step")) == (others, name, step)]
        vals = [r["outage_s"] for r in mine if r["outage_s"] is not None]
        if not vals:
            continue
        share = {}
        for ph in PHASES:
            xs = [r["phases_s"].get(ph) for r in mine if r["phases_s"].get(ph) is not None]
            share[ph] = round(statistics.median(xs), 3) if xs else None
        takeovers = [r["takeover_s"] for r in mine if r["takeover_s"] is not None]
        out.append({"others": others, "scenario": name, "step": step, "runs": len(mine),
                    "p50": round(pct(vals, 50), 3), "p95": round(pct(vals, 95), 3), "max": round(max(vals), 3),
                    "outside": sum(1 for r in mine if r["within"] is False), "bounds": mine[0]["bounds_s"],
                    "takeover_p95": round(pct(takeovers, 95), 3) if takeovers else None,
                    "takeover_max": round(max(takeovers), 3) if takeovers else None,
                    "phases_median_s": share})
    return out


def markdown(result: dict) -> str:
    lines = [
        "# Outages under load (`make bench-load`)", "",
        f"Machine: {result['machine']}. {result['runs']} runs of each scenario per load, fast timing "
        f"(keepalive {result['times']['keepalive']:g} s, deadtime {result['times']['deadtime']:g} s), the clients' "
        "writes on, probe at 20 Hz from ha3. 'others' = labs beside it running scenarios of their own "
        "(the suite's two workers: 1).", "",
        "| others | step | runs | p50 s | p95 s | max s | bounds s | outside | takeover p95 s | median phases s |",
        "|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["table"]:
        ph = ", ".join(f"{k} {v:.2f}" for k, v in r["phases_median_s"].items() if v is not None)
        b = r["bounds"]
        lines.append(f"| {r['others']} | {r['scenario']}: {r['step']} | {r['runs']} | {r['p50']:.2f} | "
                     f"{r['p95']:.2f} | {r['max']:.2f} | {b[0]:g}..{b[1]:g} | {r['outside']} | "
                     f"{r['takeover_p95']} | {ph} |")
    lines += ["", f"Busy labs: {result['busy']}", "", "![phases](load.png)", ""]
    return "\n".join(lines)


def draw(result: dict, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = result["table"]
    fig, ax = plt.subplots(figsize=(12, 0.42 * len(rows) + 1.5))
    colors = dict(zip(PHASES, ("#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b")))
    for i, r in enumerate(rows):
        left = 0.0
        for ph in PHASES:
            v = r["phases_median_s"].get(ph)
            if v is None or v <= 0:
                continue
            ax.barh(i, v, left=left, color=colors[ph], label=ph if i == 0 else None)
            left += v
        ax.plot([r["p95"]], [i], "k|", markersize=14)
        ax.plot([r["max"]], [i], "rx")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{r['others']} others · {r['scenario']}: {r['step']}" for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the fault (bars: median phases; |: p95 outage; x: max outage)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[p]) for p in PHASES]
    ax.legend(handles, PHASES, loc="lower right", fontsize=8)
    ax.set_title("Where a failover's seconds go, by load")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--others", default="0,1,2,4", help="loads: how many other busy labs (default 0,1,2,4)")
    ap.add_argument("--runs", type=int, default=6, help="runs of each scenario per load (default 6)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench", help="where to write load.json/LOAD.md/load.png")
    a = ap.parse_args()
    try:
        loads = [int(x) for x in a.others.split(",")]
    except ValueError:
        ap.error(f"--others {a.others!r}: expected numbers separated by commas, e.g. 0,1,2,4")
    if a.runs < 1 or any(n < 0 or n > 8 for n in loads):
        ap.error("--runs must be at least 1 and each --others value between 0 and 8")
    client = docker_client()
    images.ensure_images(client, say=say)
    names = [MEASURED, *(f"{BUSY}{i}" for i in range(1, max(loads) + 1))]
    for n in names:
        remove_lab(client, n, None)
    labs: list[LabHandle] = []
    all_rows: list[dict] = []
    busy_report = {}
    try:
        for i, n in enumerate(names):
            say(f"starting lab {n} ({i + 1}/{len(names)}) ...")
            labs.append(up(LabConfig.numbered(n, NET + 2 * i), client=client))
        for others in loads:
            stop = threading.Event()
            threads = [Busy(lab, stop) for lab in labs[1:1 + others]]
            for t in threads:
                t.start()
            say(f"load: {others} other busy lab(s)")
            all_rows += measure(labs[0], a.runs, others)
            stop.set()
            for t in threads:
                t.join()
            busy_report[others] = {t.lab.cfg.name: {"runs": t.runs, "errors": t.errors} for t in threads}
    finally:
        for n in names:
            remove_lab(client, n, None)
    times = labs[0].cfg.times if labs else None
    result = {"machine": f"{platform.node()}, {os.cpu_count()} cores, {platform.platform()}",
              "date": time.strftime("%Y-%m-%d"), "runs": a.runs, "loads": loads, "takeover_budget": TAKEOVER_BUDGET,
              "times": {k: getattr(times, k) for k in ("keepalive", "deadtime")} if times else {},
              "table": table(all_rows), "busy": busy_report, "rows": all_rows}
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "load.json").write_text(json.dumps(result, indent=1))
    (a.out / "LOAD.md").write_text(markdown(result))
    draw(result, a.out / "load.png")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
