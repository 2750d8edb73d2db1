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
import os
import stat
from pathlib import Path

from ..errors import ConfigError
from . import hacf
from .config import CLIENT, NFS_SERVER, NODES, LabConfig, Timing, check_timing
from .contract import HA_LOG, IPFAIL, SERIAL_DEVICE
# the image's script lists stay importable from here (the example project's test uses them)
from .custom_base import (DEFAULT_DEADTIME, DEFAULT_KEEPALIVE, DIRECTIVES, ETHERNET, FILES, FOLDERS,  # noqa: F401
                          HOSTNAME_RE, IMAGE_INIT_SCRIPTS, IMAGE_RESOURCE_SCRIPTS, LAB_PAGE, MEDIA_DIRECTIVES, PING,
                          Custom, Note)
from .custom_haresources import _haresources, _placed


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
def _ha_cf(text: str, cfg: LabConfig, problems: list[Note], out: Custom) -> tuple[str, ...]:
    """Check ha.cf; store the adapted file; return the two node names it declares."""
    lines = hacf.directive_lines(text)
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


# ---- authkeys, resource.d, www ----------------------------------------------------------------------
def _authkeys(path: Path, problems: list[Note], out: Custom) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        problems.append(Note("authkeys", None, f"mode {mode:o}: heartbeat refuses an authkeys file others can read; "
                             f"chmod 600 {path}"))
    read = hacf.authkeys(path.read_text())
    problems += [Note("authkeys", number, what) for number, what in read.problems]
    if read.method:
        out.changes["auth"] = read.method
        if read.key:
            out.changes["auth_key"] = read.key
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
