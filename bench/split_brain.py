#!/usr/bin/env python3
"""Split brain, measured (`make bench-fence`, RUNS=10 by default): on a lab without fencing
and on one with IPMI fencing (fast timing), cut the LAN and the serial cable RUNS times each,
with the client-writes workload running, and record what heartbeat in haresources mode
really does: how many nodes held the VIP at once, which boards reset which node, who holds
the resources once the cluster is quiet, and what happened to the clients' writes. Healed
after every run. Writes bench/SPLIT_BRAIN.md and bench/split_brain.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab import faults, provision, recovery  # noqa: E402
from lab.engine.handle import LabHandle, docker_client  # noqa: E402
from lab.errors import LabError  # noqa: E402
from lab.model.config import NODES, LabConfig  # noqa: E402
from lab.observe import writes as wr  # noqa: E402
from lab.observe.state import node_state, settled  # noqa: E402
from lab.observe.timeline import LogWatcher  # noqa: E402

LABS = {"none": ("hsb-plain", 110), "ipmi": ("hsb-fenced", 113)}  # name, first of three /24s


def say(msg: str) -> None:
    print(msg, flush=True)


def owners(lab: LabHandle) -> dict[str, list[str]]:
    out = {}
    for n in NODES:
        st = node_state(lab, n)
        out[n] = [r for r in ("vip", "mounted", "apache") if st.get(r)]
    return out


def one_run(lab: LabHandle, window: float) -> dict:
    recovery.heal(lab)
    wr.install(lab)
    before = wr.data(lab)
    max_vip, seen = 0, []
    with LogWatcher(lab) as logs, wr.Workload(lab) as load:
        time.sleep(1.0)  # a second of writes before the fault
        t0 = time.monotonic()
        faults.inject(lab, "cut-lan")
        faults.inject(lab, "cut-serial")
        quiet_since = None
        while time.monotonic() - t0 < window:
            o = owners(lab)
            vip = [n for n, rs in o.items() if "vip" in rs]
            max_vip = max(max_vip, len(vip))
            seen.append((round(time.monotonic() - t0, 2), {n: rs for n, rs in o.items() if rs}))
            holders = [n for n, rs in o.items() if rs]
            quiet = len(holders) <= 1 and settled(lab)
            quiet_since = (quiet_since or time.monotonic()) if quiet else None
            if quiet_since and time.monotonic() - quiet_since > 3 * lab.cfg.times.deadtime:
                break
            time.sleep(0.3)
        end = owners(lab)
        resolved = round(time.monotonic() - t0, 1)
    values, counter = wr.since(before, wr.data(lab))
    check = wr.check(load.history, values, counter)
    resets = [e.text.removeprefix("board: ") for e in logs.sorted_events()
              if e.kind == "fence" and e.node.startswith("bmc-") and not e.text.startswith("board: done")]
    try:
        recovery.heal(lab)
        heal_error = None
    except LabError as exc:  # recorded, then a second try; the run's numbers stand either way
        heal_error = str(exc)
        say(f"heal failed: {exc}; trying again")
        recovery.heal(lab)
    result = {
        "heal_error": heal_error,
        "most_vip_holders_at_once": max_vip,
        "end_owners": {n: rs for n, rs in end.items() if rs},
        "board_actions": resets,
        "resolved_in_s": resolved,
        "writes": check.to_dict(),
    }
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", 10)))
    ap.add_argument("--only", choices=sorted(LABS), help="measure one lab and keep the other's last results")
    a = ap.parse_args()
    client = docker_client()
    saved = ROOT / "bench" / "split_brain.json"
    out: dict = {"runs": a.runs, "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "labs": {}}
    if a.only and saved.exists():
        out["labs"] = json.loads(saved.read_text()).get("labs", {})
    for stonith, (name, net) in LABS.items():
        if a.only and stonith != a.only:
            continue
        provision.remove_lab(client, name, None)
        cfg = LabConfig(name=name, timing="fast", local_port=0, stonith=stonith, lan_subnet=f"172.29.{net}.0/24",
                        vip=f"172.29.{net}.200", serial_subnet=f"172.29.{net + 1}.0/24",
                        mgmt_subnet=f"172.29.{net + 2}.0/24").resolved()
        try:
            lab = provision.up(cfg, client, say=lambda m: None)
            window = 60.0
            runs = []
            for i in range(a.runs):
                r = one_run(lab, window)
                runs.append(r)
                say(f"{stonith} run {i + 1}: most VIP holders at once {r['most_vip_holders_at_once']}, end owners "
                    f"{r['end_owners']}, boards {r['board_actions']}, lost writes {len(r['writes']['lost'])}")
            out["labs"][stonith] = runs
            write(out)
        finally:
            provision.remove_lab(client, name, None)
    return 0


def write(out: dict) -> None:
    (ROOT / "bench" / "split_brain.json").write_text(json.dumps(out, indent=1) + "\n")
    lines = ["# Split brain, measured", "",
             "<!-- written by bench/split_brain.py (`make bench-fence`); do not edit by hand -->", "",
             f"Machine: {out['machine']['cpus']} CPUs, {out['machine']['platform']}. Fast timing (deadtime 2 s); "
             f"the LAN and the serial cable cut at once, {out['runs']} runs per lab, clients writing throughout "
             "(10 requests/s, two clients).", "",
             "| fencing | runs | both held the VIP at once | who held the resources once quiet | boards' actions "
             "| runs with lost acknowledged writes (lost in all) | heals that failed once |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for stonith, runs in out["labs"].items():
        both = sum(r["most_vip_holders_at_once"] > 1 for r in runs)
        ends = Counter(" + ".join(sorted(r["end_owners"])) or "nobody" for r in runs)
        acts = Counter(a for r in runs for a in r["board_actions"])
        lost_runs = sum(bool(r["writes"]["lost"]) for r in runs)
        lost = sum(len(r["writes"]["lost"]) for r in runs)
        lines.append(f"| {stonith} | {len(runs)} | {both} | {', '.join(f'{k}: {v}' for k, v in ends.items())} | "
                     f"{', '.join(f'{k}: {v}' for k, v in acts.items()) or '-'} | {lost_runs} ({lost}) | "
                     f"{sum(bool(r.get('heal_error')) for r in runs)} |")
    (ROOT / "bench" / "SPLIT_BRAIN.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
