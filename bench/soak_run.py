"""The soak at length (`make soak`): a fast-timing lab of its own, `lab soak` with FAULTS
faults (default 200) drawn from the whole catalogue with a fixed seed, the per-kind table,
the machine it ran on. Writes bench/SOAK.md, bench/soak.json, bench/soak_timeline.png and the soak's section of
bench/RESULTS.md; the full report (timeline, every fault) goes to bench/soak-report/, not
kept in git. The lab is removed at the end, whatever happens."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import SOAK_MARK, machine, say  # noqa: E402
from lab import provision, soak  # noqa: E402
from lab.engine.handle import docker_client  # noqa: E402
from lab.model.config import LabConfig  # noqa: E402

NAME = "habench-soak"
NET = 106  # 172.29.106.0/24 LAN, .107 serial: beside the suite (90..), bench/run.py (100), bench-cts (104)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--faults", type=int, default=200)
    ap.add_argument("--seed", default="20261126")
    a = ap.parse_args()
    client = docker_client()
    provision.remove_lab(client, NAME, None)
    cfg = LabConfig.numbered(NAME, NET)
    try:
        lab = provision.up(cfg, client=client)
        result = soak.run(lab, count=a.faults, seed=a.seed, report_dir=ROOT / "bench" / "soak-report", say=say)
    finally:
        provision.remove_lab(client, NAME, None)
    # the whole run on one timeline, kept beside the numbers (the rest of the report is not)
    shutil.copyfile(ROOT / "bench" / "soak-report" / "timeline.png", ROOT / "bench" / "soak_timeline.png")
    table = soak.report(result)
    say(table)
    m = machine()
    data = {"machine": m, **{k: v for k, v in result.items() if k not in ("steps",)}}
    (ROOT / "bench" / "soak.json").write_text(json.dumps(data, indent=1) + "\n")
    lines = [
        "# Soak: the fault catalogue at random",
        "",
        f"`make soak FAULTS={a.faults}` (seed {a.seed}), timing `fast` (keepalive 200 ms, deadtime 2 s), no fencing; "
        f"each fault held {soak.hold_bounds(cfg)[0]:g} to {soak.hold_bounds(cfg)[1]:g} s (longer where its move "
        f"takes longer), then `lab heal`; the probe polls hostname.html from ha3 20 times a second. Machine: "
        f"{m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB, kernel {m['kernel']}, Docker {m['docker']}.",
        "",
        "![the whole run on one timeline](soak_timeline.png)",
        "",
        f"- verdict: **{'no unexpected anomaly, no failed heal' if result['passed'] else 'FAILED'}** "
        f"({result['faults']} faults in {result['seconds']:.0f} s)"
        + (f"; replay: `{result['replay']}`" if result["replay"] else ""),
        "",
        "| fault | runs | outage median / p90 / max (s) | no recovery until heal | heal median / max (s) | "
        "expected transients | unexpected | heals failed |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, k in result["per_kind"].items():
        o, h = k["outage_s"], k["heal_s"]
        lines.append(f"| {label} | {k['runs']} | "
                     + (f"{o['median']:.2f} / {o['p90']:.2f} / {o['max']:.2f}" if o else "-")
                     + f" | {k['no_recovery_until_heal']} | "
                     + (f"{h['median']:.1f} / {h['max']:.1f}" if h else "-")
                     + f" | {_counts(k['expected'])} | {_counts(k['unexpected'])} | {k['heals_failed']} |")
    bad = [f for f in result["faults_run"] if f["unexpected"] or f["heal_error"]]
    if bad:
        lines += ["", "What went beyond the declarations, fault by fault (`lab soak --seed "
                  f"{a.seed} --faults K` replays up to fault K; the timeline is in bench/soak-report/):", ""]
        lines += [f"- {f['index']}. {f['label']} (held {f['hold']:g} s): served {f['served'] or 'nobody'}, outage "
                  + (f"{f['outage_s']:.2f} s" if f["outage_s"] is not None else "none until the heal")
                  + (f"; unexpected: {', '.join(f['unexpected'])}" if f["unexpected"] else "")
                  + (f"; heal failed: {f['heal_error']}" if f["heal_error"] else "")
                  + "".join(f"; `{ln}`" for ln in f["log_lines"][:2]) for f in bad]
    text = "\n".join(lines) + "\n"
    (ROOT / "bench" / "SOAK.md").write_text(text)
    results = ROOT / "bench" / "RESULTS.md"
    head = results.read_text().partition(SOAK_MARK)[0].rstrip() if results.exists() else ""
    results.write_text(head + f"\n\n{SOAK_MARK}\n" + text.replace("# Soak", "## Soak", 1))
    say("wrote bench/SOAK.md, bench/soak.json, bench/soak_timeline.png and the soak's section of bench/RESULTS.md")
    return 0 if result["passed"] else 1


def _counts(d: dict) -> str:
    return ", ".join(f"{k} x{v}" for k, v in d.items()) or "-"


if __name__ == "__main__":
    sys.exit(main())
