"""The audit after every scenario, as heartbeat's cluster test suite (CTS) did: exactly one
node holds the VIP, the mount and Apache, the other none; heartbeat's log has no line
saying both or neither node owned the resources."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..engine.handle import LabHandle
from ..model.config import NODES
from ..model.contract import HA_LOG
from .state import RESOURCES, node_state
BAD_LOG_LINES = ("Both machines own", "No one owns")


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
        lines += [f"  ha-log: {line}" for line in self.log_problems]
        lines += [f"  {node}: state unreadable (container not running?)" for node in self.unreachable]
        return "\n".join(lines)


def line_count(lab: LabHandle, node: str, path: str) -> int:
    out = lab.sh(node, f"wc -l < {path} 2>/dev/null || echo 0", timeout=10).output.strip()
    return int(out) if out.isdigit() else 0


def lines_since(lab: LabHandle, node: str, path: str, mark: int) -> str:
    """What a log file on the node holds after its first `mark` lines."""
    return lab.run(node, ["tail", "-n", f"+{mark + 1}", path], timeout=10).output


def log_marks(lab: LabHandle) -> dict[str, int]:
    """How many lines each node's ha-log has now: audit(since=...) reads only what follows."""
    return {node: line_count(lab, node, HA_LOG) for node in NODES}


def audit(lab: LabHandle, since: dict[str, int] | None = None) -> Audit:
    owners: dict[str, list[str]] = {r: [] for r in RESOURCES}
    problems, unreachable = [], []
    for node in NODES:
        state = node_state(lab, node)
        if state["container"] != "running":
            unreachable.append(node)
            continue
        for res in RESOURCES:
            if state[res]:
                owners[res].append(node)
        log = lines_since(lab, node, HA_LOG, (since or {}).get(node, 0))
        problems += [f"{node}: {line.strip()}" for line in log.splitlines()
                     if any(bad in line for bad in BAD_LOG_LINES)]
    return Audit(owners, problems, unreachable)
