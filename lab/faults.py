"""Faults a two-node cluster meets, one call away. Each returns once the fault is really in
place; `lab.recovery.heal` undoes them all.

Network faults are iptables rules inside the nodes, in chains of their own, as heartbeat's
CTS and Jepsen do: `docker network disconnect` would rename eth0 on reconnect and leave
heartbeat and IPaddr2 pointing at a name that no longer exists."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import docker.errors

from . import stacks
from .engine.handle import LabHandle
from .errors import ConfigError, LabError
from .model.config import CLIENT, NFS_SERVER, NODES
from .observe.audit import fault_begins
from .observe.state import node_state
from .roles.node import Node
from .waiting import wait_until


@dataclass(frozen=True)
class Fault:
    name: str
    help: str
    needs_node: bool
    apply: Callable[[LabHandle, str | None], None]


def _drop(lab: LabHandle, node: str, peer_net: str, outgoing: bool = True) -> None:
    """Drop everything between `node` and the addresses `peer_net` (an address or subnet):
    what arrives from them and, if `outgoing`, what the node sends them (the sender's
    sendto() then fails with EPERM, as a packet filter's DROP on the way out does)."""
    Node(lab, node).add_drops(peer_net, outgoing)


def cut_from_ping_node(lab: LabHandle, node: str) -> bool:
    """The node's fault rules drop its ping node (ha3): ipfail on it has given up."""
    return ("out", f"{lab.cfg.lan_ip(CLIENT)}/32") in Node(lab, node).drops()


# ---- the faults -------------------------------------------------------------------------
def stop_heartbeat(lab: LabHandle, node: str | None) -> None:
    """The cluster stack stopped gracefully on `node` (heartbeat: the article's test)."""
    stacks.of(lab).stop(lab, _node(node))


def kill_node(lab: LabHandle, node: str | None) -> None:
    """Power cut: SIGKILL the whole container, no shutdown scripts."""
    lab.container(_node(node)).kill()
    lab.wait_container(_node(node), "exited")


PAUSE_TRIES = 3


def pause_node(lab: LabHandle, node: str | None) -> None:
    """A hung machine: every process frozen (cgroup freezer), the network still up.

    The freezer can give up ("OCI runtime pause failed: unable to freeze"): a process
    waiting on the FUSE share cannot be frozen until nfs4fuse answers it, and nfs4fuse, in
    the same container, may be frozen first. runc then thaws the container again; once the
    request is answered the next try freezes it (seen once in a soak with a busy host)."""
    container = lab.container(_node(node))
    for attempt in range(1, PAUSE_TRIES + 1):
        try:
            container.pause()
            break
        except docker.errors.APIError as exc:
            if "unable to freeze" not in str(exc) or attempt == PAUSE_TRIES:
                raise LabError(f"could not pause {_node(node)} ({PAUSE_TRIES} tries): {str(exc).splitlines()[0]}. "
                               "Expected the cgroup freezer to freeze every process of the container; "
                               "see docs/experiment/faults.md") from None
            lab.say(f"pause {_node(node)}: the freezer gave up (a process held in the FUSE share?); trying again")
            time.sleep(0.5 * attempt)  # the in-flight request ends by itself; nothing to poll
    lab.wait_container(_node(node), "paused")


def cut_lan(lab: LabHandle, node: str | None = None) -> None:
    """Cut the LAN between ha1 and ha2 only: clients still reach both."""
    for n in NODES:
        _drop(lab, n, lab.cfg.lan_ip(lab.cfg.peer(n)))


def cut_serial(lab: LabHandle, node: str | None = None) -> None:
    """Cut the cable: each end stops receiving. Only what arrives is dropped: on a cut cable
    the sender's writes still succeed, and a DROP on the way out would fail socat's sendto()
    with EPERM, end it, and leave heartbeat reading a hung-up pty ("EOF in ttygets" logged
    in a busy loop, a CPU each, until heartbeat restarts)."""
    for n in NODES:
        _drop(lab, n, lab.cfg.serial_ip(lab.cfg.peer(n)), outgoing=False)


def isolate(lab: LabHandle, node: str | None) -> None:
    """Cut the node off from the clients (ha3, the host) and the ping node (ha3), and from the
    peer's Ethernet heartbeats; the serial cable and the NFS server stay reachable. The case
    ipfail exists for. (Cut nfsha too and the hand-over never completes: anything that stats
    the docroot on the hard-mounted /ha waits for the server forever.)"""
    node = _node(node)
    for addr in (lab.cfg.lan_ip(CLIENT), lab.cfg.lan_gateway, lab.cfg.lan_ip(lab.cfg.peer(node))):
        _drop(lab, node, addr)


def cut_mgmt(lab: LabHandle, node: str | None = None) -> None:
    """Cut both nodes off the management network: no board's answer reaches them, so a fence
    fails (the boards still answer ha3, where an operator looks from). Only what comes in is
    dropped, as with a pulled cable: dropped on the way out, the send itself fails, and
    ipmitool 1.8.19 then retries its presence ping forever instead of timing out (tried)."""
    if not lab.cfg.has_boards:
        raise ConfigError(f"fault 'cut-mgmt': lab {lab.cfg.name!r} has no management network; start it with "
                          "`lab up --stonith ipmi`")
    for n in NODES:
        _drop(lab, n, lab.cfg.mgmt_subnet, outgoing=False)


def stop_nfs(lab: LabHandle, node: str | None = None) -> None:
    server = lab.topo.nfs_server  # nfsha, or ganesha's own container beside it on a user-namespaced engine
    lab.container(server).stop(timeout=5)
    lab.wait_container(server, "exited")


def kill_apache(lab: LabHandle, node: str | None) -> None:
    node = _node(node)
    Node(lab, node).kill_apache()
    wait_until(f"Apache gone on {node}", lambda: (not node_state(lab, node)["apache"], "apache2 still running"),
               timeout=10)


def standby(lab: LabHandle, node: str | None) -> None:
    """`node` gives its resources to the other node (hb_standby; crm node standby)."""
    stacks.of(lab).standby(lab, _node(node))


def takeover(lab: LabHandle, node: str | None) -> None:
    """`node` takes the resources from the other node (hb_takeover; crm node online)."""
    stacks.of(lab).takeover(lab, _node(node))


def _node(node: str | None) -> str:
    assert node is not None, "inject() checks that faults which need a node get one"
    return node


FAULTS = {f.name: f for f in (
    Fault("stop-heartbeat", "stop the cluster stack on NODE: /etc/init.d/heartbeat stop (the article's test), "
                            "or pacemaker's and corosync's", True, stop_heartbeat),
    Fault("kill", "power cut: kill NODE's container", True, kill_node),
    Fault("pause", "hung machine: freeze NODE's container", True, pause_node),
    Fault("cut-lan", "drop the LAN between ha1 and ha2 (clients still reach both)", False, cut_lan),
    Fault("cut-serial", "cut the serial cable", False, cut_serial),
    Fault("isolate", "cut NODE off from clients, ping node and peer LAN; serial and NFS intact", True, isolate),
    Fault("cut-mgmt", "cut both nodes off their management boards (--stonith ipmi): fencing fails", False, cut_mgmt),
    Fault("stop-nfs", "stop the NFS server nfsha", False, stop_nfs),
    Fault("kill-apache", "kill Apache on NODE (heartbeat in haresources mode does not notice)", True, kill_apache),
    Fault("standby", "hb_standby (crm node standby) on NODE: hand its resources to the other node", True, standby),
    Fault("takeover", "hb_takeover (crm node online) on NODE: take the resources from the other node", True,
          takeover),
)}


def check_fault(name: str, node: str | None) -> Fault:
    """The fault called `name`, if `node` is what it takes; else ConfigError saying what is."""
    if name not in FAULTS:
        raise ConfigError(f"unknown fault {name!r}: expected one of {', '.join(FAULTS)}")
    fault = FAULTS[name]
    if fault.needs_node and node not in NODES:
        raise ConfigError(f"fault {name!r} needs a node: {' or '.join(NODES)} (got {node!r})")
    if not fault.needs_node and node is not None:
        raise ConfigError(f"fault {name!r} takes no node (got {node!r})")
    return fault


def inject(lab: LabHandle, name: str, node: str | None = None) -> None:
    """Put fault `name` in place (on `node` where it needs one); returns once it is."""
    fault = check_fault(name, node)
    lab.say(f"fault: {name}{' on ' + node if node else ''}")
    fault_begins(lab)  # `lab audit` reads heartbeat's log from here (the first fault since a heal)
    fault.apply(lab, node)


def active_faults(lab: LabHandle) -> list[str]:
    """What the fault catalogue left in place: containers paused or stopped, and drop rules
    in the nodes' fault chains (the instructor's dashboard shows them)."""
    out = []
    for host in dict.fromkeys((NFS_SERVER, lab.topo.nfs_server, *NODES)):
        status = lab.container_status(host)
        if status == "paused":
            out.append(f"pause {host}")
        elif status != "running":
            out.append("stop-nfs" if host in (NFS_SERVER, lab.topo.nfs_server) else f"kill {host}")
    for node in NODES:
        if lab.container_status(node) == "running":
            drops = Node(lab, node).drops()
            if drops:
                out.append(f"network cut on {node} ({len(drops)} drop rules)")
    return out
