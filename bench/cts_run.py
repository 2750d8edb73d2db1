"""Linux-HA's Cluster Test Suite at length (`make bench-cts`): a fast-timing lab of its own,
`lab cts` with ITERATIONS tests drawn from every applicable one (seeded), CTS's verdict and
per-test counts, the time it took and the machine it ran on. Writes bench/CTS.md and
bench/cts.json (CTS's log and the nodes' syslog go to bench/cts-report/, not kept in git).
The lab is removed at the end, whatever happens."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import machine, say  # noqa: E402
from lab import cts, provision  # noqa: E402
from lab.engine.handle import docker_client  # noqa: E402
from lab.model.config import LabConfig  # noqa: E402

NAME = "habench-cts"
NET = 104  # 172.29.104.0/24 LAN, .105 serial: beside the suite (90..) and bench/run.py (100)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--seed", default="20261126")
    a = ap.parse_args()
    client = docker_client()
    provision.remove_lab(client, NAME, None)
    cfg = LabConfig.numbered(NAME, NET)
    try:
        lab = provision.up(cfg, client=client)
        t0 = time.monotonic()
        result = cts.run(lab, iterations=a.iterations, seed=a.seed, report_dir=ROOT / "bench" / "cts-report",
                         progress=say)
        wall = time.monotonic() - t0
    finally:
        provision.remove_lab(client, NAME, None)
    say(result.report())
    m = machine()
    data = {"machine": m, "wall_s": round(wall, 1), **result.to_dict()}
    (ROOT / "bench" / "cts.json").write_text(json.dumps(data, indent=2) + "\n")
    lines = [
        "# Linux-HA's Cluster Test Suite against the lab",
        "",
        f"`make bench-cts ITERATIONS={a.iterations}` (seed {a.seed}), timing `fast` (keepalive 200 ms, deadtime 2 s, "
        f"initdead 4 s), CTS run from ha3. Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB, "
        f"kernel {m['kernel']}, Docker {m['docker']}.",
        "",
        f"- CTS's verdict: **{'every test passed, no bad news' if result.passed else 'FAILED'}**",
        f"- Overall Results: `{result.overall}`",
        f"- time: {result.seconds:.0f} s for CTS ({result.seconds / a.iterations:.0f} s a test on average), "
        f"{wall:.0f} s with the heals before and after",
        "",
        "| test | calls | success | failure | skipped | audit failures | time per call (s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, s in sorted(result.per_test.items()):
        per = f"{s['elapsed_time'] / s['calls']:.0f}" if s.get("calls") and "elapsed_time" in s else ""
        lines.append(f"| {name} | {s.get('calls', 0)} | {s.get('success', 0)} | {s.get('failure', 0)} | "
                     f"{s.get('skipped', 0)} | {s.get('auditfail', 0)} | {per} |")
    lines += ["", *(f"- failed: {f}" for f in result.failures), *(f"- bad news: `{b}`" for b in result.bad_news)]
    (ROOT / "bench" / "CTS.md").write_text("\n".join(lines).rstrip() + "\n")
    say("wrote bench/CTS.md and bench/cts.json")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
