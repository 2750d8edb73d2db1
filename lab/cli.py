"""`lab`: bring the article's cluster up, look at it, get a shell in it, take it down."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from . import images
from .cluster import Lab, LabError, docker_client, remove_lab, resolve_nfs_client
from .config import ALL_HOSTS, AUTH_METHODS, AUTO_FAILBACK, NFS_CLIENTS, NODES, TIMINGS, ConfigError, LabConfig
from .waiting import WaitTimeout

DEFAULT = LabConfig()


def _name(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default=os.environ.get("LAB_NAME", DEFAULT.name),
                   help=f"lab name (default {DEFAULT.name}, or $LAB_NAME)")


def _config_args(p: argparse.ArgumentParser) -> None:
    _name(p)
    p.add_argument("--timing", choices=sorted(TIMINGS), default=DEFAULT.timing,
                   help="heartbeat timers: article (keepalive 2, deadtime 60) or fast (keepalive 200ms, deadtime 2)")
    p.add_argument("--nfs-client", choices=NFS_CLIENTS, default=DEFAULT.nfs_client,
                   help="how nodes mount nfsha:/ha: the kernel's NFS client, or nfs4fuse (auto: kernel if it has NFS)")
    p.add_argument("--port", type=int, default=DEFAULT.local_port,
                   help=f"publish the cluster URL on 127.0.0.1:PORT (default {DEFAULT.local_port}; 0 = any free port)")
    p.add_argument("--subnet", default=DEFAULT.lan_subnet, help="the LAN (docker uses its lower half)")
    p.add_argument("--vip", default=DEFAULT.vip, help="the cluster address, in the upper half of the LAN")
    p.add_argument("--serial-subnet", default=DEFAULT.serial_subnet, help="the network that carries the serial cable")
    for timer in ("keepalive", "deadtime", "warntime", "initdead"):
        p.add_argument(f"--{timer}", type=float, metavar="SECONDS", help=f"override the profile's {timer}")
    p.add_argument("--auth", choices=AUTH_METHODS, default=DEFAULT.auth, help="authkeys method")
    p.add_argument("--auto-failback", choices=AUTO_FAILBACK, default=DEFAULT.auto_failback)


def _config(a: argparse.Namespace) -> LabConfig:
    return LabConfig(name=a.name, timing=a.timing, nfs_client=a.nfs_client, local_port=a.port,
                     lan_subnet=a.subnet, vip=a.vip, serial_subnet=a.serial_subnet, auth=a.auth,
                     auto_failback=a.auto_failback, keepalive=a.keepalive, deadtime=a.deadtime,
                     warntime=a.warntime, initdead=a.initdead).validate()


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="lab", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    p = sub.add_parser("up", help="build the images if needed and start the cluster, in the article's order")
    _config_args(p)
    p.add_argument("--keep-on-failure", action="store_true", help="leave a failed lab in place for inspection")

    p = sub.add_parser("down", help="remove the lab's containers, networks and volume")
    _name(p)
    p.add_argument("--all", action="store_true", help="remove every lab on this machine")

    p = sub.add_parser("status", help="who serves the cluster URL, and what each node holds")
    _name(p)
    p.add_argument("--json", action="store_true", help="one JSON object")

    p = sub.add_parser("shell", help="a root shell on a node")
    _name(p)
    p.add_argument("node", choices=ALL_HOSTS)

    p = sub.add_parser("logs", help="heartbeat's log (/var/log/ha-log) on ha1/ha2; the container log elsewhere")
    _name(p)
    p.add_argument("node", choices=ALL_HOSTS)
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("-n", "--lines", type=int, default=0, help="only the last N lines")

    from .faults import FAULTS

    p = sub.add_parser("fail", help="inject a fault: " + ", ".join(FAULTS),
                       description="\n".join(f"{f.name:15} {f.help}" for f in FAULTS.values()),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _name(p)
    p.add_argument("fault", choices=sorted(FAULTS))
    p.add_argument("node", nargs="?", choices=NODES, help="the node, for faults that take one")

    p = sub.add_parser("heal", help="undo every fault and give the resources back to the master")
    _name(p)

    p = sub.add_parser("audit", help="exactly one node holds the VIP, /ha and Apache; no ownership errors in ha-log")
    _name(p)

    from .scenario import SCENARIOS

    p = sub.add_parser("scenario", help="run a named scenario with the probe on and write its report",
                       description="\n".join(f"{n:14} {sc.help}" for n, sc in SCENARIOS.items()),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _name(p)
    p.add_argument("action", choices=["run", "list"])
    p.add_argument("scenario", nargs="?", choices=sorted(SCENARIOS))
    p.add_argument("--report", metavar="DIR", help="write timeline.png, report.html and report.json into DIR")
    p.add_argument("--from", dest="where", choices=["ha3", "host"], default="ha3", help="where the probe runs")

    p = sub.add_parser("probe", help="watch the cluster URL live: who answers, and every outage")
    _name(p)
    p.add_argument("--from", dest="where", choices=["ha3", "host"], default="ha3", help="where the probe runs")
    p.add_argument("--hz", type=float, default=20.0)
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (default: until Ctrl-C)")

    p = sub.add_parser("images", help="build the lab's images (skipped when nothing changed)")
    p.add_argument("--force", action="store_true", help="rebuild even if up to date")
    p.add_argument("--remove", action="store_true", help="remove the lab's images instead")

    p = sub.add_parser("compose", help="write a docker compose (v2) project of the lab")
    _config_args(p)
    p.add_argument("--out", default="compose/project", help="folder to write (default compose/project)")
    return ap


def cmd_up(a: argparse.Namespace) -> int:
    lab = Lab(_config(a)).up(keep_on_failure=a.keep_on_failure)
    st = lab.status()
    print(f"""
The cluster {lab.cfg.cluster!r} (lab {lab.cfg.name!r}, timing {lab.cfg.timing}, nfs client {lab.cfg.nfs_client}) is up.
{st['serving']} serves it.

  cluster URL at the VIP:  {st['url']}index.html   {st['url']}hostname.html
  in a browser:            {st['local_url']}index.html   {st['local_url']}hostname.html

Next steps (the article's test):
  lab status                     who serves, what each node holds
  lab shell ha1                  then: /etc/init.d/heartbeat stop   (ha2 takes over)
                                 and:  /etc/init.d/heartbeat start  (ha1 takes it back)
  lab logs ha1 -f                heartbeat's log, /var/log/ha-log
  make lab-down                  remove the lab
""")
    return 0


def cmd_down(a: argparse.Namespace) -> int:
    n = remove_lab(docker_client(), None if a.all else a.name)
    print(f"removed {n} object(s)" if n else f"nothing to remove for {'any lab' if a.all else repr(a.name)}")
    return 0


def cmd_status(a: argparse.Namespace) -> int:
    lab = Lab.attach(a.name)
    st = lab.status()
    if a.json:
        print(json.dumps(st, indent=2))
        return 0
    yn = {True: "yes", False: "no", None: "?"}
    print(f"lab {st['name']} (timing {st['timing']}, nfs client {st['nfs_client']})")
    print(f"  cluster URL  {st['url']}   served by: {st['serving'] or 'NOBODY (no answer)'}")
    print(f"  in a browser {st['local_url']}")
    print(f"  {'node':6} {'container':10} {'heartbeat':10} {'vip':5} {'/ha':5} apache")
    for node, s in st["nodes"].items():
        print(f"  {node:6} {s['container']:10} {yn[s['heartbeat']]:10} {yn[s['vip']]:5} "
              f"{yn[s['mounted']]:5} {yn[s['apache']]}")
    for problem in st["problems"]:
        print(f"  PROBLEM: {problem}")
    return 0


def cmd_shell(a: argparse.Namespace) -> int:
    lab = Lab.attach(a.name)
    name = lab.container(a.node).name
    docker = shutil.which("docker")
    if docker is None:
        raise LabError("`lab shell` needs the docker command line client; install docker.io (or docker-ce-cli)")
    os.execvp(docker, ["docker", "exec", "-it", name, "bash"])
    return 0


def cmd_logs(a: argparse.Namespace) -> int:
    lab = Lab.attach(a.name)
    c = lab.container(a.node)
    if a.node in NODES:
        argv = ["tail", *(["-F"] if a.follow else []), "-n", str(a.lines) if a.lines else "+1", "/var/log/ha-log"]
        if a.follow:
            for chunk in c.exec_run(argv, stream=True).output:
                sys.stdout.write(chunk.decode(errors="replace"))
                sys.stdout.flush()
        else:
            sys.stdout.write(lab.run(a.node, argv, timeout=10).output)
        return 0
    kw = {"tail": a.lines} if a.lines else {}
    if a.follow:
        for chunk in c.logs(stream=True, follow=True, **kw):
            sys.stdout.write(chunk.decode(errors="replace"))
            sys.stdout.flush()
    else:
        sys.stdout.write(c.logs(**kw).decode(errors="replace"))
    return 0


def cmd_fail(a: argparse.Namespace) -> int:
    from .faults import inject

    lab = Lab.attach(a.name)
    inject(lab, a.fault, a.node)
    print(f"fault {a.fault}{' on ' + a.node if a.node else ''} in place; `lab status` to watch, `lab heal` to undo")
    return 0


def cmd_heal(a: argparse.Namespace) -> int:
    from .faults import heal

    lab = Lab.attach(a.name)
    heal(lab)
    print(f"healed: {lab.cfg.master} serves again")
    return 0


def cmd_audit(a: argparse.Namespace) -> int:
    from .audit import audit

    result = audit(Lab.attach(a.name))
    print(result.report())
    return 0 if result.ok else 1


def cmd_scenario(a: argparse.Namespace) -> int:
    from .scenario import SCENARIOS, run

    if a.action == "list" or a.scenario is None:
        for n, sc in SCENARIOS.items():
            print(f"{n:14} {sc.help}")
        return 0 if a.action == "list" else 2
    lab = Lab.attach(a.name)
    result = run(lab, a.scenario, where=a.where, report_dir=Path(a.report) if a.report else None)
    print(f"scenario {a.scenario}:")
    for step in result["steps"]:
        out = step["outage_s"]
        print(f"  {step['label']:22} outage {'no recovery' if out is None else f'{out:.2f} s'}")
    s = result["summary"]
    print(f"  {s['requests']} requests ({s['rate_hz']} Hz) from {a.where}: {s['failure_windows']} failure window(s), "
          f"{s['failed_time_s']:.2f} s failed, served by {' -> '.join(s['served_by'])}")
    if "files" in result:
        print(f"  report: {result['files']['html']}  picture: {result['files']['png']}")
    return 0


def cmd_probe(a: argparse.Namespace) -> int:
    import time

    from .probe import Probe

    lab = Lab.attach(a.name)
    print(f"probing {lab.cfg.url}hostname.html from {a.where} at {a.hz:g} Hz; Ctrl-C to stop")
    start = time.monotonic()
    with Probe(lab, where=a.where, hz=a.hz) as p:
        shown, state, since = 0, None, start
        try:
            while not a.seconds or time.monotonic() - start < a.seconds:
                time.sleep(0.2)
                for s in p.samples[shown:]:
                    now = s.node if s.ok else s.result
                    if now != state:
                        if state is not None:
                            print(f"  {s.t - start:8.2f} s  {state} for {s.t - since:.2f} s -> {now}"
                                  + (f"  ({s.detail})" if s.detail else ""))
                        else:
                            print(f"  {s.t - start:8.2f} s  {now}")
                        state, since = now, s.t
                shown = len(p.samples)
        except KeyboardInterrupt:
            pass
    return 0


def cmd_images(a: argparse.Namespace) -> int:
    client = docker_client()
    if a.remove:
        images.remove_images(client)
    else:
        images.ensure_images(client, force=a.force)
    return 0


def cmd_compose(a: argparse.Namespace) -> int:
    from .compose import write_compose

    cfg = _config(a)
    path = write_compose(cfg, resolve_nfs_client(cfg.nfs_client), Path(a.out))
    print(f"wrote {path} and the files it mounts.\n"
          f"Build the images first (make images), then: docker compose -f {path} up -d")
    return 0


COMMANDS = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "shell": cmd_shell, "logs": cmd_logs,
            "fail": cmd_fail, "heal": cmd_heal, "audit": cmd_audit, "scenario": cmd_scenario, "probe": cmd_probe, "images": cmd_images, "compose": cmd_compose}


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    try:
        return COMMANDS[a.cmd](a)
    except ConfigError as exc:
        print(f"lab {a.cmd}: {exc}", file=sys.stderr)
        return 2
    except (LabError, WaitTimeout, images.ImageError) as exc:
        print(f"lab {a.cmd}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"lab {a.cmd}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
