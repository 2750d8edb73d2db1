"""The lab's topology as plain data: which containers, on which networks, with which
addresses, capabilities and files. `lab up` and the compose project are both made from
this one model, so they cannot drift apart."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from .config import BMC_USER, CLIENT, NFS_SERVER, NODES, LabConfig, bmc_host
from .contract import LAB_DIR, SHARE_MOUNT

IMAGE_PREFIX = "heartbeat-lab/"
LAB_IMAGES = ("node", "nfs", "client", "bmc")

LAN = "lan"
SERIAL = "serial"
MGMT = "mgmt"
# The boards reach the engine through its socket, as a BMC reaches its machine's power
# supply; a board acts only on its own node's container (lab/images/bmc/chassis checks).
ENGINE_SOCKET = "/var/run/docker.sock"
SHARE = "share"

# Beyond docker's default set, each container gets only what its software needs.
NODE_CAPS = (
    "NET_ADMIN",  # IPaddr2 adds and removes the VIP; faults use iptables
    "NET_RAW",  # send_arp announces the VIP
    "SYS_NICE",  # heartbeat raises its scheduling priority
    "IPC_LOCK",  # heartbeat locks itself into memory
    "SYS_ADMIN",  # the Filesystem agent mounts /ha
)
NODE_SYSCTLS = {"net.ipv4.ip_forward": "0"}
NFS_CAPS = ("SYS_ADMIN", "DAC_READ_SEARCH")  # ganesha's VFS FSAL uses open_by_handle_at


@dataclass(frozen=True)
class NetworkSpec:
    key: str  # LAN, SERIAL or MGMT
    name: str
    subnet: str
    ip_range: str | None
    gateway: str | None
    internal: bool


@dataclass(frozen=True)
class ContainerSpec:
    host: str  # the lab's name of the host: ha1, ha2, nfsha, ha3, bmc-ha1, bmc-ha2
    name: str  # the container name, derived from the lab name
    role: str  # node, nfs, client, bmc
    image: str
    addresses: dict[str, str]  # network key -> IPv4 address; the first is eth0 (the LAN where there is one)
    cap_add: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    ports: dict[int, tuple[str, int]] = field(default_factory=dict)  # container port -> (host ip, port)
    volumes: dict[str, str] = field(default_factory=dict)  # volume key -> mount point
    lab_dir: str = LAB_DIR  # where the host's rendered folder for this container goes
    extra_hosts: dict[str, str] = field(default_factory=dict)
    binds: dict[str, str] = field(default_factory=dict)  # host path -> container path
    hostname: str = ""  # `uname -n` if not host: a node's name in a `lab up --from` ha.cf
    sysctls: dict[str, str] = field(default_factory=dict)

    @property
    def uname(self) -> str:
        return self.hostname or self.host


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
    # With boards, "mgmt" sorts between them: eth1 on the nodes, the serial network eth2.
    networks = (
        NetworkSpec(LAN, f"{cfg.name}-lan", cfg.lan_subnet, str(cfg.lan_dynamic_range), cfg.lan_gateway, False),
        *((NetworkSpec(MGMT, f"{cfg.name}-mgmt", cfg.mgmt_subnet, None, None, True),) if cfg.has_boards else ()),
        NetworkSpec(SERIAL, f"{cfg.name}-serial", cfg.serial_subnet, None, None, True),
    )
    hosts = {h: cfg.lan_ip(h) for h in (*NODES, NFS_SERVER, CLIENT)}
    hosts |= {cfg.hb_name(n): cfg.lan_ip(n) for n in NODES}  # the names heartbeat knows them by
    hosts[cfg.cluster] = cfg.vip  # the article resolves names through /etc/hosts
    if cfg.has_boards:
        hosts |= {bmc_host(n): cfg.mgmt_ip(bmc_host(n)) for n in NODES}
    mgmt = (lambda host: {MGMT: cfg.mgmt_ip(host)}) if cfg.has_boards else (lambda host: {})
    containers = []
    for node in NODES:
        containers.append(
            ContainerSpec(
                host=node,
                hostname=cfg.hb_name(node),
                name=cfg.container_name(node),
                role="node",
                image=image_name("node"),
                addresses={LAN: cfg.lan_ip(node), **mgmt(node), SERIAL: cfg.serial_ip(node)},
                cap_add=NODE_CAPS,
                devices=("/dev/fuse",) if cfg.nfs_client == "fuse" else (),
                # AppArmor's docker-default profile forbids mounts, FUSE and NFS alike
                security_opt=("apparmor:unconfined",) if apparmor_enabled() else (),
                env={"SERIAL_PEER": cfg.serial_ip(cfg.peer(node)), "SERIAL_PORT": str(cfg.serial_port)},
                # a server does not route (docker turns forwarding on in containers): a node
                # that gave the cluster address up must not pass on what clients still send it
                sysctls=NODE_SYSCTLS,
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
            addresses={LAN: cfg.lan_ip(CLIENT), **mgmt(CLIENT)},
            env={"CLUSTER_VIP": cfg.vip},
            ports={80: ("127.0.0.1", cfg.local_port)},
            extra_hosts=hosts,
        )
    )
    for node in NODES if cfg.has_boards else ():
        board = bmc_host(node)
        containers.append(
            ContainerSpec(
                host=board,
                name=cfg.container_name(board),
                role="bmc",
                image=image_name("bmc"),
                addresses={MGMT: cfg.mgmt_ip(board)},
                env={"BMC_LAB": cfg.name, "BMC_NODE": node, "BMC_TARGET": cfg.container_name(node),
                     "BMC_USER": BMC_USER, "BMC_PASSWORD": cfg.bmc_password},
                binds={ENGINE_SOCKET: ENGINE_SOCKET},
                extra_hosts=hosts,
            )
        )
    return Topology(networks=networks, containers=tuple(containers), volume_name=f"{cfg.name}-share")


def apparmor_enabled() -> bool:
    with contextlib.suppress(OSError):
        return Path("/sys/module/apparmor/parameters/enabled").read_text().strip() == "Y"
    return False
