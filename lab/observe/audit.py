"""The audit after every scenario, as heartbeat's cluster test suite (CTS) did: exactly one
node holds the VIP, the mount and Apache, the other none; the stack's log has no line
saying both or neither node owned the resources (heartbeat's ha-log, or Pacemaker's log on
a Pacemaker lab: its scheduler's "active on multiple nodes")."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..engine.handle import LabHandle
from ..model.config import NODES, LabConfig
from ..model.contract import AUDIT_WINDOW_FILE, HA_LOG
from ..model.pacemaker import PACEMAKER_LOG
from ..roles.node import (line_count_script, lines_since_argv, parse_count, window_read_script,
                          window_write_script)
from .state import RESOURCES, node_state
BAD_LOG_LINES = ("Both machines own", "No one owns")
# pacemaker 2.1's scheduler, on a resource found running on both nodes (its words, read in libpe_status)
PACEMAKER_BAD_LINES = ("is active on multiple nodes", "might be active on")


def audit_log(cfg: LabConfig) -> tuple[str, tuple[str, ...]]:
    """The log the audit reads on a lab of this stack, and the lines that say ownership failed."""
    return (PACEMAKER_LOG, PACEMAKER_BAD_LINES) if cfg.stack == "pacemaker" else (HA_LOG, BAD_LOG_LINES)


@dataclass
class Audit:
    owners: dict[str, list[str]]  # resource -> nodes holding it
    log_problems: list[str] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)  # nodes whose state could not be read

    @property
    def split_brain(self) -> bool:
        """Both nodes hold the cluster address."""
        return len(self.owners["vip"]) > 1

    @property
    def owner(self) -> str | None:
        """The one node holding every resource, if there is one."""
        holders = {tuple(v) for v in self.owners.values()}
        if len(holders) == 1:
            (nodes,) = holders
            if len(nodes) == 1:
                return nodes[0]
        return None

    @property
    def ok(self) -> bool:
        return self.owner is not None and not self.log_problems and not self.unreachable

    def report(self) -> str:
        if self.ok:
            return f"audit ok: {self.owner} holds the VIP, /ha and Apache; the other node none"
        lines = ["audit FAILED:"]
        if self.split_brain:
            lines.append(f"  SPLIT BRAIN: both nodes hold the VIP ({', '.join(self.owners['vip'])})")
        for res in RESOURCES:
            holders = self.owners[res]
            if len(holders) != 1:
                lines.append(f"  {res}: held by {', '.join(holders) if holders else 'no node'} (expected exactly one)")
        if self.owner is None and all(len(self.owners[r]) == 1 for r in RESOURCES):
            lines.append("  the resources are split between the nodes: "
                         + ", ".join(f"{r} on {self.owners[r][0]}" for r in RESOURCES))
        lines += [f"  log: {line}" for line in self.log_problems]
        lines += [f"  {node}: state unreadable (container not running?)" for node in self.unreachable]
        return "\n".join(lines)


def line_count(lab: LabHandle, node: str, path: str) -> int:
    res = lab.sh(node, line_count_script(path), timeout=10)
    if not res.ran:  # the node stopped under the exec (a board's reset): docker reads a stopped container
        try:
            return lab.read_file(node, path).count(b"\n")
        except Exception:  # noqa: BLE001 - no such file yet
            return 0
    return parse_count(res.output)


def lines_since(lab: LabHandle, node: str, path: str, mark: int) -> str:
    """What a log file on the node holds after its first `mark` lines."""
    return lab.run(node, lines_since_argv(path, mark), timeout=10).output


def log_marks(lab: LabHandle) -> dict[str, int]:
    """How many lines each node's stack log has now: audit(since=...) reads only what follows."""
    return {node: line_count(lab, node, audit_log(lab.cfg)[0]) for node in NODES}


# ---- the window an audit reads: heartbeat's log since a fault began, or since a heal ended ----
# Each node keeps, in WINDOW_FILE, how many lines its ha-log had when the current fault episode
# began (the first fault injected after a heal: "fault N", with "open" until the heal ends) and
# when the last heal ended ("heal N"). The log only grows, and the file lives in the node's own
# filesystem, so it survives a killed node; `lab reset` starts both afresh.
WINDOW_FILE = AUDIT_WINDOW_FILE
WINDOWS = {
    "fault": "since the last fault episode began (the faults injected since the last heal, and that heal)",
    "heal": "since the last heal ended",
    "up": "everything since the lab came up",
}


def fault_begins(lab: LabHandle) -> None:
    """Called as a fault is injected: the first one after a heal opens a new window. A
    scenario opens it before its first step, so that nothing stands between a step's mark
    on the timeline and its fault (the handle remembers the window is open)."""
    if lab.audit_window_open:
        return
    _mark(lab, 'echo "fault $n"; grep "^heal " "$f"; echo open', unless='grep -qx open "$f"')
    lab.audit_window_open = True


def heal_ends(lab: LabHandle) -> None:
    """Called once a heal has brought the master back: the fault episode is over."""
    _mark(lab, 'grep "^fault " "$f"; echo "heal $n"')
    lab.audit_window_open = False


def _mark(lab: LabHandle, lines: str, unless: str = "false") -> None:
    """Rewrite each running node's WINDOW_FILE with `lines` (shell; $n is the stack log's length now)."""
    script = window_write_script(lines, unless, audit_log(lab.cfg)[0])
    for node in NODES:
        if lab.container_status(node) == "running":
            lab.sh(node, script, timeout=10)


def window(lab: LabHandle, since: str = "fault") -> dict[str, int]:
    """The ha-log marks (lines to skip, per node) of the window `since` (a key of WINDOWS)."""
    if since not in WINDOWS:
        raise ValueError(f"unknown audit window {since!r}: expected one of {', '.join(WINDOWS)}")
    if since == "up":
        return {}
    marks = {}
    for node in NODES:
        if lab.container_status(node) != "running":
            continue
        text = lab.sh(node, window_read_script(), timeout=10).output
        marks[node] = parse_window(text, since)
    return marks


def parse_window(text: str, since: str) -> int:
    """The line count recorded for `since` in a node's WINDOW_FILE (0: from the start)."""
    for line in text.splitlines():
        kind, _, count = line.partition(" ")
        if kind == since and count.strip().isdigit():
            return int(count)
    return 0


def audit(lab: LabHandle, since: dict[str, int] | None = None, read_logs: bool = True) -> Audit:
    """Who holds what now and (read_logs) the ownership errors the stack logged after the
    marks `since` (per node: lines to skip; None: the whole log)."""
    owners: dict[str, list[str]] = {r: [] for r in RESOURCES}
    problems, unreachable = [], []
    path, bad_lines = audit_log(lab.cfg)
    for node in NODES:
        state = node_state(lab, node)
        if state["container"] != "running":
            unreachable.append(node)
            continue
        for res in RESOURCES:
            if state[res]:
                owners[res].append(node)
        if not read_logs:
            continue
        log = lines_since(lab, node, path, (since or {}).get(node, 0))
        problems += [f"{node}: {line.strip()}" for line in log.splitlines()
                     if any(bad in line for bad in bad_lines)]
    return Audit(owners, problems, unreachable)
