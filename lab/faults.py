"""Faults a two-node cluster meets, one call away. Each returns once the fault is really in
place; `heal` undoes every fault and brings the cluster back to its known-good state
(both nodes up, the master active, no rules, nothing paused).

Network faults are iptables rules inside the nodes, in chains of their own, as heartbeat's
CTS and Jepsen do: `docker network disconnect` would rename eth0 on reconnect and leave
heartbeat and IPaddr2 pointing at a name that no longer exists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .config import CLIENT, NFS_SERVER, NODES, ConfigError
from .waiting import wait_until

CHAIN_IN, CHAIN_OUT = "LAB-FAULT-IN", "LAB-FAULT-OUT"
HB_STANDBY = "/usr/share/heartbeat/hb_standby"
HB_TAKEOVER = "/usr/share/heartbeat/hb_takeover"


@dataclass(frozen=True)
class Fault:
    name: str
    help: str
    needs_node: bool
    apply: Callable  # (lab, node) -> None


def _chains(lab, node: str) -> None:  # noqa: ANN001
    """Create the fault chains and hook them first into INPUT and OUTPUT (idempotent)."""
    lab.sh(node, f"""
        iptables -N {CHAIN_IN} 2>/dev/null; iptables -N {CHAIN_OUT} 2>/dev/null
        iptables -C INPUT -j {CHAIN_IN} 2>/dev/null || iptables -I INPUT 1 -j {CHAIN_IN}
        iptables -C OUTPUT -j {CHAIN_OUT} 2>/dev/null || iptables -I OUTPUT 1 -j {CHAIN_OUT}
    """, check=True)


def _drop(lab, node: str, peer_net: str) -> None:  # noqa: ANN001
    """Drop everything between `node` and the addresses `peer_net` (an address or subnet)."""
    _chains(lab, node)
    lab.sh(node, f"iptables -A {CHAIN_IN} -s {peer_net} -j DROP && iptables -A {CHAIN_OUT} -d {peer_net} -j DROP",
           check=True)


def clear_rules(lab, node: str) -> None:  # noqa: ANN001
    lab.sh(node, f"iptables -F {CHAIN_IN} 2>/dev/null; iptables -F {CHAIN_OUT} 2>/dev/null; true", check=True)


# ---- the faults -------------------------------------------------------------------------
def stop_heartbeat(lab, node: str) -> None:  # noqa: ANN001
    lab.stop_heartbeat(node)


def kill_node(lab, node: str) -> None:  # noqa: ANN001
    """Power cut: SIGKILL the whole container, no shutdown scripts."""
    lab.container(node).kill()
    lab.wait_container(node, "exited")


def pause_node(lab, node: str) -> None:  # noqa: ANN001
    """A hung machine: every process frozen (cgroup freezer), the network still up."""
    lab.container(node).pause()
    lab.wait_container(node, "paused")


def cut_lan(lab, node: str | None = None) -> None:  # noqa: ANN001
    """Cut the LAN between ha1 and ha2 only: clients still reach both."""
    for n in NODES:
        _drop(lab, n, lab.cfg.lan_ip(lab.cfg.peer(n)))


def cut_serial(lab, node: str | None = None) -> None:  # noqa: ANN001
    for n in NODES:
        _drop(lab, n, lab.cfg.serial_ip(lab.cfg.peer(n)))


def isolate(lab, node: str) -> None:  # noqa: ANN001
    """Cut the node off from the clients (ha3, the host) and the ping node (ha3), and from the
    peer's Ethernet heartbeats; the serial cable and the NFS server stay reachable. The case
    ipfail exists for. (Cut nfsha too and the hand-over never completes: Apache's stop
    script stats the docroot on the hard-mounted /ha and waits for the server forever.)"""
    for addr in (lab.cfg.lan_ip(CLIENT), lab.cfg.lan_gateway, lab.cfg.lan_ip(lab.cfg.peer(node))):
        _drop(lab, node, addr)


def stop_nfs(lab, node: str | None = None) -> None:  # noqa: ANN001
    lab.container(NFS_SERVER).stop(timeout=5)
    lab.wait_container(NFS_SERVER, "exited")


def kill_apache(lab, node: str) -> None:  # noqa: ANN001
    lab.run(node, ["pkill", "-KILL", "-x", "apache2"])
    wait_until(f"Apache gone on {node}", lambda: (not lab.node_state(node)["apache"], "apache2 still running"),
               timeout=10)


def standby(lab, node: str) -> None:  # noqa: ANN001
    """hb_standby on `node`: it gives its resources to the other node."""
    lab.run(node, [HB_STANDBY], check=True)


def takeover(lab, node: str) -> None:  # noqa: ANN001
    """hb_takeover on `node`: it takes the resources from the other node."""
    lab.run(node, [HB_TAKEOVER], check=True)


FAULTS = {f.name: f for f in (
    Fault("stop-heartbeat", "/etc/init.d/heartbeat stop on NODE (the article's test)", True, stop_heartbeat),
    Fault("kill", "power cut: kill NODE's container", True, kill_node),
    Fault("pause", "hung machine: freeze NODE's container", True, pause_node),
    Fault("cut-lan", "drop the LAN between ha1 and ha2 (clients still reach both)", False, cut_lan),
    Fault("cut-serial", "cut the serial cable", False, cut_serial),
    Fault("isolate", "cut NODE off from clients, ping node and peer LAN; serial and NFS intact", True, isolate),
    Fault("stop-nfs", "stop the NFS server nfsha", False, stop_nfs),
    Fault("kill-apache", "kill Apache on NODE (heartbeat in haresources mode does not notice)", True, kill_apache),
    Fault("standby", "hb_standby on NODE: hand its resources to the other node", True, standby),
    Fault("takeover", "hb_takeover on NODE: take the resources from the other node", True, takeover),
)}


def inject(lab, name: str, node: str | None = None) -> None:  # noqa: ANN001
    """Put fault `name` in place (on `node` where it needs one); returns once it is."""
    if name not in FAULTS:
        raise ConfigError(f"unknown fault {name!r}: expected one of {', '.join(FAULTS)}")
    fault = FAULTS[name]
    if fault.needs_node and node not in NODES:
        raise ConfigError(f"fault {name!r} needs a node: ha1 or ha2 (got {node!r})")
    if not fault.needs_node and node is not None:
        raise ConfigError(f"fault {name!r} takes no node (got {node!r})")
    lab.say(f"fault: {name}{' on ' + node if node else ''}")
    fault.apply(lab, node)


def heal(lab, wait: bool = True) -> None:  # noqa: ANN001
    """Undo every fault: resume and restart containers, remove the rules, start what is
    stopped; then (wait=True) wait until the master serves again with one owner."""
    lab.say("heal: resuming, restarting, removing fault rules ...")
    nfs_restarted = False
    for host in (NFS_SERVER, *NODES, CLIENT):
        c = lab.container(host)
        c.reload()
        if c.status == "paused":
            c.unpause()
        elif c.status in ("exited", "created", "dead"):
            c.start()
            nfs_restarted |= host == NFS_SERVER
    if nfs_restarted:
        lab.wait_nfs()
    for node in NODES:
        lab.wait_node_ready(node)
        clear_rules(lab, node)
    if not wait:
        return
    for node in (lab.cfg.master, lab.cfg.backup):
        if not lab.node_state(node)["heartbeat"]:
            lab.start_heartbeat(node)
    lab.restore_owner()
    for node in NODES:  # a node that (re)started heartbeat has finished its start-up round
        lab.wait_joined(node)
