"""The cluster stack as a seam: one interface (start and stop the stack on a node, start the
whole cluster, hand the resources over) with two implementations, heartbeat's (the article)
and Pacemaker's on Corosync (`lab up --stack pacemaker`). Faults and scenarios ask
`of(lab)`, never which stack runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import heartbeat, pacemaker
from .engine.handle import LabHandle
from .roles.node import Node
from .roles.pacemaker import PacemakerNode

Act = Callable[[LabHandle, str], None]


@dataclass(frozen=True)
class Stack:
    name: str
    start_words: str  # the operator's command that starts the stack on a node, as the lab says it
    stop_words: str
    start: Act  # start the stack on a node (returns once it was started, not once it joined)
    stop: Act  # stop it gracefully: its resources move to the peer first
    standby: Act  # the node gives its resources to its peer and keeps running the stack
    takeover: Act  # the node takes the resources back from its peer
    start_cluster: Callable[[LabHandle], None]  # both nodes, the master first; done when the master serves
    # what the stack does by itself, which the soak's expectations follow
    monitors: bool  # finds a failed resource (a killed Apache) and starts it again where the group runs
    ping_failover: bool  # moves the resources off a node that lost its ping node (heartbeat's ipfail)


def _pcmk_standby(lab: LabHandle, node: str) -> None:
    PacemakerNode(lab, node).standby(True)


def _pcmk_takeover(lab: LabHandle, node: str) -> None:
    """Pacemaker's counterpart of hb_takeover on `node`: the peer, put in standby by a
    standby fault, comes back online and `node` itself too; the master's location
    preference then places the group."""
    for n in (node, lab.cfg.peer(node)):
        PacemakerNode(lab, n).standby(False)


HEARTBEAT = Stack("heartbeat", "/etc/rc.d/init.d/heartbeat start", "/etc/rc.d/init.d/heartbeat stop",
                  heartbeat.start_heartbeat, heartbeat.stop_heartbeat,
                  lambda lab, node: Node(lab, node).standby(), lambda lab, node: Node(lab, node).takeover(),
                  heartbeat.start_cluster, monitors=False, ping_failover=True)
PACEMAKER = Stack("pacemaker", "/etc/init.d/corosync start; /etc/init.d/pacemaker start",
                  "/etc/init.d/pacemaker stop; /etc/init.d/corosync stop",
                  pacemaker.start_stack, pacemaker.stop_stack, _pcmk_standby, _pcmk_takeover,
                  pacemaker.start_cluster, monitors=True, ping_failover=False)
STACKS = {s.name: s for s in (HEARTBEAT, PACEMAKER)}


def of(lab: LabHandle) -> Stack:
    return STACKS[lab.cfg.stack]
