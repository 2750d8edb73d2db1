#!/usr/bin/env python3
"""heartbeat and Pacemaker side by side (`make bench-stacks`, issue 28): the same cluster on
the same containers, with timers of the same strength (the fast profile: heartbeat's
deadtime 2 s and keepalive 200 ms; Corosync's token 2 s, resent every 200 ms), one stack
after the other, nothing else running:

- the scenarios both stacks share, RUNS times each with the probe in ha3: the article's test
  (graceful-stop), a power cut of the master (hard-kill), standby and back; the outage of
  each step, and where its seconds went (detection: the fault to the stack's first reaction;
  takeover: the reaction to the client's first good answer), read from each stack's logs;
- a fenced power cut (`--stonith ipmi`: heartbeat's external/ipmi, Pacemaker's
  fence_ipmilan, the same boards), RUNS times;
- what differs by design: Apache killed on the active node (how long until the URL answers
  again; heartbeat's haresources mode never notices), the LAN cut alone (requests failed
  while the second path carries the cluster), split brain: both links cut, without and with
  fencing (how many nodes hold the VIP at once, and the survivor).

Writes bench/stacks.json, bench/STACKS.md and bench/stacks.png."""

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

from lab import faults, recovery, scenario  # noqa: E402
from lab.engine.handle import docker_client  # noqa: E402
from lab.model.config import LabConfig  # noqa: E402
from lab.observe.probe import Probe  # noqa: E402
from lab.observe.state import node_state, who_serves  # noqa: E402
from lab.provision import remove_lab, up  # noqa: E402
from lab.waiting import WaitTimeout, wait_until  # noqa: E402

STACKS = ("heartbeat", "pacemaker")
SHARED = ("graceful-stop", "hard-kill", "standby")
NAME = "hbstacks"
APACHE_WAIT = 30.0  # s the bench waits for the URL after Apache was killed


def say(msg: str) -> None:
    print(msg, flush=True)


def lab_for(stack: str, stonith: str):  # noqa: ANN201
    cfg = LabConfig.numbered(NAME, 160, stack=stack, stonith=stonith, mgmt_subnet="172.29.162.0/24").resolved()
    client = docker_client()
    remove_lab(client, NAME, None)
    t0 = time.monotonic()
    lab = up(cfg, client=client)
    return lab, round(time.monotonic() - t0, 1)


def steps_of(res: dict) -> list[dict]:
    return [{k: s.get(k) for k in ("label", "outage_s", "bounds_s", "within_bounds", "detection_s", "takeover_s",
                                   "phases_text")} for s in res["steps"]]


def apache_killed(lab) -> dict:  # noqa: ANN001
    recovery.heal(lab)
    t0 = time.monotonic()
    faults.inject(lab, "kill-apache", lab.cfg.master)
    try:
        wait_until("the URL to answer again", lambda: (who_serves(lab) is not None, "no answer"), APACHE_WAIT, 0.1)
        back = round(time.monotonic() - t0, 2)
    except WaitTimeout:
        back = None
    return {"answers_again_after_s": back, "apache_running": node_state(lab, lab.cfg.master)["apache"]}


def lan_cut(lab) -> dict:  # noqa: ANN001
    recovery.heal(lab)
    hold = 3 * lab.cfg.times.deadtime + 2
    with Probe(lab, where="ha3", hz=20) as probe:
        faults.inject(lab, "cut-lan")
        end = time.monotonic() + hold
        wait_until("the LAN cut to be held", lambda: (time.monotonic() >= end, ""), hold + 5, 0.2)
    failed = sum(1 for s in probe.samples if not s.ok)
    return {"held_s": hold, "requests": len(probe.samples), "failed": failed,
            "served_by": sorted({s.node for s in probe.samples if s.ok})}


def split_brain(lab) -> dict:  # noqa: ANN001
    """Both links cut, held three deadtimes: at most how many nodes held the VIP at once."""
    recovery.heal(lab)
    faults.inject(lab, "cut-lan")
    faults.inject(lab, "cut-serial")
    most, end = 0, time.monotonic() + 3 * lab.cfg.times.deadtime + 4

    def watch() -> tuple[bool, str]:
        nonlocal most
        running = [n for n in ("ha1", "ha2") if lab.container_status(n) == "running"]
        most = max(most, sum(1 for n in running if node_state(lab, n)["vip"]))
        return time.monotonic() >= end, ""

    wait_until("the split to be held", watch, 60, 0.2)
    running = [n for n in ("ha1", "ha2") if lab.container_status(n) == "running"]
    return {"most_vip_holders": most, "running_after": running}


def one_stack(stack: str, runs: int) -> dict:
    out: dict = {"stack": stack}
    lab, out["lab_up_s"] = lab_for(stack, "none")
    try:
        for name in SHARED:
            out[name] = []
            for i in range(runs):
                res = scenario.run(lab, name)
                out[name].append(steps_of(res))
                say(f"[{stack}] {name} {i + 1}/{runs}: " + ", ".join(
                    f"{s['label']} {s['outage_s']} s" for s in out[name][-1]))
        out["apache_killed"] = apache_killed(lab)
        say(f"[{stack}] Apache killed: {out['apache_killed']}")
        out["lan_cut"] = lan_cut(lab)
        say(f"[{stack}] LAN cut alone: {out['lan_cut']}")
        out["split_brain_unfenced"] = split_brain(lab)
        say(f"[{stack}] split brain, no fencing: {out['split_brain_unfenced']}")
    finally:
        remove_lab(lab.client, NAME, None)
    lab, _ = lab_for(stack, "ipmi")
    try:
        out["fenced_kill"] = []
        for i in range(runs):
            res = scenario.run(lab, "hard-kill")
            out["fenced_kill"].append(steps_of(res))
            say(f"[{stack}] fenced hard-kill {i + 1}/{runs}: {out['fenced_kill'][-1][0]['outage_s']} s")
        out["split_brain_fenced"] = split_brain(lab)
        say(f"[{stack}] split brain, fencing: {out['split_brain_fenced']}")
        recovery.heal(lab)
    finally:
        remove_lab(lab.client, NAME, None)
    return out


def med(xs: list) -> float | None:
    vals = [x for x in xs if x is not None]
    return round(statistics.median(vals), 2) if vals else None


def fmt(x: float | None, unit: str = " s") -> str:
    return "-" if x is None else f"{x:.2f}{unit}"


def rows(result: dict) -> list[tuple[str, dict[str, str]]]:
    """(what, {stack: cell}) for the table; medians over the runs."""
    out = []
    for name in (*SHARED, "fenced_kill"):
        first = result["stacks"][STACKS[0]][name][0]
        for i, step in enumerate(first):
            cells = {}
            for st in STACKS:
                runs = [r[i] for r in result["stacks"][st][name]]
                cells[st] = (f"{fmt(med([r['outage_s'] for r in runs]))} (detection "
                             f"{fmt(med([r['detection_s'] for r in runs]))}, takeover "
                             f"{fmt(med([r['takeover_s'] for r in runs]))}; bounds "
                             f"{'..'.join(f'{b:g}' for b in runs[0]['bounds_s'] or ()) or '-'} s)")
            label = step["label"].replace("stop-heartbeat", "stack stop")
            out.append((f"{name.replace('_', ' ')}: {label}", cells))
    s = result["stacks"]
    out.append(("Apache killed on the master: the URL answers again after",
                {st: (fmt(s[st]["apache_killed"]["answers_again_after_s"]) if s[st]["apache_killed"]
                      ["answers_again_after_s"] is not None else f"never within {APACHE_WAIT:g} s")
                 for st in STACKS}))
    out.append(("LAN cut alone: failed requests",
                {st: f"{s[st]['lan_cut']['failed']} of {s[st]['lan_cut']['requests']} in "
                     f"{s[st]['lan_cut']['held_s']:g} s, served by {', '.join(s[st]['lan_cut']['served_by'])}"
                 for st in STACKS}))
    for key, what in (("split_brain_unfenced", "split brain (LAN and serial cut), no fencing"),
                      ("split_brain_fenced", "split brain, fencing through the boards")):
        out.append((f"{what}: most VIP holders at once; nodes running after",
                    {st: f"{s[st][key]['most_vip_holders']}; {', '.join(s[st][key]['running_after']) or 'none'}"
                     for st in STACKS}))
    out.append(("`lab up` (fast timing, finished cluster)", {st: fmt(s[st]["lab_up_s"]) for st in STACKS}))
    return out


def write(result: dict) -> None:
    out = ROOT / "bench"
    (out / "stacks.json").write_text(json.dumps(result, indent=2) + "\n")
    m = result["machine"]
    lines = [
        "# heartbeat and Pacemaker, side by side", "",
        "<!-- written by bench/stacks.py (`make bench-stacks`); do not edit by hand -->", "",
        f"Run {result['date']} on {m['cpus']} CPUs, {m['memory_gb']} GB, {m['platform']}; the project at "
        f"{result['commit']}. One stack after the other, nothing else running; medians of {result['runs']} runs. "
        "Timers of the same strength: heartbeat deadtime 2 s, keepalive 200 ms; Corosync token 2 s, retransmitted "
        "every 196 ms, consensus 2.4 s (docs/experiment/pacemaker.md).", "",
        "| scenario: step | " + " | ".join(STACKS) + " |",
        "| --- " * (1 + len(STACKS)) + "|",
        *(f"| {what} | " + " | ".join(cells[st] for st in STACKS) + " |" for what, cells in rows(result)),
        "", "Detection is the step's mark to the stack's first reaction in its log (a node declared dead, a "
        "resource stopped); takeover, that reaction to the client's first good answer. For a stack started "
        "again, its first reaction comes after its own start-up, so detection can exceed the outage. Split "
        "brain with fencing on Pacemaker: each node fenced the other at once (a fence race; ClusterLabs' "
        "remedy for two nodes is a delay on one device, `pcmk_delay_base` or `priority-fencing-delay`, "
        "which the lab does not set), so neither ran until the heal.", "",
        "![outages](stacks.png)", "",
    ]
    (out / "STACKS.md").write_text("\n".join(lines))
    picture(result, out / "stacks.png")


def picture(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, values = [], {st: ([], []) for st in STACKS}
    for name in (*SHARED, "fenced_kill"):
        for i, step in enumerate(result["stacks"][STACKS[0]][name][0]):
            labels.append(f"{name}\n{step['label'].replace('stop-heartbeat', 'stop')}")
            for st in STACKS:
                runs = [r[i] for r in result["stacks"][st][name]]
                outage = med([r["outage_s"] for r in runs]) or 0
                detection = min(med([r["detection_s"] for r in runs]) or 0, outage)  # a bar is the outage
                values[st][0].append(detection)
                values[st][1].append(outage - detection)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.38
    for k, st in enumerate(STACKS):
        xs = [i + (k - 0.5) * width for i in range(len(labels))]
        det, rest = values[st]
        ax.bar(xs, det, width, label=f"{st}: detection (within the outage)", color=("#4c72b0", "#dd8452")[k], alpha=0.55)
        ax.bar(xs, [max(r, 0) for r in rest], width, bottom=det, label=f"{st}: the rest of the outage",
               color=("#4c72b0", "#dd8452")[k])
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("client-visible outage (s), median")
    ax.set_title("The same cluster, the same faults: heartbeat and Pacemaker (fast timers)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", 3)))
    ap.add_argument("--rewrite", action="store_true", help="write the table and picture again from bench/stacks.json")
    a = ap.parse_args()
    if a.rewrite:
        write(json.loads((ROOT / "bench" / "stacks.json").read_text()))
        return 0
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    mem = next(ln.split()[1] for ln in open("/proc/meminfo") if ln.startswith("MemTotal"))
    result: dict = {"date": time.strftime("%Y-%m-%d"), "commit": commit, "runs": a.runs,
                    "machine": {"cpus": os.cpu_count(), "memory_gb": round(int(mem) / 1e6, 1),
                                "platform": platform.platform()},
                    "stacks": {}}
    for stack in STACKS:
        result["stacks"][stack] = one_stack(stack, a.runs)
    write(result)
    say("wrote bench/STACKS.md, bench/stacks.json, bench/stacks.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
