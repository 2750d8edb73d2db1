"""Bringing the lab's machines back after a fault, for either stack's heal: paused ones
resumed, stopped ones started, ganesha's own container restarted into a restarted nfsha's
network namespace; then NFS served and the nodes booted."""

from __future__ import annotations

from .engine.handle import LabHandle
from .model.config import CLIENT, NFS_SERVER, NODES
from .observe.state import wait_nfs, wait_node_ready


def wake(lab: LabHandle) -> None:
    nfs_restarted = False
    server = lab.topo.nfs_server  # nfsha, or ganesha's own container in nfsha's network namespace
    for host in dict.fromkeys((NFS_SERVER, server, *NODES, CLIENT)):
        c = lab.container(host)
        c.reload()
        if c.status == "paused":
            c.unpause()
        elif c.status in ("exited", "created", "dead"):
            c.start()
            nfs_restarted |= host in (NFS_SERVER, server)
        elif host == server != NFS_SERVER and nfs_restarted:
            c.restart(timeout=5)  # nfsha started again: ganesha must join its new network namespace
    if nfs_restarted:
        wait_nfs(lab)
    for node in NODES:
        wait_node_ready(lab, node)
