"""Pacemaker and Corosync on a node (`lab up --stack pacemaker`): their init scripts, the
cluster's own view (`crm_mon --output-as=xml`) parsed into who holds what, standby, and
the logs to read. Pure builders and parsers first, then what runs them on a lab."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..engine.handle import LabHandle
from ..model.pacemaker import COROSYNC_LOG, GROUP, PACEMAKER_LOG

COROSYNC_INIT = "/etc/init.d/corosync"
PACEMAKER_INIT = "/etc/init.d/pacemaker"
PACEMAKERD = "^(/usr/sbin/)?pacemakerd( |$)"  # pgrep -f: the stack runs on the node
CRM_MON = ["crm_mon", "--one-shot", "--output-as=xml", "--include=nodes,resources,failures,fencing,summary"]


@dataclass
class ClusterView:
    """What `crm_mon` on one node says of the whole cluster."""

    dc: str | None = None  # the designated controller (the node whose scheduler decides)
    quorate: bool = False
    nodes: dict[str, dict[str, bool]] = field(default_factory=dict)  # name -> online, standby, unclean
    resources: dict[str, str | None] = field(default_factory=dict)  # resource id -> the node it runs on
    failures: list[str] = field(default_factory=list)  # Pacemaker's failed actions, one line each
    fencing: list[str] = field(default_factory=list)  # the fencing history, one line each

    @property
    def holder(self) -> str | None:
        """The node running the whole group, if one does."""
        where = {self.resources.get(r) for r in self.resources}
        return where.pop() if len(where) == 1 and None not in where and self.resources else None

    def to_json(self) -> dict:
        return {"dc": self.dc, "quorate": self.quorate, "nodes": self.nodes, "resources": self.resources,
                "failures": self.failures, "fencing": self.fencing, "holder": self.holder}


def _yes(value: str | None) -> bool:
    return value == "true"


def parse_crm_mon(text: str, group: str = GROUP) -> ClusterView:
    """`crm_mon --output-as=xml` (Pacemaker 2.1's schema) as a ClusterView: the group's
    members and where each runs, the nodes' states, failed actions and fencing history."""
    root = ET.fromstring(text)
    view = ClusterView()
    dc = root.find("summary/current_dc")
    if dc is not None and _yes(dc.get("present")):
        view.dc, view.quorate = dc.get("name"), _yes(dc.get("with_quorum"))
    for node in root.iterfind("nodes/node"):
        view.nodes[node.get("name", "?")] = {k: _yes(node.get(k)) for k in ("online", "standby", "unclean")}
    members = root.findall(f"resources/group[@id='{group}']/resource")
    for res in members:
        on = res.find("node")
        running = _yes(res.get("active")) and res.get("role") == "Started" and on is not None
        view.resources[res.get("id", "?")] = on.get("name") if running and on is not None else None
    for f in root.iterfind("failures/failure"):
        view.failures.append(f"{f.get('op_key')} on {f.get('node')}: {f.get('exitreason') or f.get('exitstatus')} "
                             f"({f.get('last-rc-change', '')})".strip())
    for f in root.iterfind("fence_history/fence_event"):
        view.fencing.append(f"{f.get('action')} of {f.get('target')} by {f.get('delegate') or f.get('client')}: "
                            f"{f.get('status')} ({f.get('completed', '')})")
    return view


def log_argv(lines: int | None = None) -> list[str]:
    """Pacemaker's and Corosync's logs, interleaved as written (each line carries its stamp)."""
    files = [COROSYNC_LOG, PACEMAKER_LOG]
    return (["sh", "-c", f"tail -q -n {lines} {' '.join(files)} 2>/dev/null"] if lines
            else ["sh", "-c", f"cat {' '.join(files)} 2>/dev/null"])


# ---- run them on a lab ---------------------------------------------------------------------
class PacemakerNode:
    def __init__(self, lab: LabHandle, name: str):
        self.lab, self.name = lab, name

    def running(self) -> bool:
        return self.lab.run(self.name, ["pgrep", "-f", PACEMAKERD], timeout=10).ok

    def start(self) -> None:
        """Corosync, then Pacemaker, by their packages' init scripts."""
        self.lab.run(self.name, [COROSYNC_INIT, "start"], timeout=60, check=True)
        self.lab.run(self.name, [PACEMAKER_INIT, "start"], timeout=60, check=True)

    def stop(self) -> None:
        """Pacemaker first (it moves the resources away), then Corosync."""
        self.lab.run(self.name, [PACEMAKER_INIT, "stop"], timeout=180, check=True)
        self.lab.run(self.name, [COROSYNC_INIT, "stop"], timeout=60, check=True)

    def view(self) -> ClusterView | None:
        """crm_mon here; None while Pacemaker cannot answer (stopped, starting)."""
        res = self.lab.run(self.name, CRM_MON, timeout=20)
        if not res.output.lstrip().startswith("<"):
            return None
        try:
            return parse_crm_mon(res.output)
        except ET.ParseError:
            return None

    def log(self, lines: int | None = None) -> str:
        return self.lab.run(self.name, log_argv(lines), timeout=10).output

    def standby(self, on: bool = True) -> None:
        """`crm node standby` (the resources leave this node) or `crm node online`."""
        self.lab.run(self.name, ["crm", "node", "standby" if on else "online", self.lab.cfg.hb_name(self.name)],
                     timeout=60, check=True)
