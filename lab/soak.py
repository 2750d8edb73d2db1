"""A soak: a seeded random sequence drawn from the whole fault catalogue, one fault at a time,
each held for a random time within bounds taken from the timers, then healed; the probe runs
throughout and each fault is audited over its own window of heartbeat's log.

    lab soak --faults 200 --seed 7 --report reports/soak-7

Every fault has a declared expectation (who serves while it holds, the client-visible outage
it may cause, and the transients it may produce, such as a resumed node that owns the
resources for a moment beside the other); what a fault does beyond that is an unexpected
anomaly. The same seed draws the same sequence: a failing step is replayed with
`--seed S --faults K`, or from a few faults before it with `--seed S --start J --faults K`
(faults J to K only: what a fault leaves behind is often what the next one trips on)."""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import docker.errors

from . import faults, recovery, stacks
from .engine.handle import LabHandle
from .errors import ConfigError, LabError
from .model.config import NODES, LabConfig
from .observe.audit import audit_log, lines_since, log_marks
from .observe.probe import Probe, outage_window, summary
from .observe.state import who_serves
from .observe.timeline import LogWatcher, Mark
from .report import write_report
from .scenario import crash as _crash
from .scenario import handover as _handover
from .scenario import ipfail as _ipfail
from .scenario import monitor_restart as _monitor_restart
from .scenario import no_outage as _none
from .waiting import WaitTimeout, wait_until

# anomalies a fault's window can show
DOUBLE_OWNER = "double-owner"  # heartbeat logged "Both machines own ..." (or "No one owns")
OUTAGE = "outage"  # clients saw an outage beyond the fault's bound, or nobody answered until the heal
WRONG_SERVER = "wrong-server"  # while the fault held, the other node served
HEAL_FAILED = "heal-failed"  # `lab heal` did not bring the master back with one owner within its budget
NOT_INJECTED = "not-injected"  # the engine refused the fault (a pause the freezer gave up on): healed, soak stops


@dataclass(frozen=True)
class Expect:
    """What a fault on a node does on a cluster without fencing, from the master's point of
    view. serves: "master", "backup" or "none" (nobody may answer until the heal);
    outage: the bound on the client-visible outage it causes (None: none asserted);
    transients: anomalies that are expected, and reported, not failed."""
    serves: str
    outage: Callable[[LabConfig], tuple[float, float]] | None
    transients: frozenset[str] = frozenset()
    why: str = ""


# (fault, on the master?) -> what it does; faults that take no node use on_master=None
EXPECT: dict[tuple[str, bool | None], Expect] = {
    ("stop-heartbeat", True): Expect("backup", _handover, why="the article's test: a graceful handover"),
    ("stop-heartbeat", False): Expect("master", _none, why="the backup holds nothing"),
    ("kill", True): Expect("backup", _crash, why="declared dead after deadtime, taken over"),
    ("kill", False): Expect("master", _none, why="the backup holds nothing"),
    ("pause", True): Expect("backup", _crash, frozenset({DOUBLE_OWNER}),
                            "resumed, the master still holds the resources it had while the backup owns them "
                            "too, until heartbeat sorts it out: fencing is the cure"),
    ("pause", False): Expect("master", _none, frozenset({DOUBLE_OWNER}),
                             "resumed, the backup sees its own late ticks, declares the master dead and takes the "
                             "resources while the master still holds them"),
    ("cut-lan", None): Expect("master", _none, why="the serial cable still carries the heartbeats"),
    ("cut-serial", None): Expect("master", _none, why="the LAN still carries the heartbeats"),
    ("isolate", True): Expect("backup", _ipfail, why="ipfail: the master lost its ping node, the backup has it"),
    ("isolate", False): Expect("master", _none, why="the backup holds nothing"),
    ("stop-nfs", None): Expect("master", None, frozenset({OUTAGE}),
                               "index.html hangs on the hard mount until the server is back; hostname.html is on "
                               "the local disk but reached through a symlink on the share (the article's layout): "
                               "it answers while the NFS client's cache of that lookup lasts, then hangs too"),
    ("kill-apache", True): Expect("none", None, frozenset({OUTAGE}),
                                  "heartbeat in haresources mode monitors nothing: the URL fails until the heal"),
    ("kill-apache", False): Expect("master", _none, why="the backup runs no Apache"),
    ("standby", True): Expect("backup", _handover, why="hb_standby hands the resources over"),
    ("standby", False): Expect("master", _none, why="the backup has nothing to hand over"),
    ("takeover", True): Expect("master", _none, why="the master already holds everything"),
    ("takeover", False): Expect("backup", _handover, why="hb_takeover takes the resources over"),
}


# where the lab's stack does otherwise (lab/stacks.py says what each does by itself)
MONITORED: dict[tuple[str, bool | None], Expect] = {
    ("kill-apache", True): Expect("master", _monitor_restart,
                                  why="the stack's monitor finds Apache dead within one interval and starts it "
                                      "again where the group runs"),
}
NO_PING_FAILOVER: dict[tuple[str, bool | None], Expect] = {
    ("isolate", True): Expect("none", None, frozenset({OUTAGE}),
                              "nothing watches the ping node (no ipfail) and the peer is still heard over the serial "
                              "network: the master keeps the resources its clients cannot reach until the heal"),
}


@dataclass(frozen=True)
class Action:
    index: int  # 1-based step number
    fault: str
    node: str | None
    hold: float  # seconds the fault stays in place

    @property
    def label(self) -> str:
        return f"{self.fault} {self.node}" if self.node else self.fault


def catalogue(cfg: LabConfig) -> list[tuple[str, str | None]]:
    """Every (fault, node) the soak draws from on this lab: both nodes where a fault takes one.
    cut-mgmt needs the boards; fencing changes every expectation, so the soak wants none."""
    out: list[tuple[str, str | None]] = []
    for name, fault in faults.FAULTS.items():
        if name == "cut-mgmt":
            continue
        out += [(name, n) for n in NODES] if fault.needs_node else [(name, None)]
    return out


def hold_bounds(cfg: LabConfig) -> tuple[float, float]:
    """How long a fault stays: long enough for a crash to be declared and taken over
    (deadtime + 2 s), at most that plus twice deadtime."""
    low = cfg.times.deadtime + 2.0
    return low, low + 2 * cfg.times.deadtime


def plan(cfg: LabConfig, count: int, seed: str) -> list[Action]:
    """The soak's sequence: `count` faults drawn with replacement, seeded."""
    rng = random.Random(seed)
    faults_ = catalogue(cfg)
    low, high = hold_bounds(cfg)
    return [Action(i + 1, *rng.choice(faults_), round(rng.uniform(low, high), 1)) for i in range(count)]


def expectation(cfg: LabConfig, action: Action) -> Expect:
    key = (action.fault, None if action.node is None else action.node == cfg.master)
    stack = stacks.STACKS[cfg.stack]
    if stack.monitors and key in MONITORED:
        return MONITORED[key]
    if not stack.ping_failover and key in NO_PING_FAILOVER:
        return NO_PING_FAILOVER[key]
    return EXPECT[key]


def expected_server(cfg: LabConfig, exp: Expect) -> str | None:
    """The node that should answer while the fault holds (None: nobody)."""
    return {"master": cfg.master, "backup": cfg.backup, "none": None}[exp.serves]


@dataclass
class StepResult:
    index: int
    label: str
    hold: float
    t: float  # monotonic time the fault was injected
    served: str | None  # who served at the end of the hold
    outage_s: float | None
    bounds_s: tuple[float, float] | None
    anomalies: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)  # anomalies seen that the fault declares
    unexpected: list[str] = field(default_factory=list)
    heal_s: float | None = None
    heal_error: str = ""
    log_lines: list[str] = field(default_factory=list)


def judge(cfg: LabConfig, action: Action, served: str | None, outage_s: float | None, recovered: bool,
          double_owner: list[str]) -> tuple[list[str], list[str], list[str], tuple[float, float] | None]:
    """The anomalies of one fault's window, split into expected and unexpected."""
    exp = expectation(cfg, action)
    want = expected_server(cfg, exp)
    anomalies = []
    if double_owner:
        anomalies.append(DOUBLE_OWNER)
    bounds = exp.outage(cfg) if exp.outage else None
    if exp.serves == "none":
        if served is not None:
            anomalies.append(WRONG_SERVER)
        anomalies.append(OUTAGE)  # what the fault is: no service until the heal
    else:
        if served is not None and served != want:
            anomalies.append(WRONG_SERVER)
        if served is None or (bounds is not None and (not recovered or outage_s is None or outage_s > bounds[1])):
            anomalies.append(OUTAGE)  # nobody answering at the end of the hold is an outage, not another server
    expected = [a for a in anomalies if a in exp.transients]
    unexpected = [a for a in anomalies if a not in exp.transients]
    return anomalies, expected, unexpected, bounds


def run(lab: LabHandle, count: int | None = None, duration: float | None = None, seed: str | None = None,
        report_dir: Path | None = None, say: Callable[[str], None] = print, hz: float = 20.0,
        start: int = 1) -> dict:
    """Run the soak; return its result (and write the report). Stops at fault number `count`
    or once `duration` seconds have passed (whichever is given); begins at fault number
    `start` of the seed's sequence (1: the whole sequence)."""
    if (count is None) == (duration is None):
        raise ConfigError("give either a number of faults or a duration")
    if count is not None and count < 1:
        raise ConfigError(f"--faults {count}: expected at least 1")
    if duration is not None and duration <= 0:
        raise ConfigError(f"--duration {duration:g}: expected more than 0 s")
    if start < 1 or (count is not None and start > count):
        raise ConfigError(f"--start {start}: expected a fault number from 1" + (f" to --faults {count}" if count else ""))
    if lab.cfg.stonith != "none":
        raise ConfigError(f"lab {lab.cfg.name!r} fences ({lab.cfg.stonith}): the soak's expectations are for a "
                          "cluster without fencing; soak a lab made with `lab up` (no --stonith)")
    seed = seed or str(int(time.time()))
    sequence = plan(lab.cfg, count or 100000, seed)[start - 1:]
    say(f"soak: seed {seed}, " + (f"faults {start} to {count}" if count and start > 1 else
                                  f"{count} fault(s)" if count else f"for {duration:g} s")
        + (f" from fault {start}" if start > 1 and not count else "")
        + f", holds {hold_bounds(lab.cfg)[0]:g}-{hold_bounds(lab.cfg)[1]:g} s; healing first ...")
    recovery.heal(lab)
    steps: list[StepResult] = []
    marks: list[Mark] = []
    t_start = time.monotonic()
    failed_at: int | None = None
    with LogWatcher(lab) as logs, Probe(lab, hz=hz) as probe:
        wait_until("the probe's first good answer", lambda: (any(s.ok for s in probe.samples), "none yet"), 10)
        for action in sequence:
            if duration is not None and time.monotonic() - t_start >= duration:
                break
            res = _one(lab, action, probe, marks)
            steps.append(res)
            flag = "" if not res.unexpected and not res.heal_error else "  UNEXPECTED: " + ", ".join(
                res.unexpected + ([HEAL_FAILED] if res.heal_error else []))
            say(f"[{action.index}{'/' + str(count) if count else ''}] {action.label:22} held {action.hold:4.1f} s  "
                f"served {res.served or 'nobody'}  outage {_fmt(res.outage_s)}  heal {_fmt(res.heal_s)}"
                + (f"  expected: {', '.join(res.expected)}" if res.expected else "") + flag)
            if res.heal_error or NOT_INJECTED in res.anomalies:
                failed_at = action.index
                break  # the lab is not in a known state: what follows would not mean anything
        samples = probe.samples
    events = [e for e in logs.sorted_events() if e.t >= t_start - 1.0]
    result = _result(lab, seed, steps, samples, t_start, hz, failed_at, start)
    result["events_count"] = len(events)
    if report_dir is not None:
        result["files"] = write_report(Path(report_dir), result, samples, events, marks)
    return result


def _one(lab: LabHandle, action: Action, probe: Probe, marks: list[Mark]) -> StepResult:
    cfg = lab.cfg
    before = log_marks(lab)
    t = time.monotonic()
    marks.append(Mark(t, action.label))
    try:
        faults.inject(lab, action.fault, action.node)
    except (LabError, docker.errors.DockerException) as exc:
        # what the fault did is unknown: heal, and stop the soak with what it says
        t_heal = time.monotonic()
        try:
            recovery.heal(lab)
            heal_error = ""
        except LabError as heal_exc:
            heal_error = str(heal_exc).splitlines()[0]
        return StepResult(action.index, action.label, action.hold, t, None, None, None, [NOT_INJECTED], [],
                          [f"{NOT_INJECTED}: {str(exc).splitlines()[0]}"], round(time.monotonic() - t_heal, 2),
                          heal_error)
    exp = expectation(cfg, action)
    want = expected_server(cfg, exp)
    # the fault holds at least its drawn time, and long enough for the move it causes to
    # complete within its bound (ipfail's hand-over can take longer than a crash's)
    bound = exp.outage(cfg)[1] if exp.outage else 0.0
    end = t + max(action.hold, bound + 1.0)
    if want is not None:
        try:
            wait_until(f"{want} to serve after {action.label}", lambda: (who_serves(lab) == want, "not yet"),
                       timeout=max(0.5, end - time.monotonic()), interval=0.2)
        except WaitTimeout:
            pass  # judged below: the wrong server, or an outage beyond the bound
    while time.monotonic() < end:
        time.sleep(min(0.2, end - time.monotonic()))
    served = who_serves(lab)
    window = outage_window([s for s in probe.samples if s.t <= time.monotonic()], t)
    recovered = window is not None
    out = None if window is None else round(window[1] - window[0], 3)
    t_heal = time.monotonic()
    marks.append(Mark(t_heal, "heal"))
    heal_error = ""
    try:
        recovery.heal(lab)
        if who_serves(lab) != cfg.master:
            heal_error = f"after the heal {who_serves(lab) or 'nobody'} serves, not {cfg.master}"
    except LabError as exc:
        heal_error = str(exc).splitlines()[0]
    heal_s = round(time.monotonic() - t_heal, 2)
    if not heal_error and heal_s > cfg.heal_budget:
        heal_error = f"the heal took {heal_s:.1f} s, over its budget of {cfg.heal_budget:.0f} s"
    log, bad_lines = audit_log(cfg)
    lines = [f"{n}: {ln.strip()}" for n in NODES if n in before
             for ln in lines_since(lab, n, log, before[n]).splitlines() if any(b in ln for b in bad_lines)]
    anomalies, expected, unexpected, bounds = judge(cfg, action, served, out, recovered, lines)
    return StepResult(action.index, action.label, action.hold, t, served, out, bounds, anomalies, expected,
                      unexpected, heal_s, heal_error, lines[:6])


def _notes(s: StepResult) -> str:
    """A fault's anomalies for the report's table: each transient marked expected or not."""
    return ", ".join([f"{a} (expected)" for a in s.expected] + [f"{a} UNEXPECTED" for a in s.unexpected]
                     + ([f"heal failed: {s.heal_error}"] if s.heal_error else []))


def _fmt(x: float | None) -> str:
    return "none" if x is None else f"{x:.2f} s"


def per_kind(steps: list[StepResult]) -> dict[str, dict]:
    """Per fault kind (the fault and its node): runs, outage distribution, anomalies, heals."""
    kinds: dict[str, list[StepResult]] = {}
    for s in steps:
        kinds.setdefault(s.label, []).append(s)
    out = {}
    for label, runs in sorted(kinds.items()):
        outages = [r.outage_s for r in runs if r.outage_s is not None]
        heals = [r.heal_s for r in runs if r.heal_s is not None and not r.heal_error]
        out[label] = {
            "runs": len(runs),
            "outage_s": _dist(outages),
            "no_recovery_until_heal": sum(r.outage_s is None for r in runs),
            "expected": _count(a for r in runs for a in r.expected),
            "unexpected": _count(a for r in runs for a in r.unexpected),
            "heals_failed": sum(bool(r.heal_error) for r in runs),
            "heal_s": _dist(heals),
        }
    return out


def _dist(xs: list[float]) -> dict:
    if not xs:
        return {}
    xs = sorted(xs)
    return {"min": xs[0], "median": round(statistics.median(xs), 3), "max": xs[-1],
            "p90": xs[min(len(xs) - 1, int(0.9 * len(xs)))]}


def _count(items) -> dict[str, int]:  # noqa: ANN001
    out: dict[str, int] = {}
    for a in items:
        out[a] = out.get(a, 0) + 1
    return out


def _result(lab: LabHandle, seed: str, steps: list[StepResult], samples: list, t0: float, hz: float,
            failed_at: int | None, start: int = 1) -> dict:
    unexpected = [s for s in steps if s.unexpected or s.heal_error]
    first = unexpected[0].index if unexpected else None
    return {
        "scenario": f"soak (seed {seed}, {len(steps)} faults)",
        "help": "a seeded random sequence of the fault catalogue, each fault healed and audited",
        "seed": seed,
        "timing": lab.cfg.timing,
        "master": lab.cfg.master,
        "times": {k: getattr(lab.cfg.times, k) for k in ("keepalive", "deadtime", "warntime", "initdead")},
        "probe": {"where": "ha3", "hz": hz, "url": f"{lab.cfg.url}hostname.html"},
        "t0": t0,
        "faults": len(steps),
        "seconds": round(time.monotonic() - t0, 1),
        "passed": not unexpected,
        "verdict": "no unexpected anomaly, no failed heal" if not unexpected else
                   f"{sum(len(s.unexpected) for s in steps)} unexpected anomal(ies), "
                   f"{sum(bool(s.heal_error) for s in steps)} failed heal(s)",
        "unexpected_anomalies": sum(len(s.unexpected) for s in steps),
        "heals_failed": sum(bool(s.heal_error) for s in steps),
        "stopped_at": failed_at,
        "first_fault": start,
        "replay": None if first is None else f"lab soak --seed {seed}"
                  + (f" --start {start}" if start > 1 else "") + f" --faults {first}",
        "per_kind": per_kind(steps),
        # the scenario report's shape: one mark and outage per fault (heals are marks too)
        "steps": [{"label": f"{s.index}. {s.label}", "outage_s": s.outage_s, "notes": _notes(s)} for s in steps],
        "faults_run": [asdict(s) for s in steps],
        "summary": summary(samples, since=t0) if samples else {},
    }


def report(result: dict) -> str:
    """The soak's verdict and its per-kind table, for the terminal."""
    verdict = result["verdict"] + ("" if result["passed"] else f"; replay: {result['replay']}")
    lines = [f"soak: seed {result['seed']}, {result['faults']} fault(s), {result['seconds']:.0f} s: {verdict}",
             f"  {'fault':22} {'runs':>4}  {'outage median/max (s)':>22}  {'heal median/max (s)':>20}  anomalies"]
    for label, k in result["per_kind"].items():
        o, h = k["outage_s"], k["heal_s"]
        anomalies = ", ".join([f"{a} x{n} (expected)" for a, n in k["expected"].items()]
                              + [f"{a} x{n} UNEXPECTED" for a, n in k["unexpected"].items()]
                              + ([f"heal failed x{k['heals_failed']}"] if k["heals_failed"] else []))
        lines.append(f"  {label:22} {k['runs']:4}  {_pair(o):>22}  {_pair(h):>20}  {anomalies or '-'}")
    return "\n".join(lines)


def _pair(d: dict) -> str:
    return f"{d['median']:.2f} / {d['max']:.2f}" if d else "-"
