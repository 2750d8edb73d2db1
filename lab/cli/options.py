"""Options several commands share: the lab's name and the configuration of `lab up`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..errors import ConfigError
from ..model import custom
from ..model.config import AUTH_METHODS, AUTO_FAILBACK, NFS_CLIENTS, STACKS, STONITH, TIMINGS, LabConfig
from ..model.allocate import DEFAULT_PORT_POOL, default_vip
from ..workshop.stages import STAGES

DEFAULT = LabConfig()
TIMERS = ("keepalive", "deadtime", "warntime", "initdead")
VIAS = ("ha3", "host")


def name_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default=os.environ.get("LAB_NAME", DEFAULT.name),
                   help=f"lab name (default {DEFAULT.name}, or $LAB_NAME)")


def named(cmd: str, name: str) -> str:
    """`lab VERB ...` as the user types it for lab `name`: with --name unless it is the default
    lab (or $LAB_NAME's)."""
    if name == os.environ.get("LAB_NAME", DEFAULT.name) or not cmd.startswith("lab "):
        return cmd
    verb, _, rest = cmd[4:].partition(" ")
    return f"lab {verb} --name {name}" + (f" {rest}" if rest else "")


def json_arg(p: argparse.ArgumentParser, what: str = "the result") -> None:
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON instead (progress on stderr)")


def print_json(obj: object) -> None:
    """One JSON document on stdout (what a script or CI job reads); values JSON has no type
    for (paths, for instance) as text."""
    print(json.dumps(obj, indent=2, default=str))


def via_arg(p: argparse.ArgumentParser) -> None:
    """Where a probe runs: the same option wherever there is one."""
    p.add_argument("--via", choices=VIAS, default=VIAS[0],
                   help="where the probe runs: ha3, the lab's client (default), or host, this machine at the "
                        "cluster URL")


def yes_arg(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("-y", "--yes", action="store_true", help=f"do not ask before {what}")


def confirm(question: str, yes: bool) -> None:
    """Ask before an action on several labs; refused without a terminal unless --yes."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfigError(f"{question}: no terminal to ask on; add --yes to go ahead")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise ConfigError("not confirmed: nothing was done")


def config_args(p: argparse.ArgumentParser) -> None:
    name_arg(p)
    p.add_argument("--timing", choices=sorted(TIMINGS), default=DEFAULT.timing,
                   help="heartbeat timers: article (keepalive 2, deadtime 60) or fast (keepalive 200ms, deadtime 2)")
    p.add_argument("--nfs-client", choices=NFS_CLIENTS, default=DEFAULT.nfs_client,
                   help="how nodes mount nfsha:/ha: the kernel's NFS client, or nfs4fuse (auto: kernel if it has NFS)")
    p.add_argument("--port", type=int, default=None,
                   help="publish the cluster URL on 127.0.0.1:PORT (default: the first free port of LAB_PORT_POOL, "
                        f"{DEFAULT_PORT_POOL}; 0 = any free port)")
    p.add_argument("--subnet", default=None, help="the LAN, a /24 (docker uses its lower half; default: the first "
                                                  "free pair of /24s in LAB_SUBNET_POOL)")
    p.add_argument("--vip", default=None, help="the cluster address, in the upper half of the LAN (default: .200)")
    p.add_argument("--serial-subnet", default=None, help="the network that carries the serial cable (default: "
                                                         "the /24 after the LAN's pair in the pool)")
    p.add_argument("--mgmt-subnet", default=None, help="the boards' management network, with --stonith ipmi "
                                                       "(default: the next free /24 in the pool)")
    p.add_argument("--stonith", choices=STONITH, default=DEFAULT.stonith,
                   help="fencing before a takeover: none (the article), ipmi (each node's management board, "
                        "cluster-glue's external/ipmi) or meatware (an operator confirms with meatclient -c NODE)")
    p.add_argument("--stack", choices=STACKS, default=DEFAULT.stack,
                   help="the cluster software: heartbeat (the article's haresources cluster) or pacemaker (the same "
                        "resources as a Pacemaker group on Corosync 3, the timers mapped; starts finished)")
    for timer in TIMERS:
        p.add_argument(f"--{timer}", type=float, metavar="SECONDS", help=f"override the profile's {timer}")
    p.add_argument("--auth", choices=AUTH_METHODS, default=DEFAULT.auth, help="authkeys method")
    p.add_argument("--auto-failback", choices=AUTO_FAILBACK, default=DEFAULT.auto_failback,
                   help=f"ha.cf's auto_failback: on (the article: the master takes its resources back when it "
                        f"returns), off, or legacy (default {DEFAULT.auto_failback})")
    stage_arg(p, DEFAULT.stage, "start at the beginning of this part of the article, every step before it done "
                                "by the lab's reference solution")


def from_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="from_dir", metavar="DIR",
                   help="run your own heartbeat files: DIR holds any of ha.cf, haresources, authkeys, resource.d/ "
                        "(scripts) and www/ (pages); the rest comes from the lab's defaults. Checked before anything "
                        "is created; ha.cf's node names become the hostnames, its timers replace --timing's")


def with_custom(cfg: LabConfig, a: argparse.Namespace) -> tuple[LabConfig, frozenset[str], str]:
    """`lab up --from DIR`: the config DIR's files imply, the addresses still left to the
    lab to pick, and what to print about the files (what the lab changed to run them)."""
    auto = auto_fields(a)
    if not getattr(a, "from_dir", None):
        return cfg, auto, ""
    given = [f"--{t}" for t in TIMERS if getattr(a, t) is not None]
    if given:
        raise ConfigError(f"{', '.join(given)} with --from: the timers are ha.cf's (keepalive, deadtime, warntime, "
                          "initdead); change them there")
    return custom.apply(a.from_dir, cfg, auto, place=a.subnet is None)


def stage_arg(p: argparse.ArgumentParser, default: str | None, help: str) -> None:
    p.add_argument("--stage", choices=[s.id for s in STAGES], default=default,
                   help=f"{help} (default {default or 'the stage the lab was started at'}): " +
                        "; ".join(f"{s.id}: {s.title}" for s in STAGES))


ADDRESS_OPTIONS = {"lan_subnet": "subnet", "vip": "vip", "serial_subnet": "serial_subnet",
                   "mgmt_subnet": "mgmt_subnet", "local_port": "port"}


def auto_fields(a: argparse.Namespace) -> frozenset[str]:
    """The addresses the options leave to the lab to pick (`lab up` allocates them)."""
    return frozenset(f for f, opt in ADDRESS_OPTIONS.items() if getattr(a, opt) is None)


def config_from(a: argparse.Namespace) -> LabConfig:
    """The LabConfig the options describe, validated and with its NFS client decided; an
    address not given is the default (which `lab up` replaces with a free one)."""
    given = {f: getattr(a, opt) for f, opt in ADDRESS_OPTIONS.items() if getattr(a, opt) is not None}
    if "lan_subnet" in given and "vip" not in given:  # the VIP follows a LAN that was given
        given["vip"] = default_vip(given["lan_subnet"])
    return LabConfig(name=a.name, timing=a.timing, nfs_client=a.nfs_client, **given, auth=a.auth,
                     auto_failback=a.auto_failback, stage=a.stage, stonith=a.stonith, stack=a.stack, **{t: getattr(a, t) for t in TIMERS}).resolved()
