"""Named scenarios: a fault, the outcome to wait for, the heal and the recovery, run with the
probe on and heartbeat's logs followed, measured and (optionally) drawn.

    lab scenario run hard-kill --report reports/hard-kill
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import faults
from .audit import audit
from .probe import Probe, outage, summary
from .timeline import LogWatcher, Mark
from .waiting import wait_until


@dataclass(frozen=True)
class Step:
    label: str  # the mark on the timeline, e.g. "kill ha1"
    act: Callable  # (lab) -> None
    expect: str  # what to wait for afterwards, in words
    until: Callable  # (lab) -> (bool, seen)


def serving(node: str) -> Callable:
    def check(lab) -> tuple[bool, str]:  # noqa: ANN001
        who = lab.who_serves()
        return who == node, f"hostname.html names {who}" if who else "no answer"
    return check


def split_brain(lab) -> tuple[bool, str]:  # noqa: ANN001
    a = audit(lab)
    return a.split_brain, a.report()


def heal_step(node: str = "ha1") -> Step:
    return Step("heal", lambda lab: faults.heal(lab, wait=False), f"{node} serves again", serving(node))


def fault_step(name: str, node: str | None, expect_node: str) -> Step:
    return Step(f"{name} {node or ''}".strip(), lambda lab: faults.inject(lab, name, node),
                f"{expect_node} serves", serving(expect_node))


@dataclass(frozen=True)
class Scenario:
    name: str
    help: str
    steps: tuple[Step, ...]
    settle: float = field(default=2.0)  # seconds of probing kept after the last step, to show the aftermath


SCENARIOS = {s.name: s for s in (
    Scenario("graceful-stop", "the article's test: heartbeat stop on ha1, then start again (failback)", (
        fault_step("stop-heartbeat", "ha1", "ha2"),
        Step("heartbeat start ha1", lambda lab: lab.start_heartbeat("ha1"), "ha1 serves", serving("ha1")),
    )),
    Scenario("hard-kill", "power cut of ha1, then power on (it rejoins and takes back)", (
        fault_step("kill", "ha1", "ha2"),
        heal_step(),
    )),
    Scenario("standby", "hb_standby on ha1, then hb_takeover on ha1", (
        fault_step("standby", "ha1", "ha2"),
        fault_step("takeover", "ha1", "ha1"),
    )),
    Scenario("pause", "ha1 hangs (paused), then resumes", (
        fault_step("pause", "ha1", "ha2"),
        heal_step(),
    )),
    Scenario("isolate", "ha1 cut off from clients and the ping node: ipfail hands over", (
        fault_step("isolate", "ha1", "ha2"),
        heal_step(),
    )),
    Scenario("split-brain", "LAN and serial cut: both nodes take the VIP; then heal", (
        Step("cut-lan", lambda lab: faults.inject(lab, "cut-lan"), "the LAN cut", lambda lab: (True, "")),
        Step("cut-serial", lambda lab: faults.inject(lab, "cut-serial"), "both nodes hold the VIP", split_brain),
        heal_step(),
    )),
)}


def run(lab, name: str, where: str = "ha3", report_dir: Path | None = None, hz: float = 20.0) -> dict:  # noqa: ANN001
    """Run scenario `name` from the known-good state; return its numbers (and write the report)."""
    if name not in SCENARIOS:
        from .config import ConfigError

        raise ConfigError(f"unknown scenario {name!r}: expected one of {', '.join(SCENARIOS)}")
    scenario = SCENARIOS[name]
    faults.heal(lab)
    marks: list[Mark] = []
    timeout = 2 * lab.failover_bound() + lab.cfg.times.initdead
    with LogWatcher(lab) as logs, Probe(lab, where=where, hz=hz) as probe:
        wait_until("the probe's first good answer", lambda: (any(s.ok for s in probe.samples), "none yet"), 10)
        t_begin = time.monotonic()
        for step in scenario.steps:
            t = time.monotonic()
            marks.append(Mark(t, step.label))
            step.act(lab)
            wait_until(f"{step.expect} after {step.label}", lambda s=step: s.until(lab), timeout=timeout, interval=0.1)
            # heartbeat finishes its transition before the next step: a node rejoining while the
            # other is still taking over can miss the failback negotiation
            wait_until(f"heartbeat to finish its transition after {step.label}",
                       lambda: (lab.settled(), "a node is still in transition"), timeout=timeout, interval=0.1)
        end = time.monotonic() + scenario.settle
        wait_until("the aftermath to be recorded", lambda: (time.monotonic() >= end, ""), scenario.settle + 5, 0.1)
    samples = [s for s in probe.samples if s.t >= t_begin - 1.0]
    events = [e for e in logs.sorted_events() if e.t >= t_begin - 1.0]
    result = {
        "scenario": name,
        "help": scenario.help,
        "timing": lab.cfg.timing,
        "times": {k: getattr(lab.cfg.times, k) for k in ("keepalive", "deadtime", "warntime", "initdead")},
        "probe": {"where": where, "hz": hz, "url": probe.url},
        "t0": marks[0].t,
        "steps": [{"label": m.label, "t": m.t, "outage_s": _r(outage(_until(samples, nxt), m.t))}
                  for m, nxt in zip(marks, [*marks[1:], None])],
        "summary": summary(samples, since=marks[0].t),
    }
    if report_dir is not None:
        from .report import write_report

        result["files"] = write_report(Path(report_dir), result, samples, events, marks)
    return result


def _until(samples: list, mark: Mark | None) -> list:
    """The samples before the next step began: each step's outage is its own."""
    return samples if mark is None else [s for s in samples if s.t < mark.t]


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)
