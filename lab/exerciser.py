"""ha3 as the exerciser of Linux-HA's Cluster Test Suite: root ssh to the nodes with a key
made for this lab at `lab up` (never baked into an image), the nodes' host keys known in
advance, and every node's syslog forwarded into one file on ha3 (CLUSTER_LOG)."""

from __future__ import annotations

from .engine.handle import LabHandle
from .errors import LabError
from .model.config import CLIENT, NODES
from .waiting import wait_until

KEY = "/root/.ssh/id_ed25519"
CLUSTER_LOG = "/var/log/cluster.log"  # rsyslog on ha3 (lab/images/client/rsyslog.conf)


def install_keys(lab: LabHandle) -> None:
    """A new key pair on ha3, its public half authorized for root on ha1 and ha2, and their
    host keys in ha3's known_hosts; checked by running `true` on each node over ssh."""
    lab.sh(CLIENT, f"install -d -m 700 /root/.ssh && rm -f {KEY} {KEY}.pub && "
                   f"ssh-keygen -q -t ed25519 -N '' -C 'heartbeat-lab {lab.cfg.name} exerciser' -f {KEY}",
           check=True)
    public = lab.read_file(CLIENT, f"{KEY}.pub")
    known = []
    for node in NODES:
        lab.sh(node, "install -d -m 700 /root/.ssh", check=True)
        lab.put_file(node, "/root/.ssh/authorized_keys", public, 0o600)
        kind, key = lab.read_file(node, "/etc/ssh/ssh_host_ed25519_key.pub").decode().split()[:2]
        known.append(f"{node},{lab.cfg.lan_ip(node)} {kind} {key}\n")
    lab.put_file(CLIENT, "/root/.ssh/known_hosts", "".join(known).encode(), 0o644)
    for node in NODES:
        res = lab.sh(CLIENT, f"ssh {node} true", timeout=15)
        if not res.ok:
            raise LabError(f"ha3 cannot ssh to {node} as root with the lab's key: expected exit 0, "
                           f"got {res.code}: {res.output.strip()[-300:]}. Is sshd running there "
                           f"(`lab shell {node}`, ps ax | grep sshd)?")


def logs_forwarded(lab: LabHandle, timeout: float = 10) -> None:
    """A line logged on each node reaches CLUSTER_LOG on ha3 with the node's name."""
    marks = {}
    for node in NODES:
        marks[node] = f"heartbeat-lab log check {node} {lab.cfg.name}"
        lab.sh(node, f"logger -p local0.info '{marks[node]}'", check=True)

    def arrived() -> tuple[bool, str]:
        text = lab.read_file(CLIENT, CLUSTER_LOG).decode(errors="replace")
        missing = [n for n, m in marks.items() if not any(f" {n} " in line and m in line
                                                          for line in text.splitlines())]
        return not missing, f"no line from {', '.join(missing)} in {CLUSTER_LOG} on ha3"
    wait_until("the nodes' syslog to reach ha3", arrived, timeout=timeout, interval=0.2)
