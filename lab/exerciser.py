"""ha3 as the exerciser of Linux-HA's Cluster Test Suite: root ssh to the nodes with a key
made for this lab at `lab up` (never baked into an image), the nodes' host keys known in
advance, and every node's syslog forwarded into one file on ha3 (CLUSTER_LOG)."""

from __future__ import annotations

from .engine.handle import LabHandle
from .model.contract import CLUSTER_LOG
from .errors import LabError
from .model.config import CLIENT, NODES
from .roles import client, node
from .waiting import wait_until



def install_keys(lab: LabHandle) -> None:
    """A new key pair on ha3, its public half authorized for root on ha1 and ha2, and their
    host keys in ha3's known_hosts; checked by running `true` on each node over ssh."""
    lab.sh(CLIENT, client.new_key_script(f"heartbeat-lab {lab.cfg.name} exerciser"), check=True)
    public = lab.read_file(CLIENT, f"{client.EXERCISER_KEY}.pub")
    known = []
    for n in NODES:
        lab.run(n, node.ssh_dir_argv(), check=True)
        lab.put_file(n, node.AUTHORIZED_KEYS, public, 0o600)
        kind, key = lab.read_file(n, node.HOST_KEY).decode().split()[:2]
        known.append(f"{n},{lab.cfg.lan_ip(n)} {kind} {key}\n")
    lab.put_file(CLIENT, client.KNOWN_HOSTS, "".join(known).encode(), 0o644)
    for n in NODES:
        res = lab.run(CLIENT, client.ssh_argv(n, "true"), timeout=15)
        if not res.ok:
            raise LabError(f"ha3 cannot ssh to {n} as root with the lab's key: expected exit 0, "
                           f"got {res.code}: {res.output.strip()[-300:]}. Is sshd running there "
                           f"(`lab shell {n}`, ps ax | grep sshd)?")


def logs_forwarded(lab: LabHandle, timeout: float = 10) -> None:
    """A line logged on each node reaches CLUSTER_LOG on ha3 with the node's name."""
    marks = {}
    for n in NODES:
        marks[n] = f"heartbeat-lab log check {n} {lab.cfg.name}"
        lab.run(n, node.logger_argv(marks[n]), check=True)

    def arrived() -> tuple[bool, str]:
        text = lab.read_file(CLIENT, CLUSTER_LOG).decode(errors="replace")
        missing = [n for n, m in marks.items() if not any(f" {n} " in line and m in line
                                                          for line in text.splitlines())]
        return not missing, f"no line from {', '.join(missing)} in {CLUSTER_LOG} on ha3"
    wait_until("the nodes' syslog to reach ha3", arrived, timeout=timeout, interval=0.2)
