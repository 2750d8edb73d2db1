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
from lab.observe.probe import Probe  # noqa: E402
from lab.observe.state import wait_serving  # noqa: E402
from lab.waiting import wait_until  # noqa: E402

PREFIX = "hload"
GOALS = {"labs": 24, "class_up_s": 480.0, "memory_mb_per_lab": 100.0}


def say(msg: str) -> None:
    print(msg, flush=True)


def memory_mb(client, name: str) -> float:  # noqa: ANN001
    total = 0.0
    for c in client.containers.list(filters=lab_filter(name)):
        m = c.stats(stream=False)["memory_stats"]
        cache = m.get("stats", {}).get("inactive_file", m.get("stats", {}).get("total_inactive_file", 0))
        total += (m.get("usage", 0) - cache) / 2**20
    return round(total, 1)


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
    a = ap.parse_args()
    client = docker_client()
    images.ensure_images(client, say)
    where = classroom.engines(None)
    for m in classroom.members(where, PREFIX):  # an interrupted earlier run
        classroom.down([m])
    names = classroom.member_names(PREFIX, a.count)
    result: dict = {"labs": a.count, "parallel": a.parallel, "machine": {
        "cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}}
    try:
        say(f"starting a class of {a.count} labs ({a.parallel} at a time) ...")
        t0 = time.monotonic()
        started, failed = classroom.up(where, LabConfig(timing="fast").resolved(), PREFIX, a.count, a.parallel)
        result["class_up_s"] = round(time.monotonic() - t0, 1)
        result["failed_to_start"] = [(m.cfg.name, err) for m, err in failed]
        labs = [m.handle() for m in sorted(started, key=lambda m: m.cfg.name)]
        say(f"class up in {result['class_up_s']} s; {len(labs)} labs, {len(failed)} failed")
        times = labs[0].cfg.times if labs else None
        result["memory_mb_per_lab"] = sorted(memory_mb(client, lab.cfg.name) for lab in labs)
        result["loadavg_before_kill"] = os.getloadavg()

        probes = [Probe(lab, hz=10) for lab in labs]
        for p in probes:
            p.__enter__()
        try:
            for p in probes:
                wait_until(f"the probe of {p.lab.cfg.name}", lambda p=p: (any(s.ok for s in p.samples), "none"), 30)
            say("killing every master at once ...")
            kill_at = time.monotonic()
            barrier = threading.Barrier(len(labs))

            def kill(lab) -> None:  # noqa: ANN001
                barrier.wait()
                faults.inject(lab, "kill", lab.cfg.master)

            with ThreadPoolExecutor(max_workers=len(labs)) as pool:
                list(pool.map(kill, labs))
            bound = times.deadtime + TAKEOVER_BUDGET
            with ThreadPoolExecutor(max_workers=8) as pool:
                served = list(pool.map(lambda lab: _served(lab, 3 * bound), labs))
            outages = [p.outage(kill_at) for p in probes]
        finally:
            for p in probes:
                p.__exit__()
        result["outages_s"] = {lab.cfg.name: o for lab, o in zip(labs, outages)}
        result["served_by_backup"] = {lab.cfg.name: ok for lab, ok in zip(labs, served)}
        result["outage_bound_s"] = bound
        ok_outages = [o for o in outages if o is not None]
        result["outage_stats_s"] = ({"min": min(ok_outages), "median": statistics.median(ok_outages),
                                     "max": max(ok_outages)} if ok_outages else None)
        result["within_bound"] = all(o is not None and o <= bound for o in outages) and all(served)
        say(f"outages: {result['outage_stats_s']} (bound {bound} s); all within: {result['within_bound']}")

        say("healing every lab ...")
        t1 = time.monotonic()
        with ThreadPoolExecutor(max_workers=a.parallel) as pool:
            healed = list(pool.map(lambda lab: _healed(lab), labs))
        result["heal_s"] = round(time.monotonic() - t1, 1)
        result["healed"] = all(healed)
    finally:
        say("taking the class down ...")
        classroom.down(classroom.members(where, PREFIX))
        result["leftovers"] = leftovers(client, names)
    write(result)
    ok = (not result.get("failed_to_start") and result.get("within_bound") and result.get("healed")
          and not result["leftovers"])
    return 0 if ok else 1


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
    outages = [o for o in (result.get("outages_s") or {}).values() if o is not None]
    lines = [
        "# Classroom load benchmark", "",
        "<!-- written by bench/class_load.py (`make bench-class`); do not edit by hand -->", "",
        f"Machine: {result['machine']['cpus']} CPUs, {result['machine']['platform']}.", "",
        "| measure | result | goal |", "| --- | --- | --- |",
        f"| labs in the class (fast timing, finished cluster) | {result['labs']} "
        f"({len(result.get('failed_to_start') or [])} failed to start) | {GOALS['labs']} |",
        f"| `lab class up` ({result['parallel']} at a time, images built) | {result.get('class_up_s')} s | "
        f"at most {GOALS['class_up_s']:.0f} s |",
        "| masters killed at once: outage per lab, min / median / max | "
        + (f"{min(outages):.2f} / {statistics.median(outages):.2f} / {max(outages):.2f} s" if outages else "-")
        + f" | each at most deadtime + 2 s = {result.get('outage_bound_s')} s |",
        f"| every lab served by its backup within the bound | {result.get('within_bound')} | yes |",
        f"| every lab healed afterwards | {result.get('healed')} ({result.get('heal_s')} s) | yes |",
        f"| memory per lab, median / max | {statistics.median(mem):.0f} / {max(mem):.0f} MB | at most "
        f"{GOALS['memory_mb_per_lab']:.0f} MB |",
        f"| load average before the kill (1, 5, 15 min) | {', '.join(f'{x:.1f}' for x in result.get('loadavg_before_kill') or [])} | |",
        f"| left behind after `lab class down` | {len(result['leftovers'])} objects | none |",
        "", "![outage per lab](class_outages.png)", "",
    ]
    (out / "CLASS.md").write_text("\n".join(lines))
    if outages:
        import matplotlib  # noqa: PLC0415 (plotting is the benchmark's last step)
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
        fig, ax = plt.subplots(figsize=(7, 3.5))
        names = sorted(result["outages_s"])
        ax.bar(range(len(names)), [result["outages_s"][n] or 0 for n in names], color="#4a7")
        ax.axhline(result["outage_bound_s"], color="#c33", linestyle="--", label="deadtime + 2 s")
        ax.set_xticks(range(len(names)), [n.removeprefix(PREFIX) for n in names], fontsize=7)
        ax.set_xlabel("lab")
        ax.set_ylabel("outage (s)")
        ax.set_title(f"{result['labs']} labs, every master killed at once")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "class_outages.png", dpi=110)


if __name__ == "__main__":
    sys.exit(main())
