"""Named scenarios: a fault, the outcome to wait for, what must hold then, the outage a
client may see (bounds from the configuration under test), the heal and the recovery; run
with the probe on and heartbeat's log read back, measured and (optionally) drawn.

    lab scenario run hard-kill --report reports/hard-kill

Scenarios are written for the configured master and backup, not for ha1 and ha2."""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from . import faults, recovery, stacks
from .engine.handle import LabHandle
from .errors import ConfigError
from .model.config import TAKEOVER_BUDGET, LabConfig
from .model.pacemaker import monitor_s
from .observe import phases
from .observe import writes as wr
from .observe.audit import fault_begins
from .observe.probe import Probe, outage_window, summary
from .observe.state import settled
from .observe.timeline import LogWatcher, Mark, events_jsonable
from .outcomes import (Check, DOUBLE_OWNER_LOGGED, FencedSplit, at_most_one_owner, both_pages_from, board_reset,  # noqa: F401
                       declared_dead, double_owner_logged, fenced_and_served, fenced_one_owner, fencing_stuck,
                       holds_nothing, ipfail_gave_up, one_owner, serial_link_up, serving, serving_alone, split_brain,
                       status_reports_split_brain)
from .report import write_report
from .roles.node import Node, meatclient_script
from .waiting import WaitTimeout, wait_until

Bounds = Callable[[LabConfig], tuple[float, float]]


@dataclass(frozen=True)
class Step:
    label: str  # the mark on the timeline, e.g. "kill ha1"
    act: Callable[[LabHandle], None]
    expect: str  # what to wait for afterwards, in words
    until: Check  # (holds, what was seen)
    outage: Bounds | None = None  # the client-visible outage this step may cause, if asserted
    holds: tuple[tuple[str, Check], ...] = ()  # what must be true once `until` holds


def handover(cfg: LabConfig) -> tuple[float, float]:
    return 0.0, cfg.handover_limit


def crash(cfg: LabConfig) -> tuple[float, float]:
    """A node dies: on a lab with boards the survivor fences it first."""
    return cfg.fenced_takeover if cfg.has_boards else cfg.crash_takeover


def fenced(cfg: LabConfig) -> tuple[float, float]:
    return cfg.fenced_takeover


def ipfail(cfg: LabConfig) -> tuple[float, float]:
    """ipfail: the ping node is declared dead deadtime after its last answer, the nodes agree
    who sees it, then the isolated node hands over."""
    return cfg.times.deadtime - cfg.times.keepalive, 2 * cfg.times.deadtime + cfg.handover_limit


def monitor_restart(cfg: LabConfig) -> tuple[float, float]:
    """A resource that died is found by the stack's monitor within one interval and started
    again in place (Pacemaker's monitor operations, every warntime)."""
    return 0.0, monitor_s(cfg) + TAKEOVER_BUDGET


def no_outage(cfg: LabConfig) -> tuple[float, float]:
    return 0.0, 0.0


def fault(name: str, node: str | None, expect_node: str, bounds: Bounds | None, *holds: tuple[str, Check]) -> Step:
    return Step(f"{name} {node or ''}".strip(), lambda lab: faults.inject(lab, name, node),
                f"{expect_node} serves", serving(expect_node), bounds, holds)


def heal(master: str, bounds: Bounds | None = None, takeover: bool = False) -> Step:
    """Undo the faults. Where heartbeat gives the resources back by itself (a node that
    rejoins with auto_failback on) the step waits for it; with takeover=True it heals as an
    operator would, asking the master to take them back (lab heal)."""
    return Step("heal", lambda lab: recovery.heal(lab, wait=takeover), f"{master} serves again", serving(master),
                bounds)


@dataclass(frozen=True)
class Scenario:
    name: str
    help: str
    steps: Callable[[str, str], tuple[Step, ...]]  # (master, backup) -> steps
    settle: float = field(default=2.0)  # seconds of probing kept after the last step, to show the aftermath
    stonith: str = "none"  # the fencing the scenario needs (`lab up --stonith ...`)
    keeps_writes: bool = True  # no acknowledged client write may be lost (False: split brain without fencing)


SCENARIOS = {s.name: s for s in (
    Scenario("graceful-stop", "the article's test: the cluster stack (heartbeat) stopped on the master, then started again (failback)",
             lambda m, b: (
                 fault("stop-heartbeat", m, b, handover, both_pages_from(b), holds_nothing(m)),
                 Step(f"stack start {m}", lambda lab: stacks.of(lab).start(lab, m), f"{m} serves",
                      serving(m), handover, (both_pages_from(m), holds_nothing(b))),
             )),
    Scenario("hard-kill", "power cut of the master, then power on (it rejoins and takes back)", lambda m, b: (
        fault("kill", m, b, crash, both_pages_from(b)),
        heal(m, handover),
    )),
    Scenario("standby", "hb_standby on the master, then hb_takeover on the master", lambda m, b: (
        fault("standby", m, b, handover, holds_nothing(m)),
        fault("takeover", m, m, handover, holds_nothing(b)),
    )),
    Scenario("pause", "the master hangs (paused), then resumes", lambda m, b: (
        fault("pause", m, b, crash),
        # resumed, heartbeat on both sides sorts out "Both machines own our resources"; now and
        # then a standby caught in the middle stays stuck (see recovery.heal): heal as an operator
        heal(m, takeover=True),
    # resumed, the master still holds the mount and its cached file sizes while the backup
    # owns it too: acknowledged writes are lost (measured; fenced-pause is the cure)
    ), keeps_writes=False),
    Scenario("pause-backup", "the backup hangs (paused), then resumes: it declares the healthy master dead and "
                             "takes the resources the master still holds; the master gives them up and takes "
                             "them back when the backup rejoins", lambda m, b: (
        Step(f"pause {b}", lambda lab: faults.inject(lab, "pause", b), f"{m} declares {b} dead",
             declared_dead(m, b), no_outage, (both_pages_from(m),)),
        # resumed, the backup reads its own late ticks as the master's silence and takes over:
        # both nodes own everything until the master, hearing a peer it declared dead, gives up
        # its resources and restarts heartbeat
        Step(f"resume {b}", lambda lab: lab.container(b).unpause(), f"{b} serves and {m} gave its resources up",
             serving_alone(b, m), handover, ((DOUBLE_OWNER_LOGGED, double_owner_logged),)),
        # the master's restarted heartbeat rejoins; auto_failback gives it everything back
        Step("auto_failback", lambda lab: None, f"{m} serves again", serving(m), handover),
    ), keeps_writes=False),
    Scenario("isolate", "the master cut off from clients and the ping node: ipfail hands over", lambda m, b: (
        fault("isolate", m, b, ipfail, holds_nothing(m), serial_link_up(m), ipfail_gave_up(m)),
        # both nodes stayed up, so nothing fails back by itself: ipfail on the master only
        # notes that its ping node is back ("No giveup timer to abort")
        heal(m, takeover=True),
    )),
    Scenario("split-brain", "LAN and serial cut: both nodes take the VIP; then heal", lambda m, b: (
        Step("cut-lan", lambda lab: faults.inject(lab, "cut-lan"), f"{m} still serves", serving(m), no_outage),
        Step("cut-serial", lambda lab: faults.inject(lab, "cut-serial"), "both nodes hold the VIP", split_brain,
             holds=(("lab status reports the split brain", status_reports_split_brain),)),
        # healed, both nodes restart heartbeat and the cluster re-forms RQSTDELAY later: the
        # master serving for a moment before that is not the end state
        heal(m, takeover=True),
    ), keeps_writes=False),
    Scenario("fenced-kill", "power cut of the master; the backup resets it through its board, then takes over",
             lambda m, b: (
                 fault("kill", m, b, fenced, both_pages_from(b), board_reset(m)),
                 # reset by its board, the master boots, heartbeat starts at boot and takes back
                 heal(m, handover),
             ), stonith="ipmi"),
    Scenario("fenced-pause", "the master hangs (paused); the backup resets it through its board before "
                             "taking over, so the hung master never writes again", lambda m, b: (
        fault("pause", m, b, fenced, board_reset(m)),
        heal(m, handover),
    ), stonith="ipmi"),
    Scenario("fence-fails", "management network cut, then the master dies: no takeover while the fence "
                            "fails; the network back, the fence completes and the service returns", lambda m, b: (
        Step("cut-mgmt", lambda lab: faults.inject(lab, "cut-mgmt"), f"{m} still serves", serving(m), no_outage),
        Step(f"kill {m}", lambda lab: faults.inject(lab, "kill", m), f"{b} fails to fence {m} and waits",
             fencing_stuck(b, m), None, (holds_nothing(b),)),
        # the fence is a power on for a dead node: the master boots after its board's self-test
        # (heartbeat starts at boot) and takes its resources back; what must hold is that nothing
        # moved before the fence succeeded and that the service is back
        Step("restore the management network", lambda lab: Node(lab, b).clear_drops(),
             f"{b} fences {m} and the service is back", fenced_and_served(b, m), None, (board_reset(m),)),
        heal(m, handover),
    ), stonith="ipmi"),
    Scenario("fenced-split-brain", "LAN and serial cut with fencing: each node may reset the other; "
                                   "at most one keeps the resources", lambda m, b: fenced_split_brain(m, b),
             stonith="ipmi"),
    Scenario("meatware", "power cut of the master with meatware fencing: the backup waits until an operator "
                         "confirms the reset with meatclient", lambda m, b: (
        Step(f"kill {m}", lambda lab: faults.inject(lab, "kill", m), f"{b} waits for the operator",
             fencing_stuck(b, m), None, (holds_nothing(b),)),
        Step(f"meatclient -c {m} on {b}", lambda lab: meatclient(lab, b, m), f"{b} serves", serving(b), None),
        heal(m, handover),
    ), stonith="meatware"),
)}


def fenced_split_brain(m: str, b: str) -> tuple[Step, ...]:
    cut = FencedSplit()
    return (
        Step("cut-lan", lambda lab: faults.inject(lab, "cut-lan"), f"{m} still serves", serving(m), no_outage),
        # what happens takes seconds: each node declares the other dead, fences it through its
        # board (one reset, or both), the reset node boots; one owner seen before the first
        # reset is only the master still holding what it held
        Step("cut-serial", cut.act, "a board to reset a node, then one node to hold every resource",
             fenced_one_owner(m, b, lambda: cut.t), None),
        heal(m, takeover=True),
    )


def meatclient(lab: LabHandle, on: str, node: str) -> None:
    """The operator's confirmation that `node` was reset by hand (meatclient asks y/n)."""
    lab.sh(on, meatclient_script(node), timeout=30, check=True)


def run(lab: LabHandle, name: str, where: str = "ha3", report_dir: Path | None = None, hz: float = 20.0,
        writes: bool = False, report_on_problems: Path | None = None) -> dict:
    """Run scenario `name` from the known-good state; return its numbers, each step's outage
    against its bounds and what held (and write the report to report_dir; or to
    report_on_problems only if a step did not hold or left its bounds, as a test keeps the
    evidence of a failure). writes=True also runs the client-writes workload throughout and
    checks, after the heal, what the shared disk kept."""
    if name not in SCENARIOS:
        raise ConfigError(f"unknown scenario {name!r}: expected one of {', '.join(SCENARIOS)}")
    scenario = SCENARIOS[name]
    if lab.cfg.stonith == "meatware" and scenario.stonith != "meatware":
        raise ConfigError(f"lab {lab.cfg.name!r} fences with meatware: every takeover waits for an operator's "
                          "`meatclient -c NODE`, so only the meatware scenario runs on it")
    if scenario.stonith != "none" and lab.cfg.stonith != scenario.stonith:
        raise ConfigError(f"scenario {name!r} needs a lab with fencing {scenario.stonith!r}; lab {lab.cfg.name!r} "
                          f"has {lab.cfg.stonith!r}: `lab up --name NAME --stonith {scenario.stonith}`")
    steps = scenario.steps(lab.cfg.master, lab.cfg.backup)
    recovery.heal(lab)
    fault_begins(lab)  # `lab audit`'s window opens here, not between a step's mark and its fault
    marks: list[Mark] = []
    held: list[list[dict]] = []
    timeout = 2 * lab.cfg.failover_wait + lab.cfg.times.initdead
    if writes:
        wr.install(lab)
        before = wr.data(lab)
    workload = wr.Workload(lab) if writes else contextlib.nullcontext()
    with LogWatcher(lab) as logs, Probe(lab, where=where, hz=hz) as probe, workload:
        wait_until("the probe's first good answer", lambda: (any(s.ok for s in probe.samples), "none yet"), 10)
        for step in steps:
            marks.append(Mark(time.monotonic(), step.label))
            step.act(lab)
            try:
                wait_until(f"{step.expect} after {step.label}", lambda s=step: s.until(lab), timeout=timeout,
                           interval=0.1)
            except WaitTimeout as exc:  # say what happened meanwhile: the failure explains itself
                raise WaitTimeout(exc.what, exc.timeout, f"{exc.seen}\n" + story(probe.samples, logs.sorted_events(),
                                                                                marks[0].t)) from None
            held.append([{"what": what, "ok": (r := check(lab))[0], "seen": r[1]} for what, check in step.holds])
            # heartbeat finishes its transition before the next step: a node rejoining while the
            # other is still taking over can miss the failback negotiation
            wait_until(f"heartbeat to finish its transition after {step.label}",
                       lambda: (settled(lab), "a node is still in transition"), timeout=timeout, interval=0.3)
        end = time.monotonic() + scenario.settle
        wait_until("the aftermath to be recorded", lambda: (time.monotonic() >= end, ""), scenario.settle + 5, 0.1)
    samples = [s for s in probe.samples if s.t >= marks[0].t - 1.0]
    events = [e for e in logs.sorted_events() if e.t >= marks[0].t - 1.0]
    result = {
        "scenario": name,
        "help": scenario.help,
        "timing": lab.cfg.timing,
        "master": lab.cfg.master,
        "times": {k: getattr(lab.cfg.times, k) for k in ("keepalive", "deadtime", "warntime", "initdead")},
        "probe": {"where": where, "hz": hz, "url": probe.url},
        "t0": marks[0].t,
        "steps": [_step_result(lab.cfg, step, m, nxt, samples, events, h)
                  for step, m, nxt, h in zip(steps, marks, [*marks[1:], None], held)],
        "summary": summary(samples, since=marks[0].t),
        "events": events_jsonable(events),
    }
    if writes:
        assert isinstance(workload, wr.Workload)
        history = workload.history
        values, counter = wr.since(before, wr.data(lab))
        result["writes"] = {"check": wr.check(history, values, counter).to_dict(), "rate": workload.rate,
                            "keeps_writes": scenario.keeps_writes, "sent": workload.sent,
                            "clients": workload.clients, "history": [asdict(op) for op in history]}
    if report_dir is None and report_on_problems is not None and problems(result):
        report_dir = report_on_problems
    if report_dir is not None:
        result["files"] = write_report(Path(report_dir), result, samples, events, marks)
        result["report_dir"] = str(report_dir)
    return result


def story(samples: list, events: list, t0: float, last: int = 40) -> str:
    """What the probe saw and what the nodes' logs said since t0, as lines (for a step that
    never reached what it waited for)."""
    runs: list[str] = []
    for smp in samples:
        if smp.t < t0:
            continue
        now = f"{smp.node}" if smp.ok else smp.result
        if not runs or not runs[-1].startswith(now + " "):
            runs.append(f"{now} from +{smp.t - t0:.2f} s")
    lines = [f"  +{e.t - t0:7.2f} s {e.node}: {e.text}" for e in events if e.t >= t0][-last:]
    return ("the probe: " + " -> ".join(runs[-30:]) + "\nthe logs:\n" + "\n".join(lines)) if runs or lines \
        else "the probe and the logs: nothing since the step began"


def problems(result: dict) -> list[str]:
    """What a scenario run did beyond the scenario table: a step whose checks did not hold,
    an outage outside the bounds the table derives from the timers under test."""
    found = []
    for step in result["steps"]:
        found += [f"after {step['label']}: expected {held['what']}; saw {held['seen']}"
                  for held in step["holds"] if not held["ok"]]
        if step["bounds_s"] is not None and not step["within_bounds"]:
            low, high = step["bounds_s"]
            found.append(f"{step['label']}: outage {step['outage_s']} s, expected between {low:g} and {high:g} s "
                         f"(timers {result['times']}); {overran(step, result['times'])}; "
                         f"phases: {step.get('phases_text', 'not recorded')}")
    return found


def overran(step: dict, times: dict) -> str:
    """Which part of an out-of-bounds step was slow: heartbeat's detection (later than
    deadtime plus a keepalive: heartbeat's own timing on this host) or the takeover after it
    (the resource agents, the host, the client's way to the new owner), with its slowest phase."""
    det, take = step.get("detection_s"), step.get("takeover_s")
    if det is None:
        return "heartbeat logged no reaction in the step's window"
    if det > times["deadtime"] + times["keepalive"]:
        return f"detection late: heartbeat reacted {det:.2f} s after the fault (deadtime {times['deadtime']:g} s)"
    slow = max(((k, v) for k, v in (step.get("phases_s") or {}).items() if v is not None and k != "detection"),
               key=lambda kv: kv[1], default=None)
    where = f", slowest phase {slow[0]} {slow[1]:.2f} s" if slow else ""
    return f"takeover slow: {take if take is not None else '?'} s from heartbeat's reaction " \
           f"(detection {det:.2f} s) to the client's first good answer{where}"


def _step_result(cfg: LabConfig, step: Step, mark: Mark, nxt: Mark | None, samples: list, events: list,
                 held: list[dict]) -> dict:
    """A step's outage is its own: measured on the samples before the next step began; its
    phases (lab.observe.phases) say where the outage's seconds went."""
    mine = samples if nxt is None else [s for s in samples if s.t < nxt.t]
    window = outage_window(mine, mark.t)
    out = None if window is None else window[1] - window[0]
    bounds = step.outage(cfg) if step.outage else None
    within = None if bounds is None else out is not None and bounds[0] <= out <= bounds[1]
    server = next((s.node for s in mine if window and s.t >= window[1] and s.ok), None)
    cut = phases.cut(mark.t, nxt.t if nxt else None, window, events, server)
    return {"label": step.label, "t": mark.t, "outage_s": None if out is None else round(out, 3),
            "outage_window": window, "bounds_s": bounds, "within_bounds": within, "holds": held,
            "server": server, **cut.to_dict(), "phases_text": cut.describe()}
