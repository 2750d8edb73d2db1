#!/usr/bin/env python3
"""The lab's benchmark (`make bench`): client-visible outages, outage against deadtime,
`make lab-up` time warm and cold, and the memory of a running lab, held against the goals.
Writes bench/results.json, bench/RESULTS.md and bench/deadtime.png."""

from __future__ import annotations

import argparse
import json
import re
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.engine import images  # noqa: E402
from lab.engine.handle import LabHandle, docker_client  # noqa: E402
from lab.heartbeat import reconfigure  # noqa: E402
from lab.model.config import LabConfig  # noqa: E402
from lab.provision import remove_lab, up  # noqa: E402
from lab.scenario import run as run_scenario  # noqa: E402

NAME = "habench"
NET = 100  # 172.29.100.0/24 and 172.29.101.0/24: beside a workshop lab and the test suite's
GOALS = {
    "hard_kill_outage_at_deadtime_1s": 1.5,  # deadtime + 0.5 s
    "graceful_handover_s": 0.6,
    "failback_s": 0.6,
    "warm_lab_up_s": 12.0,
    "cold_lab_up_s": 180.0,
    "memory_mb": 100.0,
}


def say(msg: str) -> None:
    print(msg, flush=True)


def bench_config(**changes: object) -> LabConfig:
    return LabConfig.numbered(NAME, NET, **changes)


def lab_up_seconds() -> float:
    """Wall time of `make lab-up` for the bench's lab (images as they are)."""
    args = (f"--name {NAME} --timing fast --port 0 --subnet 172.29.{NET}.0/24 --vip 172.29.{NET}.200 "
            f"--serial-subnet 172.29.{NET + 1}.0/24")
    t0 = time.monotonic()
    subprocess.run(["make", "-s", "lab-up", f"LAB_ARGS={args}"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0


def memory_mb(lab: LabHandle) -> dict:
    """Working set of each container (usage minus inactive page cache), as `docker stats` shows."""
    out = {}
    for c in lab.client.containers.list(filters={"label": f"io.heartbeat-lab.lab={lab.cfg.name}"}):
        m = c.stats(stream=False)["memory_stats"]
        cache = m.get("stats", {}).get("inactive_file", m.get("stats", {}).get("total_inactive_file", 0))
        out[c.name] = round((m.get("usage", 0) - cache) / 2**20, 1)
    out["total"] = round(sum(out.values()), 1)
    return out


def stats(xs: list[float | None]) -> dict:
    vals = [x for x in xs if x is not None]
    if not vals:
        return {"runs": len(xs), "median": None, "min": None, "max": None, "values": xs}
    return {"runs": len(xs), "median": round(statistics.median(vals), 3), "min": round(min(vals), 3),
            "max": round(max(vals), 3), "values": xs, "no_recovery": len(xs) - len(vals)}


# The moves measured, each (scenario, its step, key); the hard kill at deadtime 1 s.
MOVES = (("hard-kill", 0, "hard_kill"), ("graceful-stop", 0, "graceful_stop"), ("graceful-stop", 1, "failback"),
         ("standby", 0, "hb_standby"))


def timers(deadtime: float) -> dict:
    keepalive = 0.2 if deadtime <= 2 else 0.5 if deadtime <= 5 else 1.0
    return {"keepalive": keepalive, "deadtime": deadtime, "warntime": min(deadtime, max(keepalive, deadtime / 2)),
            "initdead": max(4.0, 2 * deadtime)}


def outages(lab: LabHandle, runs: int) -> tuple[dict, dict]:
    """Outage of each move, from scenario runs (probe on ha3, 20 Hz), and where its time went."""
    found: dict[str, list] = {key: [] for _, _, key in MOVES}
    steps: dict[str, list] = {key: [] for _, _, key in MOVES}
    for i in range(runs):
        say(f"  outage run {i + 1}/{runs}")
        for name in dict.fromkeys(m[0] for m in MOVES):
            r = run_scenario(lab, name)
            for _, index, key in (m for m in MOVES if m[0] == name):
                found[key].append(r["steps"][index]["outage_s"])
                steps[key].append(waterfall_run(r, index))
    return {k: stats(v) for k, v in found.items()}, {k: waterfall(v) for k, v in steps.items()}


def waterfall_run(result: dict, index: int) -> list[tuple[str, float]]:
    """heartbeat's log events of one step, as (what, seconds since the step began), up to the
    first good answer after the outage, with the outage's two ends."""
    step = result["steps"][index]
    t0 = step["t"]
    if step["outage_window"] is None:  # never came back: everything until the next step
        nxt = result["steps"][index + 1]["t"] if index + 1 < len(result["steps"]) else float("inf")
        return [(f"{e['node']}: {_short(e['line'])}", e["t"] - t0) for e in result["events"] if t0 <= e["t"] < nxt]
    last_good, back = step["outage_window"]
    events = [(f"{e['node']}: {_short(e['line'])}", e["t"] - t0) for e in result["events"] if t0 <= e["t"] <= back]
    return [*events, ("client: last good answer before the outage", last_good - t0),
            ("client: first good answer after it", back - t0)]


def _short(line: str) -> str:
    """A log line without its stamp, host and pid: what happened."""
    text = line.split(" ", 2)[-1]
    for noise in ("(default)", ": info:", "info:"):
        text = text.replace(noise, "")
    text = re.sub(r"\[\d+\]:?", "", text)
    return re.sub(r"\s+", " ", text).strip()[:90]


def waterfall(runs: list[list[tuple[str, float]]]) -> list[dict]:
    """For each event seen in at least half the runs, its median time since the step began."""
    seen: dict[str, list[float]] = {}
    for run in runs:
        for what, t in dict(run).items():  # the first occurrence in a run
            seen.setdefault(what, []).append(t)
    rows = [{"event": what, "median_s": round(statistics.median(ts), 3), "runs": len(ts)}
            for what, ts in seen.items() if len(ts) * 2 >= len(runs)]
    return sorted(rows, key=lambda r: r["median_s"])


def deadtime_sweep(lab: LabHandle, deadtimes: list[float], runs: int) -> dict:
    out = {}
    for dt in deadtimes:
        reconfigure(lab, **timers(dt))
        vals = []
        for i in range(runs):
            say(f"  deadtime {dt:g} s: hard kill {i + 1}/{runs}")
            vals.append(run_scenario(lab, "hard-kill")["steps"][0]["outage_s"])
        out[f"{dt:g}"] = {"keepalive": timers(dt)["keepalive"], **stats(vals)}
    return out


def plot_deadtime(sweep: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dts = [float(k) for k in sweep]
    med = [sweep[k]["median"] for k in sweep]
    lo = [sweep[k]["median"] - sweep[k]["min"] for k in sweep]
    hi = [sweep[k]["max"] - sweep[k]["median"] for k in sweep]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(dts, med, yerr=[lo, hi], fmt="o-", capsize=4, label="hard-kill outage (median, min-max)")
    ax.plot(dts, dts, "--", color="gray", label="deadtime")
    ax.plot(dts, [d + 0.5 for d in dts], ":", color="red", label="goal: deadtime + 0.5 s")
    ax.set_xlabel("deadtime (s)")
    ax.set_ylabel("client-visible outage (s)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine() -> dict:
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), "?")
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gb": round(int(mem) / 2**20, 1),
            "kernel": platform.release(), "docker": docker_client().version().get("Version")}


def verdict(value: float | None, goal: float) -> str:
    return "n/a" if value is None else ("met" if value <= goal else "MISSED")


def write_markdown(res: dict, path: Path) -> None:
    o, m = res["outages"], res["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Run {res['date']} on {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB, kernel {m['kernel']}, "
        f"Docker {m['docker']}. Timing `fast` with deadtime 1 s (keepalive 200 ms) unless said; probe from ha3 "
        "at 20 Hz, a fresh connection per request. Outage = first good answer after the move minus the last "
        "good answer before it. Each figure is the median of the runs shown.",
        "",
        "| measure | median | min | max | runs | goal | |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    rows = [("hard kill of the active node (deadtime 1 s)", o["hard_kill"], GOALS["hard_kill_outage_at_deadtime_1s"]),
            ("graceful `heartbeat stop`", o["graceful_stop"], GOALS["graceful_handover_s"]),
            ("failback (`heartbeat start`)", o["failback"], GOALS["failback_s"]),
            ("`hb_standby`", o["hb_standby"], GOALS["graceful_handover_s"])]
    for label, st, goal in rows:
        lines.append(f"| {label} | {st['median']} s | {st['min']} s | {st['max']} s | {st['runs']} | "
                     f"<= {goal} s | {verdict(st['median'], goal)} |")
    lines += ["", "Where the time goes: heartbeat's log events (rsyslog's microsecond stamps) in seconds since "
              "the move began, median over the runs.", ""]
    for key, label in (("hard_kill", "hard kill"), ("graceful_stop", "graceful stop"), ("failback", "failback")):
        lines += [f"**{label}** (outage {o[key]['median']} s)", "", "| s | event |", "| --- | --- |"]
        lines += [f"| {r['median_s']:+.3f} | {r['event']} |" for r in res["waterfall"][key]]
        lines.append("")
    lines += ["Outage against deadtime (hard kill):", "",
              "| deadtime | keepalive | median | min | max | runs | within deadtime + 0.5 s |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for dt, st in res["deadtime"].items():
        lines.append(f"| {dt} s | {st['keepalive']:g} s | {st['median']} s | {st['min']} s | {st['max']} s | "
                     f"{st['runs']} | {verdict(st['median'], float(dt) + 0.5)} |")
    up_ = res["lab_up"]
    lines += ["", "![outage against deadtime](deadtime.png)", "",
              "| `make lab-up` | seconds | runs | goal |", "| --- | --- | --- | --- |",
              f"| warm (images built), to the cluster URL serving and the backup joined | {up_['warm_s']} | "
              f"{len(up_['warm_runs'])} | <= {GOALS['warm_lab_up_s']} s: {verdict(up_['warm_s'], GOALS['warm_lab_up_s'])} |",
              f"| cold (no lab images: bootstrap + build; run {up_.get('cold_date', '-')}) | "
              f"{up_.get('cold_s', 'not run')} | 1 | "
              f"<= {GOALS['cold_lab_up_s']} s: {verdict(up_.get('cold_s'), GOALS['cold_lab_up_s'])} |",
              "", "| memory of a running lab | MB |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in res["memory_mb"].items()]
    lines.append(f"\nMemory goal <= {GOALS['memory_mb']} MB: {verdict(res['memory_mb']['total'], GOALS['memory_mb'])}.")
    # the soak's section (bench/soak_run.py) is its own: kept as it is
    soak = path.read_text().partition(SOAK_MARK)[2] if path.exists() else ""
    path.write_text("\n".join(lines) + "\n" + (f"\n{SOAK_MARK}{soak}" if soak else ""))


SOAK_MARK = "<!-- soak: written by bench/soak_run.py -->"


def save(res: dict) -> None:
    """Results so far: a run that fails half-way still leaves what it measured."""
    (ROOT / "bench" / "results.json").write_text(json.dumps(res, indent=1) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=10, help="runs of each move (default 10)")
    ap.add_argument("--sweep-runs", type=int, default=3, help="hard kills per deadtime (default 3)")
    ap.add_argument("--deadtimes", default="2,5,10", help="besides 1 s, measured with the moves")
    ap.add_argument("--warm-runs", type=int, default=10, help="warm `make lab-up` runs (default 10)")
    ap.add_argument("--cold", action="store_true", help="also time a cold `make lab-up` (removes the lab's images)")
    a = ap.parse_args()
    client = docker_client()
    remove_lab(client, NAME, None)
    res: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "goals": GOALS, "lab_up": {}}
    previous = ROOT / "bench" / "results.json"
    if not a.cold and previous.exists():  # keep the last cold figure, with its date
        last = json.loads(previous.read_text())
        if "cold_s" in last.get("lab_up", {}):
            res["lab_up"]["cold_s"] = last["lab_up"]["cold_s"]
            res["lab_up"]["cold_date"] = last["lab_up"].get("cold_date", last["date"])
    try:
        if a.cold:
            say("cold make lab-up: removing the lab's images first ...")
            images.remove_images(client, say=lambda m: None)
            res["lab_up"]["cold_s"] = round(lab_up_seconds(), 1)
            res["lab_up"]["cold_date"] = res["date"]
            remove_lab(client, NAME, None)
        say("warm make lab-up ...")
        images.ensure_images(client, say=lambda m: None)
        warm = []
        for _ in range(a.warm_runs):
            warm.append(lab_up_seconds())
            remove_lab(client, NAME, None)
        res["lab_up"]["warm_s"] = round(statistics.median(warm), 1)
        res["lab_up"]["warm_runs"] = [round(x, 1) for x in warm]
        save(res)
        lab = up(bench_config(), client=client, say=lambda m: None)
        say("memory ...")
        res["memory_mb"] = memory_mb(lab)
        say("outages at deadtime 1 s ...")
        reconfigure(lab, **timers(1.0))
        res["outages"], res["waterfall"] = outages(lab, a.runs)
        save(res)
        say("outage against deadtime ...")
        res["deadtime"] = {"1": {"keepalive": timers(1.0)["keepalive"], **res["outages"]["hard_kill"]}}
        res["deadtime"].update(deadtime_sweep(lab, [float(x) for x in a.deadtimes.split(",")], a.sweep_runs))
        save(res)
    finally:
        remove_lab(client, NAME, None)
    out = ROOT / "bench"
    plot_deadtime(res["deadtime"], out / "deadtime.png")
    write_markdown(res, out / "RESULTS.md")
    say((out / "RESULTS.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
