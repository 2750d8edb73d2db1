#!/usr/bin/env python3
"""The machine's engine and the class engine side by side (`make bench-engines`, issue 24):
on each, in one run and one after the other, the same measurements of the same lab:

- `lab up` of one lab (fast timing, the finished cluster, images present), started as a
  class member is (addresses from the engine's pool);
- the hard-kill scenario RUNS times with the probe in ha3: the outage of the power cut and
  of the failback, healed between runs;
- the memory of a running lab (each container's working set, page cache not counted);
- a class of COUNT labs (default 24): `lab class up` time, memory per lab, every master
  killed at the same instant, every lab served by its backup within deadtime + 2 s, healed,
  taken down with nothing left (bench/class_load.py's measurement).

The class engine must be set up first (`make bench-engines` runs `make class-engine`).
Writes bench/engines.json and bench/ENGINES.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import class_load  # noqa: E402
from lab import classroom, recovery, scenario  # noqa: E402
from lab.engine import classengine  # noqa: E402
from lab.engine.handle import docker_client  # noqa: E402
from lab.engine.rootless import engine_kind  # noqa: E402
from lab.model.config import LabConfig  # noqa: E402

PREFIX = "hbeng"  # the single lab's class of one


def say(msg: str) -> None:
    print(msg, flush=True)


def one_lab(context: str | None, runs: int) -> dict:
    """lab up, hard-kill RUNS times, memory, down: one lab on the engine of `context`."""
    client = docker_client(context)
    class_load.ready_images(client, context)
    where = classroom.engines([context] if context else None)
    classroom.down(classroom.members(where, PREFIX))  # an interrupted earlier run's
    out: dict = {"engine": context or "default", "kind": engine_kind(client)}
    try:
        say(f"[{out['engine']}] lab up (one lab, fast timing, finished cluster) ...")
        t0 = time.monotonic()
        started, failed = classroom.up(where, LabConfig(timing="fast").resolved(), PREFIX, 1, 1)
        out["lab_up_s"] = round(time.monotonic() - t0, 1)
        if failed:
            out["failed"] = str(failed[0][1])
            return out
        lab = started[0].handle()
        out["memory_mb"] = class_load.usage(client, lab.cfg.name)[0]
        kills, backs = [], []
        for i in range(runs):
            recovery.heal(lab)
            res = scenario.run(lab, "hard-kill")
            kill, back = (s["outage_s"] for s in res["steps"][:2])
            say(f"[{out['engine']}] hard-kill {i + 1}/{runs}: outage {kill} s, failback {back} s")
            kills.append(kill)
            backs.append(back)
        out["hard_kill_outage_s"] = kills
        out["failback_outage_s"] = backs
    finally:
        classroom.down(classroom.members(where, PREFIX))
        out["leftovers"] = class_load.leftovers(client, classroom.member_names(PREFIX, 1))
    return out


def stats(xs: list) -> str:
    vals = [x for x in xs if x is not None]
    if not vals:
        return "-"
    return f"{min(vals):.2f} / {statistics.median(vals):.2f} / {max(vals):.2f}"


def write(result: dict) -> None:
    out = ROOT / "bench"
    (out / "engines.json").write_text(json.dumps(result, indent=2) + "\n")
    cols = result["engines"]
    one = {c: result["one_lab"][c] for c in cols}
    cls = {c: result["class"][c] for c in cols}

    def row(label: str, fn) -> str:  # noqa: ANN001
        cells = []
        for c in cols:
            try:
                cells.append(fn(c))
            except (KeyError, TypeError, ValueError, statistics.StatisticsError):
                cells.append("-")
        return f"| {label} | " + " | ".join(cells) + " |"

    m = result["machine"]
    lines = [
        "# The machine's engine and the class engine, side by side", "",
        "<!-- written by bench/engines.py (`make bench-engines`); do not edit by hand -->", "",
        f"Run {result['date']} on {m['cpus']} CPUs, {m['memory_gb']} GB, {m['platform']}; "
        f"the project at {result['commit']}. One engine after the other, nothing else running.", "",
        "| measure | " + " | ".join(f"{c} ({one[c].get('kind')})" for c in cols) + " |",
        "| --- " * (1 + len(cols)) + "|",
        row("`lab up`, one lab (fast timing, finished cluster)", lambda c: f"{one[c]['lab_up_s']} s"),
        row(f"hard kill of the master: outage min / median / max over {result['runs']} runs (s)",
            lambda c: stats(one[c]["hard_kill_outage_s"])),
        row("its failback: outage min / median / max (s)", lambda c: stats(one[c]["failback_outage_s"])),
        row("memory of a running lab", lambda c: f"{one[c]['memory_mb']:.0f} MB"),
        row(f"`lab class up` of {result['count']} labs", lambda c: f"{cls[c]['class_up_s']} s "
            f"({len(cls[c]['failed_to_start'])} failed)"),
        row("memory per lab in the class, median / max",
            lambda c: f"{statistics.median(cls[c]['memory_mb_per_lab']):.0f} / "
                      f"{max(cls[c]['memory_mb_per_lab']):.0f} MB"),
        row("load average (1 min) when the masters were killed, after waiting for calm",
            lambda c: f"{cls[c]['loadavg_before_kill'][0]:.1f} (waited {cls[c].get('settle_s', 0)} s)"),
        *(row(f"{r['killed']} masters killed at once: outage min / median / max (s); within the bound",
              lambda c, i=i: "{min:.2f} / {median:.2f} / {max:.2f}".format(**cls[c]["rounds"][i]["outage_stats_s"])
              + f"; {'yes' if cls[c]['rounds'][i]['within_bound'] else 'no'}")
          for i, r in enumerate(cls[cols[0]]["rounds"])),
        row("the bound (deadtime + 2 s)", lambda c: f"{cls[c]['outage_bound_s']} s"),
        row("every lab healed, then taken down with nothing left",
            lambda c: "yes" if cls[c]["healed"] and not cls[c]["leftovers"] else
            f"no (healed {cls[c]['healed']}, left {len(cls[c]['leftovers'])})"),
        "",
    ]
    (out / "ENGINES.md").write_text("\n".join(lines))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=int(os.environ.get("COUNT", 24)))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", 3)))
    ap.add_argument("--parallel", type=int, default=classroom.DEFAULT_WORKERS)
    a = ap.parse_args()
    if not classengine.answers():
        print("bench-engines: the class engine does not answer; set it up first: sudo make class-engine",
              file=sys.stderr)
        return 2
    contexts = [None, classengine.CONTEXT]
    cols = ["default", classengine.CONTEXT]
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    mem = next(ln.split()[1] for ln in open("/proc/meminfo") if ln.startswith("MemTotal"))
    result: dict = {"date": time.strftime("%Y-%m-%d"), "commit": commit, "count": a.count, "runs": a.runs,
                    "engines": cols, "one_lab": {}, "class": {},
                    "machine": {"cpus": os.cpu_count(), "memory_gb": round(int(mem) / 2**20, 1),
                                "platform": platform.platform()}}
    for ctx, col in zip(contexts, cols):
        result["one_lab"][col] = one_lab(ctx, a.runs)
    for ctx, col in zip(contexts, cols):
        say(f"[{col}] a class of {a.count} ...")
        # 4 at once, which this 2-core machine takes within the bound (bench/CLASS.md), then all
        result["class"][col] = class_load.measure(ctx, a.count, a.parallel, f"4,{a.count}")
    write(result)
    ok = all(not r.get("failed") and not r["leftovers"] for r in result["one_lab"].values()) \
        and all(class_load.passed(r) for r in result["class"].values())
    print((ROOT / "bench" / "ENGINES.md").read_text())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
