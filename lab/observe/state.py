"""What the lab looks like right now: what each node holds, who serves the cluster URL,
the problems a user should see; and the waits for those states."""

from __future__ import annotations

from datetime import datetime, timezone

import requests

from ..engine.handle import LabHandle
from ..model.config import CLIENT, NFS_SERVER, NODES
from ..model.contract import BOOTED_MARK, HA_LOG, HEARTBEAT_PROCESS, SERIAL_DEVICE, SHARE_MOUNT
from ..model.render import serving_node
from ..waiting import wait_until

NodeState = dict  # {"container": str, "heartbeat", "vip", "mounted", "apache": bool}
RESOURCES = ("vip", "mounted", "apache")


# ---- the cluster URL, as a client sees it ----------------------------------------------------
def fetch(lab: LabHandle, path: str = "hostname.html", via: str = "vip", timeout: float = 2.0) -> tuple[int, str]:
    """GET a page of the cluster URL: from the host at the VIP ("vip"), at the 127.0.0.1
    publication ("local"), or from the client node with curl ("ha3"). Where the host cannot
    reach the VIP (a rootless engine), "vip" goes through the 127.0.0.1 publication: ha3
    forwards it to the VIP."""
    if via == "vip" and not lab.vip_from_host:
        via = "local"
    if via == CLIENT:
        res = lab.run(CLIENT, ["curl", "-s", "-m", f"{timeout:g}", "-w", "\n%{http_code}",
                               f"{lab.cfg.url}{path}"], timeout=timeout + 5)
        body, _, code = res.output.rpartition("\n")
        return int(code or 0), body
    base = lab.cfg.url if via == "vip" else local_url(lab)
    r = requests.get(f"{base}{path}", timeout=timeout)
    return r.status_code, r.text


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
    try:
        code, body = fetch(lab, "hostname.html", via=via)
    except requests.RequestException:
        return None
    name = serving_node(body) if code == 200 else None
    return lab.cfg.role_of(name) or name  # the page names the node's hostname


def wait_serving(lab: LabHandle, node: str, timeout: float) -> None:
    lab.say(f"waiting for {node} to serve {lab.cfg.url} (up to {timeout:.0f} s"
            f"{'' if lab.vip_from_host else ', through ha3: the VIP is not reachable from this machine'}) ...")

    def check() -> tuple[bool, str]:
        who = who_serves(lab)
        return who == node, f"hostname.html names {who}" if who else "no answer at the VIP"

    wait_until(f"{node} to serve the cluster URL", check, timeout=timeout, interval=0.1)


# ---- the nodes ------------------------------------------------------------------------------------
def node_state(lab: LabHandle, node: str) -> NodeState:
    """What a node holds: heartbeat running, the VIP, the /ha mount, Apache."""
    status = lab.container_status(node)
    if status != "running":
        return {"container": status, "heartbeat": False, "vip": False, "mounted": False, "apache": False}
    script = (
        f"pgrep -f '{HEARTBEAT_PROCESS}' >/dev/null && echo heartbeat=1 || echo heartbeat=0; "
        f"ip -4 -o addr show dev eth0 | grep -q ' {lab.cfg.vip}/' && echo vip=1 || echo vip=0; "
        f"awk '$2==\"{SHARE_MOUNT}\"{{m=1}} END{{print \"mounted=\" (m?1:0)}}' /proc/mounts; "
        "pgrep -x apache2 >/dev/null && echo apache=1 || echo apache=0"
    )
    state: NodeState = {"container": "running"}
    for line in lab.sh(node, script, timeout=10).output.split():
        key, _, val = line.partition("=")
        state[key] = val == "1"
    if len(state) < 5:  # the node went down (a power cut, a fence) while it was asked
        return {"heartbeat": False, "vip": False, "mounted": False, "apache": False, **state,
                "container": lab.container_status(node)}
    return state


def peer_status(lab: LabHandle, node: str) -> str:
    """How heartbeat on `node` sees its peer (`cl_status nodestatus`): active, dead, ..."""
    return lab.run(node, ["cl_status", "nodestatus", lab.cfg.hb_peer(node)], timeout=10).output.strip()


def link_status(lab: LabHandle, node: str, link: str) -> str:
    """How heartbeat on `node` sees one medium to its peer (`cl_status hblinkstatus`): up, dead."""
    return lab.run(node, ["cl_status", "hblinkstatus", lab.cfg.hb_peer(node), link], timeout=10).output.strip()


def heartbeat_running(lab: LabHandle, node: str) -> bool:
    return lab.run(node, ["pgrep", "-f", HEARTBEAT_PROCESS], timeout=10).ok


def in_transition(lab: LabHandle, node: str) -> bool:
    """heartbeat is acquiring or releasing resources on the node right now: its resource
    scripts run, or it says so itself (`cl_status rscstatus` is "transition")."""
    # one exec, not three: the waits poll this on every node several times a second, and
    # each exec costs the engine more CPU than the check itself (bench/LOAD.md)
    script = ("pgrep -f '[R]esourceManager|[h]b_standby|[h]b_takeover|[r]eq_resource' >/dev/null && exit 0; "
              f"pgrep -f '{HEARTBEAT_PROCESS}' >/dev/null || exit 1; "
              "[ \"$(cl_status rscstatus 2>/dev/null)\" = transition ]")
    return lab.sh(node, script, timeout=10).ok


def settled(lab: LabHandle) -> bool:
    """No running node is in the middle of a resource transition."""
    return not any(in_transition(lab, n) for n in NODES if lab.container_status(n) == "running")


def ha_log(lab: LabHandle, node: str, lines: int | None = None) -> str:
    cmd = ["tail", "-n", str(lines), HA_LOG] if lines else ["cat", HA_LOG]
    return lab.run(node, cmd, timeout=10).output


def status(lab: LabHandle) -> dict:
    nodes = {n: node_state(lab, n) for n in NODES}
    serving = who_serves(lab)
    return {
        "name": lab.cfg.name,
        "timing": lab.cfg.timing,
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
    }


# heartbeat's lines on fencing its peer (hb_resource.c, cluster-glue's plugins)
FENCE_LINE = r"Resetting node|now reset|not reset|STONITH of .* failed|OPERATOR INTERVENTION|meatclient"


def last_fence(lab: LabHandle, node: str) -> str | None:
    """heartbeat's last line on fencing in the node's ha-log since heartbeat last started
    (resetting the peer, done, failed, or waiting for an operator), or None."""
    out = lab.sh(node, f"tac {HA_LOG} 2>/dev/null | sed '/Configuration validated. Starting heartbeat/q' | "
                       f"grep -m1 -E '{FENCE_LINE}' || true", timeout=10).output.strip()
    return out or None


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
    c = lab.container(NFS_SERVER)

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
    """The node booted: its serial port exists and both its addresses are up, the LAN on eth0."""
    script = (f"test -e {BOOTED_MARK} && test -e {SERIAL_DEVICE} "
              f"&& ip -4 -o addr show dev eth0 | grep -q ' {lab.cfg.lan_ip(node)}/' "
              f"&& ip -4 -o addr show | grep -q ' {lab.cfg.serial_ip(node)}/'")
    wait_until(
        f"{node} to boot (init done, {SERIAL_DEVICE}, LAN address on eth0, serial network)",
        lambda: (lab.sh(node, script, timeout=5).ok, "not yet"),
        timeout=30, interval=0.1,
    )
