"""The lab's one typed configuration. Defaults follow the article; every value a workshop
might change is a field, validated once, before anything is created."""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .stack import STACKS, check_stack  # noqa: F401 - STACKS: the options' choices
from ..errors import ConfigError

NODES = ("ha1", "ha2")  # the article's cluster nodes; node lines must equal `uname -n`
NFS_SERVER = "nfsha"
NFS_DAEMON = "nfsd"  # ganesha's own container, beside nfsha, on a user-namespaced engine only
CLIENT = "ha3"
ALL_HOSTS = (*NODES, NFS_SERVER, CLIENT)

AUTH_METHODS = ("sha1", "md5", "crc")
AUTO_FAILBACK = ("on", "off", "legacy")
NFS_CLIENTS = ("auto", "kernel", "fuse")
# How the survivor fences its peer before taking over: not at all (the article), through the
# peer's management board (cluster-glue's external/ipmi), or by an operator (meatware).
STONITH = ("none", "ipmi", "meatware")
BMC_USER = "admin"  # the boards' IPMI user (the password is per lab: LabConfig.bmc_password)
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
SHARE_EXPORT = "/ha"  # the article's shared file system, exported by nfsha and mounted at /ha
# The fstype each NFS client mounts the share with: the kernel's, or the lab's userspace
# client nfs4fuse (mount.fuse3 runs `nfs4fuse nfsha:/ha /ha -o ...`).
FSTYPES = {"kernel": "nfs", "fuse": "fuse.nfs4fuse"}

# How long a takeover may take once heartbeat has reacted (a peer declared dead, a standby
# request): the resource agents' stops and starts in series (IPaddr2, Filesystem, apache2)
# and the client's first good answer. Measured by `make bench-load` (bench/LOAD.md) on a
# 2-core machine: 0.7-1.0 s on an idle host, up to 1.6 s with two other labs busy beside it,
# up to 3.7 s with four, the load the test suite's two workers reach at moments (their labs,
# a class of two starting, a browser, a wheel installed): the largest takeover after a hard
# kill at that load, rounded up to the half second; then 4.2 s on the class engine (run 42, a day
# the suite ran 20-40 % slower throughout): 5 s. heartbeat's own detection stayed within deadtime
# + a keepalive at every load: the seconds a load adds are the agents' (forks of shell scripts).
TAKEOVER_BUDGET = 5.0
# A fence through a board: ipmitool calls, each up to IPMI_CALL under the suite's load; two for
# cluster-glue's external/ipmi (status, reset); for Pacemaker's fence_ipmilan (off, then on) five
# (status; off, status; on, status) and its power_wait (default 2 s) after the off and the on.
IPMI_CALL, FENCE_IPMILAN_POWER_WAIT = 1.5, 2.0
FENCE_BUDGET = 2 * IPMI_CALL
# a board's machine runs its firmware's self-test before it boots (images/bmc/chassis): longer
# than a takeover under load, so that a master reset by its peer's fence comes back only once
# the peer has taken over (a real server's self-test takes a minute or more)
BOARD_POST = 8.0
RQSTDELAY = 10  # s: heartbeat's compiled-in wait for its peer's answer at start-up, `lab up`'s floor


@dataclass(frozen=True)
class Timing:
    """heartbeat's timers, in seconds (keepalive may be fractional: heartbeat accepts `ms`)."""

    keepalive: float
    deadtime: float
    warntime: float
    initdead: float


TIMINGS = {
    # Listing 6 of the article.
    "article": Timing(keepalive=2, deadtime=60, warntime=10, initdead=120),
    # Sub-second heartbeats for tests and workshops; initdead below 10 s only makes heartbeat warn.
    "fast": Timing(keepalive=0.2, deadtime=2, warntime=1, initdead=4),
}


def _secs(value: float) -> str:
    """heartbeat's time syntax: whole seconds, or milliseconds with `ms`."""
    if float(value).is_integer():
        return str(int(value))
    return f"{int(round(value * 1000))}ms"


@dataclass(frozen=True)
class LabConfig:
    name: str = "halab"  # the lab's name: its containers are NAME-ha1, NAME-ha2, NAME-nfsha, NAME-ha3
    timing: str = "article"  # heartbeat's timers: a profile of the table below
    nfs_client: str = "auto"  # auto is resolved to kernel or fuse once, by resolved()
    cluster: str = "ha"  # the cluster's name: the hostname of the VIP, shown in the pages
    master: str = "ha1"  # the node named in haresources
    lan_subnet: str = "172.29.80.0/24"  # the LAN, a /24: docker's addresses in its lower half
    vip: str = "172.29.80.200"  # the cluster address, in the LAN's upper half
    serial_subnet: str = "172.29.81.0/24"  # the network that carries the serial cable (socat), apart from the LAN
    mgmt_subnet: str = "172.29.82.0/24"  # the management network of the boards (--stonith ipmi only)
    stonith: str = "none"  # fencing before a takeover: none (the article), ipmi or meatware
    stack: str = "heartbeat"  # the cluster software: heartbeat (the article) or pacemaker (Corosync 3)
    bmc_password: str = field(default_factory=lambda: secrets.token_hex(6))  # the boards' IPMI password
    auth: str = "sha1"  # authkeys' method: sha1, md5 or crc (the article's)
    auth_key: str = field(default_factory=lambda: secrets.token_hex(16))  # authkeys' key
    auto_failback: str = "on"  # ha.cf's auto_failback: on (the article), off or legacy
    baud: int = 19200  # ha.cf's baud, the serial cable's speed
    udpport: int = 694  # ha.cf's udpport, heartbeat's on the LAN
    serial_port: int = 7000  # the UDP port socat carries the serial cable over, between the nodes
    local_port: int = 8080  # the cluster URL on the host's 127.0.0.1; 0 picks a free port
    stage: str = "failover"  # the workshop stage the lab starts (and resets) at: lab/workshop/stages.py
    classroom: str = ""  # the class the lab belongs to (`lab class`), if any
    engine: str = ""  # the docker context a class put the lab on ("default": DOCKER_HOST's engine)
    # heartbeat's timers, each overriding the timing profile's value when set (seconds)
    keepalive: float | None = None
    deadtime: float | None = None
    warntime: float | None = None
    initdead: float | None = None
    # the nodes' hostnames, as heartbeat knows them (ha.cf's node lines, `uname -n`): the lab
    # keeps calling the containers ha1 and ha2; `lab up --from DIR` takes DIR's ha.cf names
    node_names: tuple[str, ...] = NODES
    source: str = ""  # the directory `lab up --from` took heartbeat's files from, if any
    # the cluster address the files' haresources names, when the lab may run it at an address
    # of its own instead: if that address's LAN is taken on the engine when the lab starts
    # (the pytest plugin: several labs of one DIR on one engine, each worker its own)
    site_vip: str = ""

    # ---- derived values -------------------------------------------------------------
    @property
    def times(self) -> Timing:
        base = TIMINGS[self.timing]
        return Timing(**{k: getattr(self, k) if getattr(self, k) is not None else getattr(base, k)
                         for k in ("keepalive", "deadtime", "warntime", "initdead")})

    @property
    def lan(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.lan_subnet)

    @property
    def lan_dynamic_range(self) -> ipaddress.IPv4Network:
        """docker's ip-range: the lower half of the LAN. The VIP lives in the upper half."""
        return next(self.lan.subnets(prefixlen_diff=1))

    @property
    def lan_gateway(self) -> str:
        return str(self.lan.network_address + 1)

    def lan_ip(self, host: str) -> str:
        offsets = {"ha1": 11, "ha2": 12, NFS_SERVER: 20, CLIENT: 30}
        return str(self.lan.network_address + offsets[host])

    def serial_ip(self, node: str) -> str:
        net = ipaddress.IPv4Network(self.serial_subnet)
        return str(net.network_address + {"ha1": 11, "ha2": 12}[node])

    @property
    def has_boards(self) -> bool:
        """Each node has a management board (an IPMI BMC) on a management network."""
        return self.stonith == "ipmi"

    def mgmt_ip(self, host: str) -> str:
        """Addresses on the management network: the nodes and ha3 as on the LAN, each
        node's board at 100 + the node's number (bmc-ha1 .101, bmc-ha2 .102)."""
        offsets = {"ha1": 11, "ha2": 12, CLIENT: 30, **{bmc_host(n): 100 + i for i, n in enumerate(NODES, 1)}}
        return str(ipaddress.IPv4Network(self.mgmt_subnet).network_address + offsets[host])

    @property
    def prefixlen(self) -> int:
        return self.lan.prefixlen

    def hb_name(self, node: str) -> str:
        """The name heartbeat knows the node `node` (ha1, ha2) by: its hostname."""
        return self.node_names[NODES.index(node)]

    def hb_peer(self, node: str) -> str:
        """The name heartbeat knows the peer of `node` by."""
        return self.hb_name(self.peer(node))

    def role_of(self, name: str | None) -> str | None:
        """The lab's node (ha1, ha2) that heartbeat, or a page, calls `name`; None if none."""
        return NODES[self.node_names.index(name)] if name in self.node_names else None

    def peer(self, node: str) -> str:
        return NODES[1] if node == NODES[0] else NODES[0]

    @property
    def backup(self) -> str:
        return self.peer(self.master)

    def container_name(self, host: str) -> str:
        return f"{self.name}-{host}"

    @property
    def url(self) -> str:
        return f"http://{self.vip}/"

    @property
    def share_source(self) -> str:
        """The share as the article names it, in haresources and fstab: nfsha:/ha."""
        return f"{NFS_SERVER}:{SHARE_EXPORT}"

    @property
    def share_fstype(self) -> str:
        if self.nfs_client not in FSTYPES:
            raise ValueError(f"nfs client {self.nfs_client!r} not resolved: call LabConfig.resolved() first")
        return FSTYPES[self.nfs_client]

    # ---- bounds that follow from the timers ------------------------------------------
    @property
    def crash_takeover(self) -> tuple[float, float]:
        """The client-visible outage after the active node dies, from the configuration:
        heartbeat declares it dead deadtime after the last heartbeat it heard (up to one
        keepalive before the death), then takes the resources over within the budget."""
        t = self.times
        if self.stack == "pacemaker":  # Corosync: token lost (token = deadtime), then consensus (1.2 x token)
            return t.deadtime - t.keepalive, 2.2 * t.deadtime + TAKEOVER_BUDGET
        return t.deadtime - t.keepalive, t.deadtime + TAKEOVER_BUDGET

    @property
    def fenced_takeover(self) -> tuple[float, float]:
        """As crash_takeover, with the survivor resetting the dead node through its board first."""
        low, high = self.crash_takeover
        pcmk = 5 * IPMI_CALL + 2 * FENCE_IPMILAN_POWER_WAIT
        return low, high + (pcmk if self.stack == "pacemaker" else FENCE_BUDGET)

    @property
    def handover_limit(self) -> float:
        """A graceful move (heartbeat stop, hb_standby, failback): one releases, one acquires."""
        return 2 * TAKEOVER_BUDGET

    @property
    def failover_wait(self) -> float:
        """How long to wait for any takeover before calling it failed (a wait, not a claim)."""
        t = self.times
        return t.deadtime + t.warntime + 4 * TAKEOVER_BUDGET + 5

    @property
    def start_wait(self) -> float:
        """How long heartbeat's start-up may take: initdead, RQSTDELAY, then a takeover."""
        return self.failover_wait + self.times.initdead + RQSTDELAY

    @property
    def heal_budget(self) -> float:
        """How long `lab heal` may take after any fault of the catalogue: a node that
        declared its peer dead restarts heartbeat (a start-up round), then the resources
        come back to the master (a takeover, retried once past heartbeat's standby window)."""
        return self.start_wait + self.failover_wait

    # ---- (de)serialisation: the config travels as a label on the lab's LAN -----------
    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "LabConfig":
        fields = json.loads(text)
        if "node_names" in fields:
            fields["node_names"] = tuple(fields["node_names"])
        return cls(**fields)

    @classmethod
    def numbered(cls, name: str, net: int, **changes: object) -> "LabConfig":
        """A fast-timing lab placed by one number, as the tests and benchmarks place theirs
        side by side: LAN 172.29.NET.0/24 (VIP .200), serial 172.29.NET+1.0/24, any free
        local port."""
        return cls(name=name, timing="fast", local_port=0, lan_subnet=f"172.29.{net}.0/24", vip=f"172.29.{net}.200",
                   serial_subnet=f"172.29.{net + 1}.0/24").with_(**changes)

    def with_(self, **changes: object) -> "LabConfig":
        return replace(self, **changes)  # type: ignore[arg-type]

    def resolved(self) -> "LabConfig":
        """The validated config with nfs_client decided (auto: the kernel's client if this
        kernel has NFS, else nfs4fuse). Everything after this takes nfs_client as given."""
        self.validate()
        if self.nfs_client == "auto":
            return self.with_(nfs_client="kernel" if kernel_has_nfs() else "fuse")
        if self.nfs_client == "kernel" and not kernel_has_nfs():
            raise ConfigError(
                "nfs client 'kernel': this kernel has no NFS client (no nfs in /proc/filesystems); "
                "use --nfs-client fuse (the lab's userspace client) or auto"
            )
        return self

    # ---- validation -----------------------------------------------------------------
    def validate(self) -> "LabConfig":
        """Raise ConfigError naming every problem; return self when the config is sound."""
        problems = check_fields(self) + check_addresses(self)
        if problems:
            raise ConfigError("invalid lab configuration:\n  - " + "\n  - ".join(problems))
        return self


def check_addresses(cfg: LabConfig) -> list[str]:
    """The LAN, the serial network and the VIP: valid, apart, and the VIP where clients reach it."""
    try:
        lan = ipaddress.IPv4Network(cfg.lan_subnet)
        serial = ipaddress.IPv4Network(cfg.serial_subnet)
    except ValueError as exc:
        return [f"subnet: {exc} (expected an IPv4 network such as 172.29.80.0/24)"]
    problems = []
    if cfg.has_boards:
        try:
            mgmt = ipaddress.IPv4Network(cfg.mgmt_subnet)
        except ValueError as exc:
            return [f"management subnet: {exc} (expected an IPv4 network such as 172.29.82.0/24)"]
        if mgmt.prefixlen > 24:
            problems.append(f"management subnet {mgmt}: expected a /24 or larger (the boards are .101 and .102)")
        for other, what in ((lan, "LAN"), (serial, "serial network")):
            if mgmt.overlaps(other):
                problems.append(f"management subnet {mgmt} overlaps the {what} {other}: the boards need a "
                                "network of their own")
    if not 16 <= lan.prefixlen <= 28:
        problems.append(f"LAN subnet {lan}: expected a prefix between /16 and /28")
    if lan.overlaps(serial):
        problems.append(f"serial subnet {serial} overlaps the LAN {lan}: the cable must not ride on the LAN")
    try:
        vip = ipaddress.IPv4Address(cfg.vip)
    except ValueError:
        return problems + [f"VIP {cfg.vip!r}: expected an IPv4 address"]
    if vip not in lan:
        problems.append(f"VIP {vip}: outside the LAN subnet {lan}; clients on the LAN could not reach it")
    elif vip in cfg.lan_dynamic_range:
        problems.append(
            f"VIP {vip}: inside docker's dynamic range {cfg.lan_dynamic_range}; docker could hand it "
            f"to a container. Pick an address in the upper half of {lan}"
        )
    elif vip in (lan.network_address, lan.broadcast_address):
        problems.append(f"VIP {vip}: the network or broadcast address of {lan}")
    return problems


def check_timing(t: Timing) -> list[str]:
    """heartbeat's own rules for ha.cf timers, checked before heartbeat refuses them."""
    problems = []
    if t.keepalive <= 0:
        problems.append(f"keepalive {t.keepalive}: expected a positive time")
    if t.deadtime <= 2 * t.keepalive:
        problems.append(
            f"deadtime {_secs(t.deadtime)} must be above 2 x keepalive ({_secs(2 * t.keepalive)}); "
            "heartbeat refuses to start otherwise"
        )
    if t.initdead < t.deadtime:
        problems.append(f"initdead {_secs(t.initdead)} must be at least deadtime ({_secs(t.deadtime)})")
    if not t.keepalive <= t.warntime <= t.deadtime:
        problems.append(
            f"warntime {_secs(t.warntime)}: expected between keepalive ({_secs(t.keepalive)}) "
            f"and deadtime ({_secs(t.deadtime)})"
        )
    return problems


def kernel_has_nfs(filesystems: Path = Path("/proc/filesystems")) -> bool:
    """The containers share the host's kernel: the kernel NFS client works only if it has one."""
    try:
        fs = filesystems.read_text().split()
    except OSError:
        return False
    return "nfs" in fs or "nfs4" in fs


def bmc_host(node: str) -> str:
    """The hostname of a node's management board."""
    return f"bmc-{node}"


def check_node(name: str, allowed: tuple[str, ...] = ALL_HOSTS) -> str:
    if name not in allowed:
        raise ConfigError(f"unknown node {name!r}: expected one of {', '.join(allowed)}")
    return name


def check_fields(cfg: LabConfig) -> list[str]:
    """Every problem of a configuration's own fields (its addresses: check_addresses)."""
    problems: list[str] = []

    if not NAME_RE.match(cfg.name):
        problems.append(
            f"lab name {cfg.name!r}: expected a lowercase letter then up to 30 of [a-z0-9-] "
            "(it prefixes container, network and volume names)"
        )
    if cfg.timing not in TIMINGS:
        problems.append(f"timing {cfg.timing!r}: expected one of {', '.join(TIMINGS)}")
    else:
        problems += check_timing(cfg.times)
    if cfg.nfs_client not in NFS_CLIENTS:
        problems.append(f"nfs client {cfg.nfs_client!r}: expected one of {', '.join(NFS_CLIENTS)}")
    if cfg.master not in NODES:
        problems.append(f"master node {cfg.master!r}: unknown node, expected one of {', '.join(NODES)}")
    if cfg.auth not in AUTH_METHODS:
        problems.append(f"auth {cfg.auth!r}: expected one of {', '.join(AUTH_METHODS)}")
    if cfg.auth != "crc" and not re.fullmatch(r"[A-Za-z0-9._-]{8,}", cfg.auth_key):
        problems.append("auth key: expected at least 8 characters of [A-Za-z0-9._-]")
    if cfg.auto_failback not in AUTO_FAILBACK:
        problems.append(f"auto_failback {cfg.auto_failback!r}: expected one of {', '.join(AUTO_FAILBACK)}")
    if not re.fullmatch(r"[a-z][a-z0-9.-]*", cfg.cluster):
        problems.append(f"cluster name {cfg.cluster!r}: expected a hostname")
    for what, port, low in (("udpport", cfg.udpport, 1), ("serial port", cfg.serial_port, 1),
                            ("local port", cfg.local_port, 0)):
        if not low <= port <= 65535:
            problems.append(f"{what} {port}: expected {low}..65535")
    if cfg.stonith not in STONITH:
        problems.append(f"stonith {cfg.stonith!r}: expected one of {', '.join(STONITH)}")
    if not re.fullmatch(r"[A-Za-z0-9]{4,16}", cfg.bmc_password):
        problems.append("board password: expected 4 to 16 letters or digits (IPMI allows 16 at most)")
    if len(cfg.node_names) != 2 or len(set(cfg.node_names)) != 2:
        problems.append(f"node names {', '.join(cfg.node_names)}: expected two different hostnames")
    return problems + check_stack(cfg)

