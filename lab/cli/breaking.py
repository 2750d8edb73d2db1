"""lab fail, heal, audit, scenario, soak, probe, cts: breaking the cluster and watching it recover."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .. import cts, soak
from ..engine.handle import LabHandle
from ..errors import ConfigError
from ..faults import FAULTS, check_fault, inject
from ..model.config import NODES
from ..observe.audit import WINDOWS, audit, audit_log, window
from ..observe.probe import Probe
from ..observe.state import pacemaker_view
from ..recovery import heal
from ..scenario import SCENARIOS, overran, run
from .options import json_arg, name_arg, named, print_json, via_arg


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fail", help="inject a fault: " + ", ".join(FAULTS),
                       description="\n".join(f"{f.name:15} {f.help}" for f in FAULTS.values()),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    name_arg(p)
    p.add_argument("fault", choices=sorted(FAULTS), help="the fault (described above)")
    p.add_argument("node", nargs="?", choices=NODES, help="the node, for faults that take one")
    p.set_defaults(func=cmd_fail)

    p = sub.add_parser("heal", help="undo every fault and give the resources back to the master")
    name_arg(p)
    p.set_defaults(func=cmd_heal)

    p = sub.add_parser("audit", help="exactly one node holds the VIP, /ha and Apache; no ownership errors in the "
                                     "stack's log (ha-log; Pacemaker's log, with its failed actions and fence history)")
    name_arg(p)
    p.add_argument("--since", choices=list(WINDOWS), default="fault",
                   help="which part of ha-log to read: " + "; ".join(f"{k}: {v}" for k, v in WINDOWS.items())
                   + " (default: fault)")
    json_arg(p, "the audit (who holds what, the log's problems, ok)")
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("scenario", help="run a named scenario with the probe on and write its report",
                       description="\n".join(f"{n:18} {sc.help}" + (f" [needs --stonith {sc.stonith}]"
                                                                         if sc.stonith != "none" else "")
                                              for n, sc in SCENARIOS.items()),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    name_arg(p)
    p.add_argument("action", choices=["run", "list"], help="run one scenario, or list them")
    p.add_argument("scenario", nargs="?", choices=sorted(SCENARIOS), help="the scenario to run")
    p.add_argument("--report", metavar="DIR", help="run: write timeline.png, report.html and report.json into DIR")
    via_arg(p)
    p.add_argument("--writes", action="store_true",
                   help="run: also run clients that write to a CGI application on /ha throughout, and check with "
                        "Jepsen's set semantics what the shared disk kept")
    json_arg(p, "run: each step's outage against its bounds, what held, the probe's summary")
    p.set_defaults(func=cmd_scenario)

    p = sub.add_parser("soak", help="a seeded random sequence of faults, each held, healed and audited",
                       description="Draws faults at random (seeded) from the whole catalogue, on both nodes, "
                       "holds each for a random time within bounds from the timers, heals, and judges each "
                       "fault's window against what the fault is expected to do, transients included. Exit 1 on "
                       "an unexpected anomaly or a failed heal, with the seed and step to replay it.")
    name_arg(p)
    how_long = p.add_mutually_exclusive_group(required=True)
    how_long.add_argument("--faults", type=int, metavar="N", help="how many faults")
    how_long.add_argument("--duration", metavar="TIME", help="for how long: seconds, or with s, m or h (30m)")
    p.add_argument("--seed", help="the random seed (default: the time); the same seed draws the same faults")
    p.add_argument("--start", type=int, default=1, metavar="J",
                   help="begin at fault J of the seed's sequence (replay the faults before a failing one)")
    p.add_argument("--report", metavar="DIR", help="write timeline.png, report.html and report.json into DIR "
                   "(default reports/soak-LAB-SEED)")
    json_arg(p, "the soak's result (each fault, its window, anomalies, passed)")
    p.set_defaults(func=cmd_soak)

    p = sub.add_parser("cts", help="run Linux-HA's Cluster Test Suite from ha3 against the cluster",
                       description="CTS drives random tests (" + ", ".join(cts.TESTS) + "; Stonith on a lab with "
                       "IPMI boards) against the cluster over ssh from ha3, watches every node's syslog for bad "
                       "news and audits the resources after each test. The lab is healed afterwards.")
    name_arg(p)
    p.add_argument("--tests", metavar="NAME,...", help="only these tests (default: every applicable one)")
    p.add_argument("--iterations", type=int, default=20, help="how many tests CTS draws (default 20)")
    p.add_argument("--seed", help="CTS's random seed (default: the time); the same seed draws the same tests")
    p.add_argument("--report", metavar="DIR", default=None,
                   help="write cts.log, cluster.log, cts.json and summary.txt into DIR (default reports/cts-LAB-SEED)")
    json_arg(p, "CTS's result (each test drawn, passed or failed, the audits)")
    p.set_defaults(func=cmd_cts)

    p = sub.add_parser("probe", help="watch the cluster URL live: who answers, and every outage")
    name_arg(p)
    via_arg(p)
    p.add_argument("--hz", type=float, default=20.0, help="requests a second (default 20)")
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (default: until Ctrl-C)")
    p.set_defaults(func=cmd_probe)


def cmd_fail(a: argparse.Namespace) -> int:
    check_fault(a.fault, a.node)  # before attaching: bad arguments need no lab
    inject(LabHandle.attach(a.name), a.fault, a.node)
    print(f"fault {a.fault}{' on ' + a.node if a.node else ''} in place; `{named('lab status', a.name)}` to watch, "
          f"`{named('lab heal', a.name)}` to undo")
    return 0


def cmd_heal(a: argparse.Namespace) -> int:
    lab = LabHandle.attach(a.name)
    heal(lab)
    print(f"healed: {lab.cfg.master} serves again")
    return 0


def cmd_audit(a: argparse.Namespace) -> int:
    lab = LabHandle.attach(a.name)
    marks = window(lab, a.since)
    result = audit(lab, since=marks)
    # Pacemaker keeps its own record: the failed actions and the fencing it did (not a failure
    # of the audit: a fault leaves them, and a heal cleans them up)
    view = pacemaker_view(lab) if lab.cfg.stack == "pacemaker" else None
    if a.json:
        print_json({"ok": result.ok, "owner": result.owner, "split_brain": result.split_brain, "owners": result.owners,
                    "log_problems": result.log_problems, "unreachable": result.unreachable,
                    "since": a.since, "from_line": {n: m + 1 for n, m in marks.items()} if marks else {},
                    **({"pacemaker": {"failures": view.failures, "fencing": view.fencing}} if view else {})})
        return 0 if result.ok else 1
    print(f"{audit_log(lab.cfg)[0]} read {WINDOWS[a.since]}"
          + (" (" + ", ".join(f"{n} from line {m + 1}" for n, m in marks.items()) + ")" if marks else ""))
    print(result.report())
    if view is not None:
        print("Pacemaker's failed actions: " + ("; ".join(view.failures) or "none"))
        print("Pacemaker's fence history: " + ("; ".join(view.fencing) or "none"))
    return 0 if result.ok else 1


def cmd_scenario(a: argparse.Namespace) -> int:
    if a.action == "list":
        extra = [opt for opt, given in (("SCENARIO", a.scenario), ("--report", a.report), ("--writes", a.writes),
                                        ("--via", a.via != "ha3")) if given]
        if extra:
            raise ConfigError(f"scenario list takes no {', '.join(extra)}: those are for `lab scenario run SCENARIO`")
        if a.json:
            print_json([{"name": n, "help": sc.help, "stonith": sc.stonith} for n, sc in SCENARIOS.items()])
            return 0
        for n, sc in SCENARIOS.items():
            print(f"{n:18} {sc.help}" + (f" [needs --stonith {sc.stonith}]" if sc.stonith != "none" else ""))
        return 0
    if a.scenario is None:
        raise ConfigError("which scenario? expected `lab scenario run SCENARIO` (`lab scenario list` names them)")
    result = run(LabHandle.attach(a.name), a.scenario, where=a.via,
                 report_dir=Path(a.report) if a.report else None, writes=a.writes)
    w = result.get("writes")
    bad = [st for st in result["steps"] if st["within_bounds"] is False or not all(h["ok"] for h in st["holds"])]
    lost = bool(w) and w["keeps_writes"] and not w["check"]["valid"]
    if a.json:
        print_json({**result, "passed": not (bad or lost)})
        return 1 if bad or lost else 0
    print(f"scenario {a.scenario}:")
    for step in result["steps"]:
        out, bounds = step["outage_s"], step["bounds_s"]
        verdict = "" if bounds is None else (f"  (expected {bounds[0]:g}..{bounds[1]:g} s: "
                                             f"{'ok' if step['within_bounds'] else 'OUTSIDE'})")
        print(f"  {step['label']:22} outage {'no recovery' if out is None else f'{out:.2f} s'}{verdict}")
        print(f"  {'':22} phases: {step['phases_text']}")
        if bounds is not None and not step["within_bounds"]:
            print(f"  {'':22} {overran(step, result['times'])}")
        for h in step["holds"]:
            print(f"  {'':22} {'ok' if h['ok'] else 'FAILED'}: {h['what']}" + ("" if h["ok"] else f" ({h['seen']})"))
    s = result["summary"]
    print(f"  {s['requests']} requests ({s['rate_hz']} Hz) from {a.via}: {s['failure_windows']} failure window(s), "
          f"{s['failed_time_s']:.2f} s failed, served by {' -> '.join(s['served_by'])}")
    if w:
        c = w["check"]
        print(f"  writes: {c['attempted']} adds ({c['acknowledged']} acknowledged, {c['failed']} failed, "
              f"{c['unknown']} unknown): lost {len(c['lost'])}, unexpected {len(c['unexpected'])}, recovered "
              f"{len(c['recovered'])}, duplicated {len(c['duplicated'])}; counter {c['increments']['final']} after "
              f"{c['increments']['acknowledged']} acknowledged increments ({c['increments']['lost']} lost); "
              + ("valid" if c["valid"] else "INVALID") + ("" if w["keeps_writes"] else
                                                          " (this scenario does not promise to keep them)"))
    if "files" in result:
        print(f"  report: {result['files']['html']}  picture: {result['files']['png']}")
    return 1 if bad or lost else 0


def parse_duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    num, unit = (text[:-1], units[text[-1]]) if text and text[-1] in units else (text, 1)
    try:
        value = float(num) * unit
    except ValueError:
        raise ConfigError(f"--duration {text!r}: expected seconds, or a number with s, m or h (30m)") from None
    if value <= 0:
        raise ConfigError(f"--duration {text!r}: expected more than 0 s")
    return value


def cmd_soak(a: argparse.Namespace) -> int:
    duration = parse_duration(a.duration) if a.duration is not None else None
    if a.faults is not None and a.faults < 1:
        raise ConfigError(f"--faults {a.faults}: expected at least 1")
    if a.start < 1 or (a.faults is not None and a.start > a.faults):
        raise ConfigError(f"--start {a.start}: expected a fault number from 1"
                          + (f" to --faults {a.faults}" if a.faults is not None else ""))
    lab = LabHandle.attach(a.name)
    seed = a.seed or str(int(time.time()))
    report = Path(a.report or f"reports/soak-{lab.cfg.name}-{seed}")
    result = soak.run(lab, count=a.faults, duration=duration, seed=seed, report_dir=report,
                      say=lambda m: print(m, flush=True, file=sys.stderr if a.json else sys.stdout), start=a.start)
    if a.json:
        print_json(result)
        return 0 if result["passed"] else 1
    print(soak.report(result))
    print(f"  report: {result['files']['html']}  picture: {result['files']['png']}  numbers: {result['files']['json']}")
    return 0 if result["passed"] else 1


def cmd_cts(a: argparse.Namespace) -> int:
    if a.iterations < 1:
        raise ConfigError(f"--iterations {a.iterations}: expected at least 1")
    lab = LabHandle.attach(a.name)
    tests = cts.check_tests(lab, [t.strip() for t in a.tests.split(",") if t.strip()] if a.tests else None)
    seed = a.seed or str(int(time.time()))
    report = Path(a.report) if a.report else Path("reports") / f"cts-{lab.cfg.name}-{seed}"
    result = cts.run(lab, tests, a.iterations, seed, report_dir=report,
                     progress=lambda m: print(m, flush=True, file=sys.stderr if a.json else sys.stdout))
    if a.json:
        print_json({**result.to_dict(), "files": result.files})
        return 0 if result.passed else 1
    print(result.report())
    print(f"  report: {result.files['summary']}  CTS's log: {result.files['cts_log']}  "
          f"the nodes' syslog: {result.files['cluster_log']}")
    return 0 if result.passed else 1


def cmd_probe(a: argparse.Namespace) -> int:
    lab = LabHandle.attach(a.name)
    print(f"probing {lab.cfg.url}hostname.html from {a.via} at {a.hz:g} Hz; Ctrl-C to stop")
    start = time.monotonic()
    with Probe(lab, where=a.via, hz=a.hz) as p:
        shown, state, since = 0, None, start
        try:
            while not a.seconds or time.monotonic() - start < a.seconds:
                time.sleep(0.2)
                for s in p.samples[shown:]:
                    now = s.node if s.ok else s.result
                    if now != state:
                        if state is not None:
                            print(f"  {s.t - start:8.2f} s  {state} for {s.t - since:.2f} s -> {now}"
                                  + (f"  ({s.detail})" if s.detail else ""))
                        else:
                            print(f"  {s.t - start:8.2f} s  {now}")
                        state, since = now, s.t
                shown = len(p.samples)
        except KeyboardInterrupt:
            pass
    return 0
