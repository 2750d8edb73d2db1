"""The lab's topology as plain data: which containers, on which networks, with which
addresses, capabilities and files. `lab up` and the compose project are both made from
this one model, so they cannot drift apart."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from .config import CLIENT, NFS_SERVER, NODES, LabConfig
from .contract import LAB_DIR, SHARE_MOUNT

IMAGE_PREFIX = "heartbeat-lab/"
LAB_IMAGES = ("node", "nfs", "client")

LAN = "lan"
SERIAL = "serial"
SHARE = "share"

# Beyond docker's default set, each container gets only what its software needs.
NODE_CAPS = (
    "NET_ADMIN",  # IPaddr2 adds and removes the VIP; faults use iptables
    "NET_RAW",  # send_arp announces the VIP
    "SYS_NICE",  # heartbeat raises its scheduling priority
    "IPC_LOCK",  # heartbeat locks itself into memory
    "SYS_ADMIN",  # the Filesystem agent mounts /ha
)
NFS_CAPS = ("SYS_ADMIN", "DAC_READ_SEARCH")  # ganesha's VFS FSAL uses open_by_handle_at


@dataclass(frozen=True)
class NetworkSpec:
    key: str  # LAN or SERIAL
    name: str
    subnet: str
    ip_range: str | None
    gateway: str | None
    internal: bool


@dataclass(frozen=True)
class ContainerSpec:
    host: str  # the hostname: ha1, ha2, nfsha, ha3
    name: str  # the container name, derived from the lab name
    role: str  # node, nfs, client
    image: str
    addresses: dict[str, str]  # network key -> IPv4 address; the LAN comes first (eth0)
    cap_add: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    ports: dict[int, tuple[str, int]] = field(default_factory=dict)  # container port -> (host ip, port)
    volumes: dict[str, str] = field(default_factory=dict)  # volume key -> mount point
    lab_dir: str = LAB_DIR  # where the host's rendered folder for this container goes
    extra_hosts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Topology:
    networks: tuple[NetworkSpec, ...]
    containers: tuple[ContainerSpec, ...]
    volume_name: str

    def container(self, host: str) -> ContainerSpec:
        return next(c for c in self.containers if c.host == host)

    def network(self, key: str) -> NetworkSpec:
        return next(n for n in self.networks if n.key == key)


def image_name(kind: str) -> str:
    return f"{IMAGE_PREFIX}{kind}:latest"


def topology(cfg: LabConfig) -> Topology:
    """The containers and networks of the lab `cfg` describes (nfs_client resolved)."""
    cfg.share_fstype  # noqa: B018 - raises unless nfs_client was resolved
    # The names sort "lan" before "serial": docker numbers the interfaces of a
    # container in that order after a restart, and heartbeat and IPaddr2 expect the LAN on eth0.
    networks = (
        NetworkSpec(LAN, f"{cfg.name}-lan", cfg.lan_subnet, str(cfg.lan_dynamic_range), cfg.lan_gateway, False),
        NetworkSpec(SERIAL, f"{cfg.name}-serial", cfg.serial_subnet, None, None, True),
    )
    hosts = {h: cfg.lan_ip(h) for h in (*NODES, NFS_SERVER, CLIENT)}
    hosts[cfg.cluster] = cfg.vip  # the article resolves names through /etc/hosts
    containers = []
    for node in NODES:
        containers.append(
            ContainerSpec(
                host=node,
                name=cfg.container_name(node),
                role="node",
                image=image_name("node"),
                addresses={LAN: cfg.lan_ip(node), SERIAL: cfg.serial_ip(node)},
                cap_add=NODE_CAPS,
                devices=("/dev/fuse",) if cfg.nfs_client == "fuse" else (),
                # AppArmor's docker-default profile forbids mounts, FUSE and NFS alike
                security_opt=("apparmor:unconfined",) if apparmor_enabled() else (),
                env={"SERIAL_PEER": cfg.serial_ip(cfg.peer(node)), "SERIAL_PORT": str(cfg.serial_port)},
                extra_hosts=hosts,
            )
        )
    containers.append(
        ContainerSpec(
            host=NFS_SERVER,
            name=cfg.container_name(NFS_SERVER),
            role="nfs",
            image=image_name("nfs"),
            addresses={LAN: cfg.lan_ip(NFS_SERVER)},
            cap_add=NFS_CAPS,
            volumes={SHARE: SHARE_MOUNT},
            extra_hosts=hosts,
        )
    )
    containers.append(
        ContainerSpec(
            host=CLIENT,
            name=cfg.container_name(CLIENT),
            role="client",
            image=image_name("client"),
            addresses={LAN: cfg.lan_ip(CLIENT)},
            env={"CLUSTER_VIP": cfg.vip},
            ports={80: ("127.0.0.1", cfg.local_port)},
            extra_hosts=hosts,
        )
    )
    return Topology(networks=networks, containers=tuple(containers), volume_name=f"{cfg.name}-share")


def apparmor_enabled() -> bool:
    with contextlib.suppress(OSError):
        return Path("/sys/module/apparmor/parameters/enabled").read_text().strip() == "Y"
    return False
