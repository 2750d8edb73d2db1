"""What the lab looks like right now: what each node holds, who serves the cluster URL,
the problems a user should see; and the waits for those states."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone

import requests

from ..engine.handle import LabHandle
from ..model.config import CLIENT, NODES
from ..model.contract import HA_LOG, SERIAL_DEVICE, SHARE_MOUNT
from ..model.render import serving_node
from ..roles.client import Client
from ..roles.pacemaker import ClusterView, PacemakerNode
from ..roles.node import Node, NodeState
from ..waiting import WaitTimeout, wait_until

RESOURCES = ("vip", "mounted", "apache")


# ---- the cluster URL, as a client sees it ----------------------------------------------------
def fetch(lab: LabHandle, path: str = "hostname.html", via: str = "vip", timeout: float = 2.0) -> tuple[int, str]:
    """GET a page of the cluster URL: from the host at the VIP ("vip"), at the 127.0.0.1
    publication ("local"), or from the client node with curl ("ha3"). Where the host cannot
    reach the VIP (a rootless engine), "vip" goes through the 127.0.0.1 publication: ha3
    forwards it to the VIP."""
    if via == CLIENT:
        return Client(lab).get(path, timeout)
    base = host_url(lab) if via == "vip" else local_url(lab)
    r = direct_get(f"{base}{path}", timeout=timeout)
    return r.status_code, r.text


def host_url(lab: LabHandle) -> str:
    """The cluster URL as this machine reaches it: at the VIP, or where the host has no route
    to the VIP (a rootless engine) at the 127.0.0.1 publication, which ha3 forwards to it."""
    return lab.cfg.url if lab.vip_from_host else local_url(lab)


def direct_get(url: str, timeout: float) -> requests.Response:
    """GET straight to the lab (its VIP, its 127.0.0.1 port), never through a proxy the
    environment names (http_proxy, HTTP_PROXY, ALL_PROXY): behind a company's proxy, or on a
    CI runner with one, the lab's own addresses would go to the proxy, which cannot reach
    them, and every wait for the cluster would time out with "no answer"."""
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, timeout=timeout)


def published_port(lab: LabHandle) -> int | None:
    """The 127.0.0.1 port docker published the client's port 80 on, as docker reports it."""
    c = lab.container(CLIENT)
    c.reload()
    for binding in c.ports.get("80/tcp") or []:
        if binding.get("HostIp") == "127.0.0.1":
            return int(binding["HostPort"])
    return None


def local_url(lab: LabHandle) -> str:
    port = published_port(lab)
    return f"http://127.0.0.1:{port}/" if port else "(not published)"


def who_serves(lab: LabHandle, via: str = "vip") -> str | None:
    """The node named by hostname.html at the cluster URL, or None if nothing answers."""
    return _answer(lab, via)[0]


def _answer(lab: LabHandle, via: str = "vip") -> tuple[str | None, str]:
    """(the node hostname.html names or None, what was seen: the node, the HTTP code, or the
    error of the request)."""
    try:
        code, body = fetch(lab, "hostname.html", via=via)
    except requests.RequestException as exc:
        return None, f"no answer at the VIP ({type(exc).__name__})"
    name = serving_node(body) if code == 200 else None
    if not code:
        return None, "no answer at the VIP (curl got no HTTP answer)"
    if not name:
        return None, f"HTTP {code} at the VIP, naming no node"
    name = lab.cfg.role_of(name) or name  # the page names the node's hostname
    return name, f"hostname.html names {name}"


def wait_serving(lab: LabHandle, node: str, timeout: float) -> None:
    """Wait until hostname.html at the cluster URL names `node`. On timeout the error also
    says what each node held, whether ha3 (on the LAN) got an answer, and the tail of the
    awaited node's ha-log: enough to tell a cluster that did not start its resources from
    a VIP this machine cannot reach."""
    lab.say(f"waiting for {node} to serve {lab.cfg.url} (up to {timeout:.0f} s"
            f"{'' if lab.vip_from_host else ', through ha3: the VIP is not reachable from this machine'}) ...")

    def check() -> tuple[bool, str]:
        who, seen = _answer(lab)
        return who == node, seen

    try:
        wait_until(f"{node} to serve the cluster URL", check, timeout=timeout, interval=0.1)
    except WaitTimeout as exc:
        raise WaitTimeout(exc.what, exc.timeout, f"{exc.seen}\n{_diagnosis(lab, node)}") from None


def _diagnosis(lab: LabHandle, node: str) -> str:
    lines = []
    try:
        for n in NODES:
            held = node_state(lab, n)
            lines.append(f"  {n}: " + ", ".join(f"{k}={'yes' if v is True else 'no' if v is False else v}"
                                               for k, v in held.items()))
        lines.append(f"  from {CLIENT} (on the LAN): {_answer(lab, CLIENT)[1]}")
        lines.append(f"  the last lines of {node}'s {HA_LOG}:")
        lines += [f"    {line}" for line in ha_log(lab, node, 12).splitlines()]
    except Exception as exc:  # noqa: BLE001 - a diagnosis must not hide the timeout itself
        lines.append(f"  (could not read more: {type(exc).__name__}: {exc})")
    return "\n".join(lines)


# ---- the nodes ------------------------------------------------------------------------------------
def node_state(lab: LabHandle, node: str) -> NodeState:
    """What a node holds: heartbeat running, the VIP, the /ha mount, Apache."""
    return Node(lab, node).holds()


def peer_status(lab: LabHandle, node: str) -> str:
    """How heartbeat on `node` sees its peer (`cl_status nodestatus`): active, dead, ..."""
    return Node(lab, node).peer_status()


def link_status(lab: LabHandle, node: str, link: str) -> str:
    """How heartbeat on `node` sees one medium to its peer (`cl_status hblinkstatus`): up, dead."""
    return Node(lab, node).link_status(link)


def heartbeat_running(lab: LabHandle, node: str) -> bool:
    return Node(lab, node).heartbeat_running()


def in_transition(lab: LabHandle, node: str) -> bool:
    """heartbeat is acquiring or releasing resources on the node right now: its resource
    scripts run, or it says so itself (`cl_status rscstatus` is "transition")."""
    return Node(lab, node).in_transition()


def settled(lab: LabHandle) -> bool:
    """No running node is in the middle of a resource transition."""
    return not any(in_transition(lab, n) for n in NODES if lab.container_status(n) == "running")


def ha_log(lab: LabHandle, node: str, lines: int | None = None) -> str:
    return Node(lab, node).ha_log(lines)


def status(lab: LabHandle) -> dict:
    nodes = {n: node_state(lab, n) for n in NODES}
    serving = who_serves(lab)
    return {
        "name": lab.cfg.name,
        "timing": lab.cfg.timing,  # the profile; "timers" says what ha.cf has now
        "timers": asdict(lab.cfg.times),
        "auto_failback": lab.cfg.auto_failback,
        "nfs_client": lab.cfg.nfs_client,
        "url": lab.cfg.url,
        "local_url": local_url(lab),
        "engine_kind": lab.engine_kind,
        "vip_from_host": lab.vip_from_host,
        "serving": serving,
        "nodes": nodes,
        "stonith": lab.cfg.stonith,
        "source": lab.cfg.source or None,  # `lab up --from DIR`
        "hostnames": {n: lab.cfg.hb_name(n) for n in NODES},
        "fencing": (fencing := {n: last_fence(lab, n) for n in NODES if nodes[n]["heartbeat"]}
                    if lab.cfg.stonith != "none" else {}),
        "problems": problems(nodes, serving) + fence_problems(fencing),
        "stack": lab.cfg.stack,
    } | (_pacemaker_status(lab, nodes) if lab.cfg.stack == "pacemaker" else {})


def pacemaker_view(lab: LabHandle, among: list[str] | None = None) -> ClusterView | None:
    """Pacemaker's own view, from crm_mon on the first of `among` (default: the master, then
    the backup, where its container runs) that answers; None where none does."""
    if among is None:
        among = [n for n in (lab.cfg.master, lab.cfg.backup) if lab.container_status(n) == "running"]
    return next((v for n in among if (v := PacemakerNode(lab, n).view()) is not None), None)


def _pacemaker_status(lab: LabHandle, nodes: dict[str, NodeState]) -> dict:
    """Pacemaker's own view (crm_mon on a node where it runs, the master first): who runs
    which resource, its failed actions and fencing history; and fencing switched off said."""
    view = pacemaker_view(lab, [n for n in (lab.cfg.master, lab.cfg.backup) if nodes[n]["heartbeat"]])
    found = [] if lab.cfg.has_boards else [
        "fencing is off (stonith-enabled=false): a node that stops answering is assumed dead, as heartbeat's "
        "article cluster does; Pacemaker's own advice is to fence (lab up --stack pacemaker --stonith ipmi)"]
    if view is not None:
        found += [f"Pacemaker's failed action: {f}" for f in view.failures]
    return {"pacemaker": view.to_json() if view else None, "warnings": found}


def last_fence(lab: LabHandle, node: str) -> str | None:
    """heartbeat's last line on fencing in the node's ha-log since heartbeat last started
    (resetting the peer, done, failed, or waiting for an operator), or None."""
    return Node(lab, node).last_fence()


def line_is_fencing(line: str) -> bool:
    """heartbeat's last fence line says a reset is under way (not done, not failed)."""
    return "Resetting node" in line


def fence_problems(fencing: dict[str, str | None]) -> list[str]:
    """A node whose last fence has not (yet) succeeded: heartbeat takes nothing over until it does."""
    found = []
    for node, line in fencing.items():
        if line and "now reset" not in line:
            found.append(f"{node} is fencing its peer and has not succeeded: no takeover until it does "
                         f"(heartbeat: {line.split(': ', 2)[-1].strip()})")
    return found


def problems(nodes: dict[str, NodeState], serving: str | None) -> list[str]:
    """Where what heartbeat holds and what a client sees disagree."""
    found = []
    holders = [n for n, st in nodes.items() if st["vip"]]
    if len(holders) > 1:
        found.append(f"split brain: {' and '.join(holders)} both hold the VIP")
    for n, st in nodes.items():
        if st["vip"] and st["heartbeat"] and not st["apache"]:
            found.append(
                f"{n} holds the VIP but Apache is not running: heartbeat (haresources mode monitors "
                f"nothing) still counts {n} active while the cluster URL fails"
            )
        if st["vip"] and not st["mounted"]:
            found.append(f"{n} holds the VIP but {SHARE_MOUNT} is not mounted")
    if not holders:
        # before heartbeat is started (an early workshop stage) nobody holds it, by design
        if any(st["heartbeat"] for st in nodes.values()):
            found.append("no node holds the VIP: the cluster URL is down")
    elif serving is None:
        found.append(f"the cluster URL does not answer although {' and '.join(holders)} holds the VIP")
    return found


# ---- boot ----------------------------------------------------------------------------------------
def wait_nfs(lab: LabHandle) -> None:
    c = lab.container(lab.topo.nfs_server)

    def ready() -> tuple[bool, str]:
        c.reload()
        if c.status != "running":
            return False, f"container {c.status}"
        # only this run's lines: after a restart the log still holds the last run's
        started = datetime.strptime(c.attrs["State"]["StartedAt"][:19], "%Y-%m-%dT%H:%M:%S")
        logs = c.logs(since=int(started.replace(tzinfo=timezone.utc).timestamp())).decode(errors="replace")
        return "NFS SERVER INITIALIZED" in logs, logs.strip().splitlines()[-1:] or "no output"

    lab.say("waiting for nfs-ganesha on nfsha ...")
    wait_until("nfs-ganesha to initialise on nfsha", ready, timeout=60, interval=0.1)


def wait_node_ready(lab: LabHandle, node: str) -> None:
    """The node booted: its serial port exists and both its addresses are up, the LAN on eth0.
    Up to heartbeat's own allowance for a slow boot (initdead; 30 s at least): the test
    matrix's emulated VM once took longer than a fixed 30 s with a second engine running."""
    wait_until(
        f"{node} to boot (init done, {SERIAL_DEVICE}, LAN address on eth0, serial network)",
        lambda: (Node(lab, node).booted(), "not yet"),
        timeout=max(30.0, lab.cfg.times.initdead), interval=0.1,
    )
