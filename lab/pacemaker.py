"""Driving the article's cluster on Pacemaker and Corosync (`lab up --stack pacemaker`):
install the rendered files, start Corosync and Pacemaker on both nodes, load the article's
resource group with crmsh, stop and start the stack on one node."""

from __future__ import annotations

from .engine.handle import LabHandle
from .model.config import CLIENT, NFS_SERVER, NODES, check_node
from .model.contract import AUTOSTART_MARK, LAB_ETC
from .model.pacemaker import CIB_SCRIPT, COROSYNC_CONF, COROSYNC_KEY
from .observe.audit import heal_ends
from .observe.state import node_state, wait_serving, who_serves
from .roles.node import Node
from .roles.pacemaker import PacemakerNode
from .waiting import wait_until
from .wake import wake

FILES = ((f"{LAB_ETC}/corosync.conf", COROSYNC_CONF, 0o644), (f"{LAB_ETC}/authkey", COROSYNC_KEY, 0o400),
         (f"{LAB_ETC}/article.crm", CIB_SCRIPT, 0o644))


def install_files(lab: LabHandle, node: str) -> None:
    """corosync.conf, its authkey and the crm script from the lab's rendered folder."""
    for src, dest, mode in FILES:
        lab.sh(node, f"install -D -m {mode:o} {src} {dest}", check=True)


def start_stack(lab: LabHandle, node: str) -> None:
    check_node(node, NODES)
    pm = PacemakerNode(lab, node)
    if pm.running():
        return
    lab.say(f"{node}: /etc/init.d/corosync start; /etc/init.d/pacemaker start")
    pm.start()


def stop_stack(lab: LabHandle, node: str) -> None:
    check_node(node, NODES)
    pm = PacemakerNode(lab, node)
    if not pm.running():
        return
    lab.say(f"{node}: /etc/init.d/pacemaker stop; /etc/init.d/corosync stop")
    pm.stop()


def members(lab: LabHandle) -> tuple[bool, str]:
    """Both nodes online in the cluster's own view (crm_mon on the master), with a DC elected
    and quorum; and what was seen."""
    view = PacemakerNode(lab, lab.cfg.master).view()
    if view is None:
        return False, f"crm_mon does not answer on {lab.cfg.master} (Corosync and Pacemaker started?)"
    online = {n for n, s in view.nodes.items() if s["online"]}
    return (online >= {lab.cfg.hb_name(n) for n in NODES} and view.dc is not None and view.quorate,
            f"online: {', '.join(sorted(online)) or 'none'}; DC: {view.dc}; quorate: {view.quorate}")


def wait_members(lab: LabHandle, timeout: float) -> None:
    wait_until("both nodes online in Pacemaker (a DC elected, quorum)", lambda: members(lab), timeout=timeout,
               interval=0.5)


def start_cluster(lab: LabHandle) -> None:
    """The article's cluster on Pacemaker: both nodes' files, Corosync and Pacemaker started
    on both (two_node quorum waits for both at the first start), the resource group loaded
    once from the master, the stack started at every boot; done when the master serves."""
    for node in NODES:
        install_files(lab, node)
    for node in (lab.cfg.master, lab.cfg.backup):
        start_stack(lab, node)
    wait_members(lab, timeout=lab.cfg.start_wait)
    lab.say(f"{lab.cfg.master}: crm configure load update {CIB_SCRIPT}")
    lab.run(lab.cfg.master, ["crm", "configure", "load", "update", CIB_SCRIPT], timeout=120, check=True)
    for node in NODES:
        lab.sh(node, f"mkdir -p $(dirname {AUTOSTART_MARK}) && echo pacemaker > {AUTOSTART_MARK}", check=True)
    wait_serving(lab, lab.cfg.master, timeout=lab.cfg.start_wait)


# ---- heal: every fault of the catalogue undone, the group back on the master ---------------
def needs_healing(lab: LabHandle) -> str | None:
    """Why a Pacemaker lab is not at rest, or None: every container running, no fault since
    the last heal, no fault rule, both nodes online and not in standby in the cluster's view,
    no failed action, the group on the master alone and the master serving."""
    for host in dict.fromkeys((NFS_SERVER, lab.topo.nfs_server, *NODES, CLIENT)):
        if (status := lab.container_status(host)) != "running":
            return f"{host} is {status}"
    if lab.audit_window_open:
        return "a fault was injected since the last heal"
    for node in NODES:
        if Node(lab, node).drops():
            return f"{node} has fault rules"
    view = PacemakerNode(lab, lab.cfg.master).view()
    if view is None:
        return f"Pacemaker on {lab.cfg.master} does not answer"
    for node in NODES:
        s = view.nodes.get(lab.cfg.hb_name(node), {})
        if not s.get("online") or s.get("standby"):
            return f"{node} is {'in standby' if s.get('standby') else 'not online'} in Pacemaker's view"
    if view.failures:
        return f"Pacemaker's failed action: {view.failures[0]}"
    if view.holder != lab.cfg.hb_name(lab.cfg.master):
        return f"the group runs on {view.holder or 'no one node'}: {view.resources}"
    if node_state(lab, lab.cfg.backup)["vip"]:
        return f"{lab.cfg.backup} holds the VIP too"
    if (who := who_serves(lab)) != lab.cfg.master:
        return f"the cluster URL is served by {who}"
    return None


def heal(lab: LabHandle, wait: bool = True) -> None:
    """Undo every fault: resume and start containers, remove the fault rules; then (wait)
    start the stack where it is stopped, bring both nodes online (out of standby), clear
    Pacemaker's failed actions, and wait until the master serves with the backup holding
    nothing. A lab already at rest is only marked healed."""
    why = needs_healing(lab) if wait else None
    if wait and why is None:
        lab.say("heal: the lab is healthy, no fault since the last heal; nothing to undo")
        heal_ends(lab)
        return
    lab.say(f"heal{f' ({why})' if why else ''}: resuming, restarting, removing fault rules ...")
    wake(lab)
    for node in NODES:
        Node(lab, node).clear_drops()
    if not wait:
        return
    for node in (lab.cfg.master, lab.cfg.backup):
        start_stack(lab, node)  # a node that booted starts it by itself (node-init): then nothing to do
    wait_members(lab, timeout=lab.cfg.start_wait)
    for node in NODES:
        PacemakerNode(lab, node).standby(False)
    lab.run(lab.cfg.master, ["crm", "resource", "cleanup"], timeout=60, check=True)
    wait_serving(lab, lab.cfg.master, timeout=lab.cfg.heal_budget)
    wait_until(f"{lab.cfg.backup} to hold nothing", lambda: (
        not any(v for k, v in node_state(lab, lab.cfg.backup).items() if k in ("vip", "mounted", "apache")),
        f"{lab.cfg.backup} holds {node_state(lab, lab.cfg.backup)}"), timeout=lab.cfg.failover_wait, interval=0.3)
    heal_ends(lab)
