"""Bring your own cluster (`lab up --from DIR`): a directory holding any of heartbeat's own
files (ha.cf, haresources, authkeys, resource.d/ scripts) and pages (www/), checked the way
heartbeat would check them and more, before anything is created, then adapted to the lab's
containers. What the directory lacks comes from the lab's defaults (the article's files).

Every problem names the file, the line and what to change. What the lab had to change to run
the files in containers (a medium's device or interface, an address, a distribution's script
name) is returned as a list of differences, each with its file and line, for `lab up` to print.

The node names of ha.cf become the two nodes' hostnames (heartbeat needs `uname -n` to match
a node line); the lab keeps calling the containers ha1 (the node haresources names) and ha2."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from . import hacf
from .config import CLIENT, NFS_SERVER, NODES, SHARE_EXPORT, LabConfig, Timing, check_timing
from .contract import HA_LOG, IPFAIL, SERIAL_DEVICE, SHARE_MOUNT

# ---- what heartbeat 3.0.6 accepts in ha.cf ---------------------------------------------------------
# heartbeat's config.c: its Directives[] and WLdirectives[] tables, and the communication
# plugins Debian's heartbeat ships (HBcomm: each is a directive of its own)
OPTION_DIRECTIVES = frozenset("""
node hopfudge keepalive deadtime deadping initdead warntime watchdog baud udpport logfacility
logfile debugfile nice_failback auto_failback rtprio hbgenmethod realtime debug normalpoll
msgfmt use_logd conn_logd_time use_apphbd log_badpack coredumps coreroot crm autojoin uuidfrom
compression compression_threshold traditional_compression env max_rexmit_delay
record_config_changes record_pengine_inputs enable_config_writes
stonith stonith_host apiauth respawn
""".split())
MEDIA_DIRECTIVES = frozenset("serial bcast mcast mcast6 ucast ucast6 ping ping6 ping_group".split())
ETHERNET = ("bcast", "mcast", "mcast6", "ucast", "ucast6")
PING = ("ping", "ping6", "ping_group")
DIRECTIVES = OPTION_DIRECTIVES | MEDIA_DIRECTIVES
# heartbeat's defaults where ha.cf is silent (config.c: init_config)
DEFAULT_KEEPALIVE, DEFAULT_DEADTIME = 1.0, 30.0

# The resource scripts the node image has, that haresources may name (heartbeat looks in
# /etc/ha.d/resource.d, then /etc/init.d). tests/e2e checks this list against the image.
IMAGE_RESOURCE_SCRIPTS = frozenset("""
AudibleAlarm Delay Filesystem ICP IPaddr IPaddr2 IPsrcaddr IPv6addr LVM LinuxSCSI MailTo OCF
Raid1 SendArp ServeRAID WAS WinPopup Xinetd apache apache2 db2 hto-mapfuncs ids portblock
""".split())
IMAGE_INIT_SCRIPTS = frozenset("apache-htcacheclean apache2 heartbeat hwclock.sh ipmievd kmod logd nfs-common "
                               "procps rpcbind ssh".split())
# other distributions' names of the lab's scripts
SCRIPT_ALIASES = {"httpd": "apache2"}
WEB_SERVERS = ("apache2",)  # a script that starts the web server the lab's probe asks
IP_AGENTS = ("IPaddr", "IPaddr2")

FILES = ("ha.cf", "haresources", "authkeys")
FOLDERS = {"resource.d": "resource scripts (installed into /etc/ha.d/resource.d)",
           "www": "pages served from the shared disk (/ha/www/html)"}
LAB_PAGE = "hostname.html"  # the lab's own page: it names the node that answers
HOSTNAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


@dataclass(frozen=True)
class Note:
    """A problem (refused) or a difference (changed to run in the lab), at a file's line."""

    file: str
    line: int | None
    text: str

    def __str__(self) -> str:
        return f"{self.file}{f':{self.line}' if self.line else ''}: {self.text}"


@dataclass
class Custom:
    """A checked directory, adapted to the lab: the files to install (text, mode) by their
    path under the lab's etc/, the LabConfig changes it implies, and the differences."""

    source: Path
    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    changes: dict[str, object] = field(default_factory=dict)
    differences: list[Note] = field(default_factory=list)
    given: tuple[str, ...] = ()  # which of FILES the directory held

    def config(self, cfg: LabConfig) -> LabConfig:
        return cfg.with_(**self.changes)

    def fixes(self) -> set[str]:
        """The addresses the files decide, which `lab up` must not pick from its pool: the
        VIP, and with it the LAN (and the serial network beside it) that holds it."""
        fixed = self.changes.keys() & {"lan_subnet", "serial_subnet", "vip"}
        return fixed | ({"lan_subnet", "serial_subnet"} if "vip" in fixed else set())


def load(source: str | Path, cfg: LabConfig, place: bool = True) -> Custom:
    """Check DIR against the lab `cfg` describes (its LAN, its NFS client: resolved) and
    adapt it. With `place` (no --subnet given), a cluster address outside the lab's LAN moves
    the LAN to the /24 around it, and the serial network to the /24 after. Raises
    ConfigError listing every problem, each with its file and line."""
    src = Path(source)
    if not src.is_dir():
        raise ConfigError(f"--from {source}: expected a directory holding ha.cf, haresources, authkeys, "
                          "resource.d/ or www/; there is no such directory")
    problems: list[Note] = []
    out = Custom(source=src.resolve())
    entries = sorted(p.name for p in src.iterdir())
    for name in entries:
        if name not in FILES and name not in FOLDERS and not name.startswith("."):
            guess = difflib.get_close_matches(name, [*FILES, *FOLDERS], n=1)
            problems.append(Note(name, None, "not a file the lab reads"
                                 + (f" (did you mean {guess[0]}?)" if guess else "")
                                 + f"; expected {', '.join(FILES)}, resource.d/ or www/"))
    scripts = _scripts(src / "resource.d", problems, out)
    _pages(src / "www", problems, out)
    out.given = tuple(f for f in FILES if (src / f).is_file())
    resources = (src / "haresources").read_text() if (src / "haresources").is_file() else None
    if resources is not None and place:
        cfg = _placed(cfg, resources, out)
    names = tuple(NODES)
    if (src / "ha.cf").is_file():
        names = _ha_cf((src / "ha.cf").read_text(), cfg, problems, out)
    if resources is not None:
        _haresources(resources, names, scripts, cfg, problems, out)
    elif names != tuple(NODES):
        problems.append(Note("haresources", None, f"missing: ha.cf names the nodes {' and '.join(names)}, and the "
                             "lab's own haresources names ha1; add a haresources naming one of yours"))
    if (src / "authkeys").is_file():
        _authkeys(src / "authkeys", problems, out)
    if problems:
        raise ConfigError(f"--from {source}: {len(problems)} problem(s); nothing was created:\n  - "
                          + "\n  - ".join(map(str, problems)))
    return out


# ---- ha.cf ----------------------------------------------------------------------------------------
def _lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, directive, value) of each directive line, as heartbeat reads them."""
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, value = line.replace("\t", " ").partition(" ")
            out.append((number, name, " ".join(value.split())))
    return out


def _ha_cf(text: str, cfg: LabConfig, problems: list[Note], out: Custom) -> tuple[str, ...]:
    """Check ha.cf; store the adapted file; return the two node names it declares."""
    lines = _lines(text)
    nodes: list[tuple[int, str]] = []
    timers: dict[str, tuple[int, float]] = {}
    replaced: dict[int, str | None] = {}  # line number -> new text (None: dropped)
    ethernet_seen = False
    for number, name, value in lines:
        if name == "udp":  # heartbeat's old alias
            name = "bcast"
        if name not in DIRECTIVES:
            guess = difflib.get_close_matches(name, sorted(DIRECTIVES), n=1)
            problems.append(Note("ha.cf", number, f"unknown directive {name!r}: heartbeat refuses to start "
                                 "(\"Illegal directive\")" + (f"; did you mean {guess[0]!r}?" if guess else "")))
            continue
        if name == "node":
            nodes += [(number, n) for n in value.split()]
        elif name in ("keepalive", "deadtime", "warntime", "initdead"):
            try:
                timers[name] = (number, hacf.seconds(value))
            except ValueError:
                problems.append(Note("ha.cf", number, f"{name} {value!r}: expected seconds (2, 0.5) or "
                                     "milliseconds (500ms)"))
        elif name == "crm" and value.lower() not in ("no", "off", "false", "0"):
            problems.append(Note("ha.cf", number, f"crm {value}: the lab runs heartbeat in haresources mode "
                                 "(release 1, the article's); write `crm no` or remove the line"))
        elif name == "autojoin" and value.lower() != "none":
            problems.append(Note("ha.cf", number, f"autojoin {value}: haresources mode needs `autojoin none` "
                                 "(heartbeat refuses the combination)"))
        elif name in ("stonith", "stonith_host"):
            problems.append(Note("ha.cf", number, f"{name}: fencing devices of your site do not exist in the lab; "
                                 "remove the line and start the lab with `--stonith ipmi` (emulated boards) "
                                 "or `--stonith meatware`"))
        elif name == "auto_failback":
            if value.lower() not in ("on", "off", "legacy"):
                problems.append(Note("ha.cf", number, f"auto_failback {value}: expected on, off or legacy"))
            else:
                out.changes["auto_failback"] = value.lower()
        elif name == "nice_failback":
            out.changes["auto_failback"] = "off" if value.lower() in ("on", "yes", "true", "1") else "legacy"
        elif name == "udpport":
            if not value.isdigit() or not 1 <= int(value) <= 65535:
                problems.append(Note("ha.cf", number, f"udpport {value}: expected a port number 1..65535"))
            else:
                out.changes["udpport"] = int(value)
        elif name == "baud":
            if value.isdigit():
                out.changes["baud"] = int(value)
            else:
                problems.append(Note("ha.cf", number, f"baud {value}: expected a number (19200)"))
        elif name == "serial":
            if value.split() != [SERIAL_DEVICE]:
                replaced[number] = f"serial\t{SERIAL_DEVICE}"
                out.differences.append(Note("ha.cf", number, f"serial {value} -> serial {SERIAL_DEVICE}: the lab's "
                                            "null-modem cable is each node's one serial port"))
        elif name in ETHERNET:
            if not ethernet_seen:
                new = "\n".join(f"ucast eth0 {cfg.lan_ip(n)}" for n in NODES)
                replaced[number] = new
                out.differences.append(Note("ha.cf", number, f"{name} {value} -> ucast on eth0 to both nodes' "
                                            "lab addresses: the lab's LAN is each node's eth0"))
                ethernet_seen = True
            else:
                replaced[number] = None
                out.differences.append(Note("ha.cf", number, f"{name} {value}: dropped, the first Ethernet "
                                            "medium already carries the heartbeats on the lab's one LAN"))
        elif name in PING:
            ping = cfg.lan_ip(CLIENT)
            if name != "ping" or value != ping:
                replaced[number] = f"ping\t{ping}"
                out.differences.append(Note("ha.cf", number, f"{name} {value} -> ping {ping}: ha3, the lab's "
                                            "client, is its ping node"))
        elif name in ("logfile", "debugfile", "logfacility", "use_logd"):
            if name == "logfile" and value != HA_LOG:
                replaced[number] = f"logfile\t{HA_LOG}"
                out.differences.append(Note("ha.cf", number, f"logfile {value} -> {HA_LOG}: the lab's audit and "
                                            "timeline read heartbeat's log there"))
            elif name == "use_logd" and value.lower() in ("yes", "on", "true", "1"):
                replaced[number] = "use_logd\tno"
                out.differences.append(Note("ha.cf", number, "use_logd yes -> no: the nodes run no ha_logd; "
                                            f"heartbeat writes {HA_LOG} itself"))
        elif name == "watchdog":
            replaced[number] = None
            out.differences.append(Note("ha.cf", number, f"watchdog {value}: dropped, a container has no "
                                        "watchdog device (and one would reboot the host)"))
        elif name == "respawn":
            words = value.split()
            if len(words) < 2:
                problems.append(Note("ha.cf", number, "respawn: expected `respawn USER PROGRAM`"))
            elif Path(words[1]).name != "ipfail":
                problems.append(Note("ha.cf", number, f"respawn {words[1]}: the nodes have no such program; "
                                     "the lab runs only ipfail (respawn hacluster " + IPFAIL + ")"))
            elif words[1] != IPFAIL:
                replaced[number] = f"respawn {words[0]} {IPFAIL} {' '.join(words[2:])}".rstrip()
                out.differences.append(Note("ha.cf", number, f"respawn {words[1]} -> {IPFAIL}: Debian's path"))
    # the nodes: exactly two, hostnames
    names = tuple(n for _, n in nodes)
    if len(names) != 2 or len(set(names)) != 2:
        where = nodes[0][0] if nodes else None
        problems.append(Note("ha.cf", where, f"node lines name {', '.join(names) or 'no node'}: the lab has two "
                             "cluster nodes; name exactly two (`node NAME` as `uname -n` prints it)"))
        names = tuple(NODES)
    for number, n in nodes:
        if not HOSTNAME_RE.match(n):
            problems.append(Note("ha.cf", number, f"node {n}: not a hostname (lowercase letters, digits, - and .)"))
        elif n in (NFS_SERVER, CLIENT) or n.startswith("bmc-"):
            problems.append(Note("ha.cf", number, f"node {n}: the lab's {n} is another machine; rename the node"))
    # the timers, with heartbeat's defaults, checked by heartbeat's rules
    t = _timing({k: v for k, (_, v) in timers.items()})
    for text_ in check_timing(t):
        key = text_.split()[0]
        problems.append(Note("ha.cf", timers.get(key, (None,))[0], text_))
    out.changes.update(keepalive=t.keepalive, deadtime=t.deadtime, warntime=t.warntime, initdead=t.initdead)
    if names != tuple(NODES):
        out.changes["node_names"] = names
    if not any(n in MEDIA_DIRECTIVES and n not in PING for _, n, _ in lines):
        problems.append(Note("ha.cf", None, "no heartbeat medium (serial, bcast, mcast, ucast): heartbeat refuses "
                             "to start (\"No heartbeat media defined\"); add `serial /dev/ttyS0` or `bcast eth0`"))
    adapted = []
    for number, raw in enumerate(text.splitlines(), 1):
        if number in replaced:
            new = replaced[number]
            adapted.append(f"# lab: was `{raw.strip()}`" + ("" if new is None else f"\n{new}"))
        else:
            adapted.append(raw)
    if not any(n == "logfile" for _, n, _ in lines):
        adapted.append(f"# lab: added, the lab's audit and timeline read heartbeat's log there\nlogfile\t{HA_LOG}")
        out.differences.append(Note("ha.cf", None, f"logfile {HA_LOG} added: the lab reads heartbeat's log there"))
    out.files["ha.cf"] = ("\n".join(adapted).rstrip("\n").encode() + b"\n", 0o644)
    return names


def _timing(given: dict[str, float]) -> Timing:
    """ha.cf's timers with heartbeat's own defaults for those it does not set."""
    keepalive = given.get("keepalive", DEFAULT_KEEPALIVE)
    deadtime = given.get("deadtime", DEFAULT_DEADTIME)
    warntime = given.get("warntime", deadtime / 2)
    if "initdead" in given:
        initdead = given["initdead"]
    elif deadtime > 10:
        initdead = deadtime
    else:
        initdead = 12.0 if deadtime < 6 else 2 * deadtime
    return Timing(keepalive=keepalive, deadtime=deadtime, warntime=warntime, initdead=initdead)


# ---- haresources ------------------------------------------------------------------------------------
def _groups(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, words) of each resource group: `#` comments, `\\` continues a line."""
    out: list[tuple[int, list[str]]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not pending:
            start = number
        cont = line.endswith("\\")
        pending += line.rstrip("\\").split()
        if not cont and pending:
            out.append((start, pending))
            pending = []
    if pending:
        out.append((start, pending))
    return out


def _haresources(text: str, names: tuple[str, ...], scripts: set[str], cfg: LabConfig,
                 problems: list[Note], out: Custom) -> None:
    groups = _groups(text)
    if not groups:
        problems.append(Note("haresources", None, "no resource group: expected a line `NODE RESOURCE...`"))
        return
    vip_group = None
    rewritten: list[tuple[int, list[str]]] = []  # (first line, the group as the lab runs it)
    for number, words in groups:
        node, resources = words[0], words[1:]
        if node not in names:
            problems.append(Note("haresources", number, f"node {node}: not a node of ha.cf ({' or '.join(names)}); "
                                 "a group's first word is the node that owns it by preference"))
        if not resources:
            problems.append(Note("haresources", number, f"{node}: a group with no resource"))
        new_words = [node]
        for word in resources:
            new_words.append(_resource(word, number, scripts, cfg, problems, out))
        ips = [w for w in new_words[1:] if _ip_of(w)]
        if ips and vip_group is None:
            vip_group = (number, node, new_words)
        if new_words != words:
            rewritten.append((number, new_words))
    if vip_group is None:
        problems.append(Note("haresources", groups[0][0], "no group takes an IP address: the lab's clients reach "
                             "the cluster at its floating address (IPaddr2::ADDRESS/PREFIX/eth0)"))
        return
    number, node, words = vip_group
    if not any(w.split("::")[0] in WEB_SERVERS for w in words[1:]):
        problems.append(Note("haresources", number, "the group with the cluster's address starts no web server: "
                             "the lab tells who serves by asking for hostname.html there; add apache2 (or httpd)"))
    vip = _ip_of(next(w for w in words[1:] if _ip_of(w)))
    out.changes["vip"] = vip
    if node in names:
        role = NODES[names.index(node)]
        out.changes["master"] = role
    adapted = text.splitlines()
    for number, new_words in reversed(rewritten):  # from the bottom: the line numbers above stay true
        adapted = _replace_group(adapted, number, new_words)
    out.files["haresources"] = ("\n".join(adapted).rstrip("\n").encode() + b"\n", 0o644)


def _placed(cfg: LabConfig, text: str, out: Custom) -> LabConfig:
    """The lab's LAN around haresources' first address, when it is outside the default one."""
    ip = next((_ip_of(w) for _, words in _groups(text) for w in words[1:] if _ip_of(w)), None)
    if ip is None or not _is_ip(ip) or ipaddress.IPv4Address(ip) in cfg.lan:
        return cfg
    lan = ipaddress.ip_network(f"{ip}/24", strict=False)
    serial = ipaddress.ip_network((int(lan.network_address) + 256, 24))
    out.changes.update(lan_subnet=str(lan), serial_subnet=str(serial))
    return cfg.with_(lan_subnet=str(lan), serial_subnet=str(serial), vip=ip)


def _ip_of(word: str) -> str | None:
    agent, _, rest = word.partition("::")
    if agent in IP_AGENTS:
        return rest.split("/")[0].split("::")[0]
    with_prefix = word.split("/")[0]
    try:
        ipaddress.IPv4Address(with_prefix)
        return with_prefix
    except ValueError:
        return None


def _resource(word: str, number: int, scripts: set[str], cfg: LabConfig, problems: list[Note],
              out: Custom) -> str:
    """Check one resource of a haresources group; return it as the lab runs it."""
    agent, _, args = word.partition("::")
    ip = _ip_of(word)
    if ip is not None:  # a bare address (IPaddr's shorthand) or IPaddr(2)::ADDRESS[/PREFIX[/IFACE]]
        if not _is_ip(ip):
            problems.append(Note("haresources", number, f"{word}: {ip!r} is not an IPv4 address"))
            return word
        lan, addr = cfg.lan, ipaddress.IPv4Address(ip)
        what = "" if word == ip else f"{word}: "  # the resource, when it is more than its address
        if addr not in lan:
            problems.append(Note("haresources", number, f"{what}{ip} is outside the lab's LAN {lan} (--subnet); "
                                 "leave --subnet out (the lab then takes the /24 around the address) or change "
                                 "the address"))
            return word
        if addr in cfg.lan_dynamic_range or addr == lan.broadcast_address:
            problems.append(Note("haresources", number, f"{what}{ip} is in the lower half of the LAN {lan}, where "
                                 "docker places containers (or is its broadcast address); pick one from "
                                 f"{lan.network_address + lan.num_addresses // 2} up"))
            return word
        new = f"IPaddr2::{ip}/{lan.prefixlen}/eth0"
        if new != word:
            out.differences.append(Note("haresources", number, f"{word} -> {new}: IPaddr2 on the lab's LAN, "
                                        f"eth0, /{lan.prefixlen}"))
        return new
    if agent == "Filesystem":
        fields = args.split("::")
        if len(fields) < 2:
            problems.append(Note("haresources", number, f"{word}: expected Filesystem::DEVICE::MOUNTPOINT[::FSTYPE"
                                 "[::OPTIONS]]"))
            return word
        device, mount = fields[0], fields[1]
        fstype = fields[2] if len(fields) > 2 else ""
        opts = fields[3] if len(fields) > 3 else "rw,hard"
        host, sep, export = device.partition(":")
        if not sep or export != SHARE_EXPORT or fstype not in ("nfs", "nfs4", ""):
            problems.append(Note("haresources", number, f"{word}: the lab's one shared disk is {NFS_SERVER}:"
                                 f"{SHARE_EXPORT} over NFS; write Filesystem::{NFS_SERVER}:{SHARE_EXPORT}::"
                                 f"{SHARE_MOUNT}::nfs::rw,hard"))
            return word
        if mount != SHARE_MOUNT:
            problems.append(Note("haresources", number, f"{word}: mount point {mount}: the lab serves its pages "
                                 f"from {SHARE_MOUNT}/www/html; mount the share at {SHARE_MOUNT}"))
            return word
        new = f"Filesystem::{cfg.share_source}::{SHARE_MOUNT}::{cfg.share_fstype}::{opts}"
        if new != word:
            why = []
            if host != NFS_SERVER:
                why.append(f"the NFS server is {NFS_SERVER}")
            if cfg.share_fstype != fstype:
                why.append(f"this kernel's NFS client is the lab's {cfg.share_fstype}"
                           if cfg.share_fstype != "nfs" else "nfs")
            out.differences.append(Note("haresources", number, f"{word} -> {new}" + (f": {'; '.join(why)}" if why
                                                                                        else "")))
        return new
    name = SCRIPT_ALIASES.get(agent, agent)
    if name != agent and agent not in scripts:
        out.differences.append(Note("haresources", number, f"{agent} -> {name}: Debian's name of the script"))
    if name not in scripts and name not in IMAGE_RESOURCE_SCRIPTS and name not in IMAGE_INIT_SCRIPTS:
        problems.append(Note("haresources", number, f"{agent}: no such resource script: not in the directory's "
                             "resource.d/, nor among the nodes' /etc/ha.d/resource.d and /etc/init.d scripts "
                             f"({', '.join(sorted(IMAGE_RESOURCE_SCRIPTS | IMAGE_INIT_SCRIPTS))}); add "
                             f"resource.d/{agent} (executable)"))
    return name + (f"::{args}" if args else "")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False


def _replace_group(lines: list[str], number: int, new: list[str]) -> list[str]:
    """haresources with the group starting at line `number` rewritten on one line (its old
    text kept as a comment)."""
    out = list(lines)
    end = number - 1
    while out[end].split("#", 1)[0].rstrip().endswith("\\"):
        end += 1
    old_text = [f"# lab: was `{ln}`" for ln in out[number - 1:end + 1]]
    out[number - 1:end + 1] = [*old_text, " ".join(new)]
    return out


# ---- authkeys, resource.d, www ----------------------------------------------------------------------
def _authkeys(path: Path, problems: list[Note], out: Custom) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        problems.append(Note("authkeys", None, f"mode {mode:o}: heartbeat refuses an authkeys file others can read; "
                             f"chmod 600 {path}"))
    lines = _lines(path.read_text())
    keys: dict[str, tuple[int, str, str]] = {}
    use = None
    for number, name, value in lines:
        if name == "auth":
            use = (number, value)
        elif name.isdigit():
            method, _, key = value.partition(" ")
            keys[name] = (number, method, key)
            if method not in ("sha1", "md5", "crc"):
                problems.append(Note("authkeys", number, f"method {method or '(none)'}: expected sha1, md5 or crc"))
            elif method != "crc" and not key:
                problems.append(Note("authkeys", number, f"{method} needs a key: `{name} {method} SECRET`"))
        else:
            problems.append(Note("authkeys", number, f"{name}: expected `auth N`, then `N METHOD [KEY]` lines"))
    if use is None:
        problems.append(Note("authkeys", None, "no `auth N` line: heartbeat does not know which key to use"))
    elif use[1] not in keys:
        problems.append(Note("authkeys", use[0], f"auth {use[1]}: no key line `{use[1]} METHOD KEY`"))
    else:
        out.changes["auth"] = keys[use[1]][1]
        if keys[use[1]][2]:
            out.changes["auth_key"] = keys[use[1]][2]
    out.files["authkeys"] = (path.read_bytes(), 0o600)


def _scripts(folder: Path, problems: list[Note], out: Custom) -> set[str]:
    found: set[str] = set()
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        rel = f"resource.d/{path.name}"
        if not path.is_file():
            problems.append(Note(rel, None, "not a file: resource.d/ holds scripts only"))
            continue
        if not os.access(path, os.X_OK):
            problems.append(Note(rel, None, f"not executable: heartbeat could not run it; chmod +x {path}"))
        found.add(path.name)
        out.files[rel] = (path.read_bytes(), 0o755)
    return found


def _pages(folder: Path, problems: list[Note], out: Custom) -> None:
    if not folder.is_dir():
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel == LAB_PAGE:
            problems.append(Note(f"www/{rel}", None, "hostname.html is the lab's own page (each node's, naming "
                                 "it, from its local disk): the lab tells who answers by it; remove it from www/"))
            continue
        out.files[f"www/{rel}"] = (path.read_bytes(), 0o644)


def page_file(cfg: LabConfig, name: str) -> Path | None:
    """A page a `lab up --from` directory serves instead of the lab's (www/NAME), if any."""
    path = Path(cfg.source) / "www" / name if cfg.source else None
    return path if path is not None and path.is_file() else None


def describe(custom: Custom) -> str:
    """What `lab up --from` prints: where the files came from and what the lab changed."""
    given = ", ".join(custom.given) or "none of ha.cf, haresources, authkeys"
    extra = sorted({f.split("/")[0] + "/" for f in custom.files if "/" in f})
    lines = [f"from {custom.source}: {given}" + (f", {', '.join(extra)}" if extra else "")
             + "; the rest from the lab's defaults"]
    if custom.differences:
        lines.append("changed to run in the lab's containers:")
        lines += [f"  {d}" for d in custom.differences]
    return "\n".join(lines)



def apply(source: str | Path, cfg: LabConfig, auto: frozenset[str], place: bool = True
          ) -> tuple[LabConfig, frozenset[str], str]:
    """`lab up --from DIR` and the plugin's --lab-from: the configuration DIR's files imply,
    the addresses still left to the lab to pick (`auto` less those the files fix), and what
    to print about the files (what the lab changed to run them). Problems are a ConfigError
    before anything exists."""
    own = load(source, cfg, place=place)
    return own.config(cfg).with_(source=str(own.source)).validate(), auto - own.fixes(), describe(own)
