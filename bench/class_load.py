#!/usr/bin/env python3
"""The classroom's load benchmark (`make bench-class`, COUNT=24 by default): start a class
of COUNT labs at the fast timing, the finished cluster in each; with a probe in every lab's
ha3, kill the master of every lab at the same moment; every lab must serve again from its
backup within deadtime + 2 s. Then heal them all, measure memory, take the class down and
check that nothing is left. Writes bench/class_results.json, bench/CLASS.md and
bench/class_outages.png."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab import classroom, faults, recovery  # noqa: E402
from lab.engine import images  # noqa: E402
from lab.engine.handle import docker_client  # noqa: E402
from lab.engine.labels import lab_filter  # noqa: E402
from lab.model.config import TAKEOVER_BUDGET, LabConfig  # noqa: E402
from lab.observe.probe import Probe, outage_window  # noqa: E402
from lab.observe.timeline import LogWatcher  # noqa: E402
from lab.observe.state import wait_serving  # noqa: E402
from lab.waiting import wait_until  # noqa: E402

PREFIX = "hload"
GOALS = {"labs": 24, "class_up_s": 480.0, "memory_mb_per_lab": 100.0}


def say(msg: str) -> None:
    print(msg, flush=True)


def usage(client, name: str) -> tuple[float, float]:  # noqa: ANN001
    """A lab's memory (MB, page cache not counted) and CPU (% of one core, over the ~1 s
    between docker's two stats readings), summed over its containers."""
    mem = cpu = 0.0
    for c in client.containers.list(filters=lab_filter(name)):
        s = c.stats(stream=False)
        m = s["memory_stats"]
        cache = m.get("stats", {}).get("inactive_file", m.get("stats", {}).get("total_inactive_file", 0))
        mem += (m.get("usage", 0) - cache) / 2**20
        cpu_ns = s["cpu_stats"]["cpu_usage"]["total_usage"] - s["precpu_stats"]["cpu_usage"]["total_usage"]
        sys_ns = s["cpu_stats"].get("system_cpu_usage", 0) - s["precpu_stats"].get("system_cpu_usage", 0)
        if sys_ns > 0:  # system_cpu_usage counts every core: scale to one core
            cpu += 100.0 * cpu_ns / sys_ns * s["cpu_stats"].get("online_cpus", os.cpu_count() or 1)
    return round(mem, 1), round(cpu, 2)


def leftovers(client, names: list[str]) -> list[str]:  # noqa: ANN001
    out = []
    for n in names:
        flt = lab_filter(n)
        out += [c.name for c in client.containers.list(all=True, filters=flt)]
        out += [x.name for x in client.networks.list(filters=flt)]
        out += [v.name for v in client.volumes.list(filters=flt)]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=int(os.environ.get("COUNT", GOALS["labs"])))
    ap.add_argument("--parallel", type=int, default=classroom.DEFAULT_WORKERS)
    ap.add_argument("--rounds", default=os.environ.get("ROUNDS", "1,2,4,8,12,16"),
                    help="how many masters die together in each round (the whole class is the last round)")
    ap.add_argument("--engine", default=None, metavar="CONTEXT",
                    help="the docker context of the engine the class runs on (default: this machine's)")
    a = ap.parse_args()
    result = measure(a.engine, a.count, a.parallel, a.rounds)
    write(result)
    return 0 if passed(result) else 1


def ready_images(client, context: str | None) -> None:  # noqa: ANN001
    """The lab's images on the engine: built on this machine's; another engine (the class
    engine has no way out to a mirror) gets them copied from this machine's."""
    if context is None:
        images.ensure_images(client, say)
    else:
        machine = docker_client()
        images.ensure_images(machine, say)
        images.copy_images(machine, client, say)


def passed(result: dict) -> bool:
    return bool(not result.get("failed_to_start") and result.get("within_bound") and result.get("healed")
                and not result["leftovers"])


def measure(context: str | None, count: int, parallel: int, rounds_spec: str) -> dict:
    """Start a class of `count` labs on the engine of `context` (None: the machine's), measure
    it idle, kill masters in rounds, take it down; the figures as a dict."""
    client = docker_client(context)
    ready_images(client, context)
    where = classroom.engines([context] if context else None)
    for m in classroom.members(where, PREFIX):  # an interrupted earlier run
        classroom.down([m])
    names = classroom.member_names(PREFIX, count)
    result: dict = {"labs": count, "parallel": parallel, "engine": context or "default", "machine": {
        "cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}}
    try:
        say(f"starting a class of {count} labs ({parallel} at a time) ...")
        t0 = time.monotonic()
        started, failed = classroom.up(where, LabConfig(timing="fast").resolved(), PREFIX, count, parallel)
        result["class_up_s"] = round(time.monotonic() - t0, 1)
        result["failed_to_start"] = [(m.cfg.name, err) for m, err in failed]
        labs = [m.handle() for m in sorted(started, key=lambda m: m.cfg.name)]
        say(f"class up in {result['class_up_s']} s; {len(labs)} labs, {len(failed)} failed")
        times = labs[0].cfg.times if labs else None
        used = [usage(client, lab.cfg.name) for lab in labs]
        result["memory_mb_per_lab"] = sorted(u[0] for u in used)
        result["cpu_percent_per_lab_idle"] = sorted(u[1] for u in used)
        result["settle_s"] = settle()
        result["loadavg_before_kill"] = os.getloadavg()

        bound = times.deadtime + TAKEOVER_BUDGET
        result["outage_bound_s"] = bound
        result["rounds"] = []
        for k in rounds(rounds_spec, len(labs)):
            say(f"round: killing the master of {k} of the {len(labs)} labs at once ...")
            rnd = kill_round(labs[:k], bound)
            result["rounds"].append(rnd)
            say(f"  outages {rnd['outage_stats_s']} (bound {bound} s), all within: {rnd['within_bound']}; "
                f"median phases {rnd['phases_median_s']}; healed in {rnd['heal_s']} s: {rnd['healed']}")
        whole = result["rounds"][-1] if result["rounds"] else {}
        result["outages_s"] = whole.get("outages_s", {})
        result["within_bound"] = whole.get("within_bound", False)
        result["healed"] = all(r["healed"] for r in result["rounds"])
        met = 0
        for r in result["rounds"]:  # the largest k with every round up to it within the bound
            if not r["within_bound"]:
                break
            met = r["killed"]
        result["largest_simultaneous_within_bound"] = met
    finally:
        say("taking the class down ...")
        classroom.down(classroom.members(where, PREFIX))
        result["leftovers"] = leftovers(client, names)
    return result


def settle(limit: float = 240.0) -> float:
    """Wait until the machine is calm after the class's start (its 1-minute load average
    below its number of CPUs; at most `limit` s), so that every engine's first round starts
    alike; return the seconds waited."""
    t0 = time.monotonic()
    cpus = os.cpu_count() or 1
    if os.getloadavg()[0] >= cpus:
        say(f"waiting for the machine to calm down (load {os.getloadavg()[0]:.1f}, {cpus} CPUs) ...")
    while os.getloadavg()[0] >= cpus and time.monotonic() - t0 < limit:
        time.sleep(5)
    return round(time.monotonic() - t0, 1)


def rounds(spec: str, count: int) -> list[int]:
    """The numbers of labs whose masters die together, one round each, the whole class last."""
    ks = sorted({min(int(x), count) for x in spec.split(",") if x.strip()} | {count})
    return [k for k in ks if k > 0]


def kill_round(labs: list, bound: float) -> dict:
    """Kill the master of every lab given at the same instant (a barrier of threads, one per
    lab), with a probe in each lab's ha3 and each node's log watched; then heal them all.
    Per lab: the outage and where it went (heartbeat's events on the backup, from kill)."""
    probes = [Probe(lab, hz=10) for lab in labs]
    watchers = [LogWatcher(lab) for lab in labs]
    kill_s: list[float] = [0.0] * len(labs)
    for p, w in zip(probes, watchers):
        p.__enter__()
        w.__enter__()
    try:
        for p in probes:
            wait_until(f"the probe of {p.lab.cfg.name}", lambda p=p: (any(s.ok for s in p.samples), "none"), 30)
        load = os.getloadavg()
        barrier = threading.Barrier(len(labs))

        def kill(i: int) -> float:
            barrier.wait()
            t = time.monotonic()
            faults.inject(labs[i], "kill", labs[i].cfg.master)
            kill_s[i] = time.monotonic() - t
            return t

        with ThreadPoolExecutor(max_workers=len(labs)) as pool:
            kill_at = min(pool.map(kill, range(len(labs))))
        with ThreadPoolExecutor(max_workers=8) as pool:
            served = list(pool.map(lambda lab: _served(lab, 6 * bound), labs))
        for p in probes:  # the probe's own next answer, not only wait_serving's
            wait_until(f"the probe of {p.lab.cfg.name} to see the service back",
                       lambda p=p: (p.outage(kill_at) is not None, "not back"), 6 * bound)
    finally:
        for p, w in zip(probes, watchers):
            p.__exit__()
            w.__exit__()
    outages, phase_rows = {}, []
    for lab, p, w in zip(labs, probes, watchers):
        window = outage_window(p.samples, kill_at)
        outages[lab.cfg.name] = None if window is None else round(window[1] - window[0], 3)
        phase_rows.append(phases(w.sorted_events(), lab.cfg.backup, kill_at, window))
    ok = [o for o in outages.values() if o is not None]
    t1 = time.monotonic()
    with ThreadPoolExecutor(max_workers=classroom.DEFAULT_WORKERS) as pool:
        healed = list(pool.map(_healed, labs))
    return {
        "killed": len(labs), "loadavg_before": load, "outages_s": outages,
        "outage_stats_s": {"min": min(ok), "median": statistics.median(ok), "max": max(ok)} if ok else None,
        "within_bound": len(ok) == len(labs) and max(ok) <= bound and all(served),
        "kill_call_s": {"median": round(statistics.median(kill_s), 3), "max": round(max(kill_s), 3)},
        "phases_s": phase_rows,
        "phases_median_s": {k: round(statistics.median(r[k] for r in phase_rows if k in r), 2)
                            for k in PHASES if any(k in r for r in phase_rows)},
        "heal_s": round(time.monotonic() - t1, 1), "healed": all(healed),
    }


# What a takeover is made of, in the order it happens (seconds from the kill).
PHASES = ("declared dead", "acquiring", "IPaddr2 start", "Filesystem start", "apache2 start", "first answer")


def phases(events: list, backup: str, kill_at: float, window: tuple[float, float] | None) -> dict:
    """When each phase of the backup's takeover began, in seconds after the kill."""
    out: dict[str, float] = {}
    for e in events:
        if e.node != backup or e.t < kill_at:
            continue
        name = "declared dead" if e.kind == "dead" and e.text.endswith("declared dead") else \
            "acquiring" if e.kind == "acquire" else e.text if e.kind == "resource" else None
        if name in PHASES and name not in out:
            out[name] = round(e.t - kill_at, 3)
    if window is not None:
        out["first answer"] = round(window[1] - kill_at, 3)
    return out


def _served(lab, timeout: float) -> bool:  # noqa: ANN001
    try:
        wait_serving(lab, lab.cfg.backup, timeout=timeout)
        return True
    except Exception as exc:  # noqa: BLE001
        say(f"{lab.cfg.name}: {exc}")
        return False


def _healed(lab) -> bool:  # noqa: ANN001
    try:
        recovery.heal(lab)
        return True
    except Exception as exc:  # noqa: BLE001
        say(f"{lab.cfg.name}: heal failed: {exc}")
        return False


def write(result: dict) -> None:
    out = ROOT / "bench"
    (out / "class_results.json").write_text(json.dumps(result, indent=2) + "\n")
    mem = result.get("memory_mb_per_lab") or [0]
    cpus = result.get("cpu_percent_per_lab_idle") or [0]
    rnds = result.get("rounds") or []
    whole = rnds[-1] if rnds else {}
    st = whole.get("outage_stats_s")
    bound = result.get("outage_bound_s")
    lines = [
        "# Classroom load benchmark", "",
        "<!-- written by bench/class_load.py (`make bench-class`); do not edit by hand -->", "",
        f"Machine: {result['machine']['cpus']} CPUs, {result['machine']['platform']}.", "",
        "| measure | result | goal |", "| --- | --- | --- |",
        f"| labs in the class (fast timing, finished cluster) | {result['labs']} "
        f"({len(result.get('failed_to_start') or [])} failed to start) | {GOALS['labs']} |",
        f"| `lab class up` ({result['parallel']} at a time, images built) | {result.get('class_up_s')} s | "
        f"at most {GOALS['class_up_s']:.0f} s |",
        "| every master killed at once: outage per lab, min / median / max | "
        + (f"{st['min']:.2f} / {st['median']:.2f} / {st['max']:.2f} s" if st else "-")
        + f" | each at most deadtime + 2 s = {bound} s |",
        f"| every lab served by its backup within the bound | {result.get('within_bound')} | yes |",
        f"| most masters killed at once with every lab within the bound | "
        f"{result.get('largest_simultaneous_within_bound')} of {result['labs']} | {result['labs']} |",
        f"| every lab healed after every round | {result.get('healed')} | yes |",
        f"| memory per lab, median / max | {statistics.median(mem):.0f} / {max(mem):.0f} MB | at most "
        f"{GOALS['memory_mb_per_lab']:.0f} MB |",
        f"| CPU per lab, idle (% of one core), median / max | "
        f"{statistics.median(cpus):.1f} / {max(cpus):.1f} | |",
        f"| load average with the class idle (1, 5, 15 min) | "
        f"{', '.join(f'{x:.1f}' for x in result.get('loadavg_before_kill') or [])} | |",
        f"| left behind after `lab class down` | {len(result['leftovers'])} objects | none |",
        "", "## Masters killed together, with the whole class running", "",
        "Each round kills the master of k labs at the same instant while all the class runs, then heals "
        "them. The phases are medians over the round's labs, in seconds after the kill, read from the "
        "backup's log (rsyslog's microsecond stamps) and the probe in each lab's ha3.", "",
        "| killed at once | outage min / median / max (s) | within bound | `docker kill` call, median / max (s) | "
        + " | ".join(PHASES) + " | heal (s) |",
        "| --- " * (5 + len(PHASES)) + "|",
    ]
    for r in rnds:
        o, ph = r["outage_stats_s"], r["phases_median_s"]
        lines.append(
            f"| {r['killed']} | " + (f"{o['min']:.2f} / {o['median']:.2f} / {o['max']:.2f}" if o else "-")
            + f" | {'yes' if r['within_bound'] else 'no'} | {r['kill_call_s']['median']} / {r['kill_call_s']['max']} | "
            + " | ".join(f"{ph[k]:.2f}" if k in ph else "-" for k in PHASES) + f" | {r['heal_s']} |")
    lines += ["", "![outage per lab against masters killed at once](class_outages.png)", ""]
    (out / "CLASS.md").write_text("\n".join(lines))
    if rnds:
        import matplotlib  # noqa: PLC0415 (plotting is the benchmark's last step)
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
        fig, ax = plt.subplots(figsize=(7, 3.8))
        for r in rnds:
            ys = [o for o in r["outages_s"].values() if o is not None]
            ax.scatter([r["killed"]] * len(ys), ys, s=14, color="#4a7", alpha=0.7)
            ax.plot([r["killed"]], [r["phases_median_s"].get("declared dead", float("nan"))], "k_", ms=12)
        ax.axhline(bound, color="#c33", linestyle="--", label="deadtime + 2 s")
        ax.set_xlabel(f"masters killed at the same instant (of {result['labs']} labs running)")
        ax.set_ylabel("outage per lab (s)")
        ax.set_title("outage per lab; black tick: median time to 'node is dead'")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "class_outages.png", dpi=110)


if __name__ == "__main__":
    sys.exit(main())
