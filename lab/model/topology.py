"""The lab's topology as plain data: which containers, on which networks, with which
addresses, capabilities and files. `lab up` and the compose project are both made from
this one model, so they cannot drift apart."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from .config import BMC_USER, BOARD_POST, CLIENT, NFS_DAEMON, NFS_SERVER, NODES, LabConfig, bmc_host
from .contract import EXPORTS_DROP, LAB_DIR, SHARE_MOUNT

IMAGE_PREFIX = "heartbeat-lab/"
LAB_IMAGES = ("node", "nfs", "client", "bmc")

LAN = "lan"
SERIAL = "serial"
MGMT = "mgmt"
# The boards reach the engine through its socket, as a BMC reaches its machine's power
# supply; a board acts only on its own node's container (images/bmc/chassis checks).
ENGINE_SOCKET = "/var/run/docker.sock"
SHARE = "share"
BRIDGE_PREFIX = "hlc"  # the bridges of labs on a user-namespaced engine (lab.engine.classengine)
EXPORTS = "exports"  # on a user-namespaced engine: nfsha's /etc/exports, handed to the NFS server

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
# On a user-namespaced engine ganesha runs apart from nfsha, in the host's user namespace, with
# only these (docker's default set dropped): open_by_handle_at (DAC_READ_SEARCH; and SYS_ADMIN:
# without it, measured here, ganesha's lookup of the export's handle fails with EPERM), files
# of any owner (DAC_OVERRIDE, FOWNER, CHOWN, FSETID), each client's uid and gid while it works
# (SETUID, SETGID), port 2049 (NET_BIND_SERVICE).
NFSD_CAPS = ("DAC_READ_SEARCH", "SYS_ADMIN", "DAC_OVERRIDE", "FOWNER", "CHOWN", "FSETID", "SETUID", "SETGID",
             "NET_BIND_SERVICE")


@dataclass(frozen=True)
class NetworkSpec:
    key: str  # LAN, SERIAL or MGMT
    name: str
    subnet: str
    ip_range: str | None
    gateway: str | None
    internal: bool
    bridge: str | None = None  # the Linux bridge's name (a user-namespaced engine's firewall matches it)


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
    net_of: str = ""  # the host whose network namespace this container shares (no networks of its own)
    host_userns: bool = False  # in the host's user namespace on a user-namespaced engine
    cap_drop: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()

    @property
    def uname(self) -> str:
        return self.hostname or self.host


@dataclass(frozen=True)
class Topology:
    networks: tuple[NetworkSpec, ...]
    containers: tuple[ContainerSpec, ...]
    volume_name: str
    volumes: dict[str, str] = field(default_factory=dict)  # volume key -> name
    share_owner: tuple[int, int] | None = None  # user-namespaced engine: the volumes are tmpfs its root owns

    def container(self, host: str) -> ContainerSpec:
        return next(c for c in self.containers if c.host == host)

    def network(self, key: str) -> NetworkSpec:
        return next(n for n in self.networks if n.key == key)

    @property
    def nfs_server(self) -> str:
        """The host whose container runs ganesha: nfsha, or its own container beside nfsha
        on a user-namespaced engine (stop-nfs stops it, the heal starts it)."""
        return NFS_DAEMON if any(c.host == NFS_DAEMON for c in self.containers) else NFS_SERVER


def image_name(kind: str) -> str:
    return f"{IMAGE_PREFIX}{kind}:latest"


def images_for(cfg: LabConfig) -> tuple[str, ...]:
    """The images a lab runs: the boards' only with --stonith ipmi (`lab up` builds no more)."""
    return tuple(k for k in LAB_IMAGES if k != "bmc" or cfg.has_boards)


def topology(cfg: LabConfig, userns_root: tuple[int, int] | None = None,
             engine_socket: str = ENGINE_SOCKET) -> Topology:
    """The containers and networks of the lab `cfg` describes (nfs_client resolved). On a
    user-namespaced engine (`userns_root`: the host uid and gid its containers' root has), ganesha
    serves from a container of its own (NFS_DAEMON) in the host's user namespace, inside
    nfsha's network namespace, and the share is a tmpfs: ganesha may then open by handle
    nothing but the share's own files. `engine_socket`: the engine's socket on its machine,
    which the boards drive their nodes' power through."""
    cfg.share_fstype  # noqa: B018 - raises unless nfs_client was resolved
    # The names sort "lan" before "serial": docker numbers the interfaces of a
    # container in that order after a restart, and heartbeat and IPaddr2 expect the LAN on eth0.
    # With boards, "mgmt" sorts between them: eth1 on the nodes, the serial network eth2.
    userns = userns_root is not None
    bridge = bridge_name if userns else (lambda name: None)
    networks = (
        NetworkSpec(LAN, f"{cfg.name}-lan", cfg.lan_subnet, str(cfg.lan_dynamic_range), cfg.lan_gateway, False,
                    bridge(f"{cfg.name}-lan")),
        *((NetworkSpec(MGMT, f"{cfg.name}-mgmt", cfg.mgmt_subnet, None, None, True, bridge(f"{cfg.name}-mgmt")),)
          if cfg.has_boards else ()),
        NetworkSpec(SERIAL, f"{cfg.name}-serial", cfg.serial_subnet, None, None, True, bridge(f"{cfg.name}-serial")),
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
            cap_add=() if userns else NFS_CAPS,
            volumes={SHARE: SHARE_MOUNT, **({EXPORTS: EXPORTS_DROP} if userns else {})},
            env={"NFS_SERVER_APART": "yes"} if userns else {},
            extra_hosts=hosts,
        )
    )
    if userns:
        containers.append(
            ContainerSpec(
                host=NFS_DAEMON,
                name=cfg.container_name(NFS_DAEMON),
                role="nfsd",
                image=image_name("nfs"),
                addresses={},
                net_of=NFS_SERVER,
                host_userns=True,
                cap_drop=("ALL",),
                cap_add=NFSD_CAPS,
                volumes={SHARE: SHARE_MOUNT, EXPORTS: EXPORTS_DROP},
                entrypoint=("/usr/local/sbin/nfs-serve",),
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
                     "BMC_USER": BMC_USER, "BMC_PASSWORD": cfg.bmc_password, "BMC_POST_SECONDS": f"{BOARD_POST:g}"},
                binds={engine_socket: ENGINE_SOCKET},
                host_userns=userns,  # the engine's socket is host root's: so is the board, out of trainees' reach
                extra_hosts=hosts,
            )
        )
    volumes = {SHARE: f"{cfg.name}-share", **({EXPORTS: f"{cfg.name}-exports"} if userns else {})}
    return Topology(networks=networks, containers=tuple(containers), volume_name=volumes[SHARE], volumes=volumes,
                    share_owner=userns_root)


def bridge_name(network: str) -> str:
    """A lab network's Linux bridge on a user-namespaced engine: BRIDGE_PREFIX, which that
    engine's firewall chain matches, and a digest of the network's name (15 characters)."""
    return BRIDGE_PREFIX + hashlib.sha1(network.encode()).hexdigest()[:10]


def apparmor_enabled() -> bool:
    with contextlib.suppress(OSError):
        return Path("/sys/module/apparmor/parameters/enabled").read_text().strip() == "Y"
    return False
