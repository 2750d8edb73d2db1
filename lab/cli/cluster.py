"""lab up, down, status, shell, logs."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from .. import inventory, provision
from ..roles import board
from ..engine.handle import LabHandle, docker_client, say_stderr
from ..errors import LabError
from ..model.config import ALL_HOSTS, NODES
from ..model.contract import HA_LOG, MESSAGES
from ..observe.state import status
from ..workshop.stages import FINAL, find_stage
from .options import config_args, config_from, from_arg, name_arg, with_custom


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("up", help="build the images if needed and start the cluster, in the article's order")
    config_args(p)
    from_arg(p)
    p.add_argument("--keep-on-failure", action="store_true", help="leave a failed lab in place for inspection")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("down", help="remove the lab's containers, networks and volume")
    name_arg(p)
    p.add_argument("--all", action="store_true", help="remove every lab on this machine")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("ls", help="every lab on the engine: stage, step progress, URLs, who serves, problems")
    p.add_argument("--json", action="store_true", help="one JSON list")
    p.add_argument("--no-progress", action="store_true", help="skip the workshop checks (faster)")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("status", help="who serves the cluster URL, and what each node holds")
    name_arg(p)
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("shell", help="a root shell on a node")
    name_arg(p)
    p.add_argument("node", choices=ALL_HOSTS)
    p.set_defaults(func=cmd_shell)

    p = sub.add_parser("logs", help=f"heartbeat's log ({HA_LOG}) on ha1/ha2; the container log elsewhere")
    name_arg(p)
    p.add_argument("node", choices=ALL_HOSTS)
    p.add_argument("--messages", action="store_true",
                   help=f"the node's syslog, {MESSAGES} (microsecond stamps), instead of {HA_LOG}")
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("-n", "--lines", type=int, default=0, help="only the last N lines")
    p.set_defaults(func=cmd_logs)


def vip_note(st: dict) -> str:
    """On a rootless engine the VIP is reachable from ha3 and the 127.0.0.1 URL, not from here."""
    if st["vip_from_host"]:
        return ""
    return (f"\n                           (a {st['engine_kind']} engine: the VIP answers inside the lab, from ha3 "
            "(`lab shell ha3`, then curl); from this machine use the 127.0.0.1 URL)")


def cmd_up(a: argparse.Namespace) -> int:
    cfg, auto, about = with_custom(config_from(a), a)
    if about:
        print(about, file=sys.stderr)
    lab = provision.up(cfg, keep_on_failure=a.keep_on_failure, allocate=auto)
    st = status(lab)
    if lab.cfg.stage != FINAL:
        stage = find_stage(lab.cfg.stage)
        print(f"""
Lab {lab.cfg.name!r} (timing {lab.cfg.timing}, nfs client {lab.cfg.nfs_client}) is up at the stage {stage.id!r}:
{stage.title}. Every step before it is done; the rest is yours.

  lab guide                      what to do next (the article's commands, adapted to the lab)
  lab shell ha1                  a root shell on ha1 (ha2, nfsha, ha3 likewise)
  lab check                      what is done, what is not, and a hint for each failure
  lab solve STEP                 catch up: the lab does every step up to STEP
  lab reset                      start this stage over
  cluster URL, once it serves:   {st['url']}hostname.html   (browser: {st['local_url']}hostname.html){vip_note(st)}
""")
        return 0
    print(f"""
The cluster {lab.cfg.cluster!r} (lab {lab.cfg.name!r}, timing {lab.cfg.timing}, nfs client {lab.cfg.nfs_client}) is up.
{st['serving']} serves it.

  cluster URL at the VIP:  {st['url']}index.html   {st['url']}hostname.html{vip_note(st)}
  in a browser:            {st['local_url']}index.html   {st['local_url']}hostname.html

Next steps (the article's test):
  lab status                     who serves, what each node holds
  lab shell ha1                  then: /etc/rc.d/init.d/heartbeat stop   ({lab.cfg.backup} takes over)
                                 and:  /etc/rc.d/init.d/heartbeat start  ({lab.cfg.master} takes it back)
  lab logs ha1 -f                heartbeat's log, {HA_LOG} (--messages: {MESSAGES})
  lab check                      the article's steps, checked (`lab up --stage serial` to build it by hand)
  make lab-down                  remove the lab
""")
    return 0


def cmd_down(a: argparse.Namespace) -> int:
    n = provision.remove_lab(docker_client(), None if a.all else a.name)
    print(f"removed {n} object(s)" if n else f"nothing to remove for {'any lab' if a.all else repr(a.name)}")
    return 0


def cmd_ls(a: argparse.Namespace) -> int:
    found = inventory.rows(docker_client(), say_stderr, progress=not a.no_progress)
    if a.json:
        print(json.dumps(found, indent=2))
        return 0
    if not found:
        print("no lab runs on this engine; start one with `lab up`")
        return 0
    print(f"{'LAB':16} {'STAGE':10} {'STEPS':8} {'NEXT':15} {'SERVES':7} {'BROWSER URL':28} {'ENGINE':9} PROBLEMS")
    for r in found:
        if "error" in r:
            print(f"{r['name']:16} {r['stage']:10} {'?':8} {'?':15} {'?':7} {'?':28} {'?':9} {r['error']}")
            continue
        steps = f"{r['steps_done']}/{r['steps']}" if "steps" in r else "-"
        print(f"{r['name']:16} {r['stage']:10} {steps:8} {(r.get('next') or '-'):15} {(r['serving'] or '-'):7} "
              f"{r['local_url']:28} {r['engine_kind']:9} {'; '.join(r['problems']) or '-'}")
    return 0


def cmd_status(a: argparse.Namespace) -> int:
    lab = LabHandle.attach(a.name)
    st = status(lab)
    if lab.cfg.has_boards:
        st["boards"] = board.power_states(lab)
    if a.json:
        print(json.dumps(st, indent=2))
        return 0
    yn = {True: "yes", False: "no", None: "?"}
    print(f"lab {st['name']} (timing {st['timing']}, nfs client {st['nfs_client']})")
    print("  heartbeat    " + ", ".join(f"{k} {v:g} s" for k, v in st["timers"].items())
          + f", auto_failback {st['auto_failback']}")
    print(f"  cluster URL  {st['url']}   served by: {st['serving'] or 'NOBODY (no answer)'}")
    print(f"  in a browser {st['local_url']}")
    print(f"  engine       {st['engine_kind']}" + ("" if st["vip_from_host"] else
                                                   " (the VIP is reachable from ha3 and through the 127.0.0.1 URL)"))
    if st.get("source"):
        print(f"  heartbeat's files from {st['source']}")
    print(f"  {'node':6} {'hostname':10} {'container':10} {'heartbeat':10} {'vip':5} {'/ha':5} apache")
    for node, s in st["nodes"].items():
        print(f"  {node:6} {st['hostnames'][node]:10} {s['container']:10} {yn[s['heartbeat']]:10} {yn[s['vip']]:5} "
              f"{yn[s['mounted']]:5} {yn[s['apache']]}")
    if st.get("stonith", "none") != "none":
        print(f"  fencing      stonith {st['stonith']}")
        for node, power in st.get("boards", {}).items():
            print(f"  board of {node}  power {power}")
        for node, line in st.get("fencing", {}).items():
            print(f"  {node} last fence: {line or '-'}")
    for problem in st["problems"]:
        print(f"  PROBLEM: {problem}")
    return 0


def cmd_shell(a: argparse.Namespace) -> int:
    name = LabHandle.attach(a.name).container(a.node).name
    docker = shutil.which("docker")
    if docker is None:
        raise LabError("`lab shell` needs the docker command line client; install docker.io (or docker-ce-cli)")
    os.execvp(docker, ["docker", "exec", "-it", name, "bash"])
    return 0


def cmd_logs(a: argparse.Namespace) -> int:
    lab = LabHandle.attach(a.name)
    c = lab.container(a.node)
    if a.node in NODES:
        path = MESSAGES if a.messages else HA_LOG
        argv = ["tail", *(["-F"] if a.follow else []), "-n", str(a.lines) if a.lines else "+1", path]
        if a.follow:
            for chunk in c.exec_run(argv, stream=True).output:
                sys.stdout.write(chunk.decode(errors="replace"))
                sys.stdout.flush()
        else:
            sys.stdout.write(lab.run(a.node, argv, timeout=10).output)
        return 0
    if a.messages:
        raise LabError(f"{a.node} keeps no syslog; --messages is for the cluster nodes {', '.join(NODES)}")
    kw = {"tail": a.lines} if a.lines else {}
    if a.follow:
        for chunk in c.logs(stream=True, follow=True, **kw):
            sys.stdout.write(chunk.decode(errors="replace"))
            sys.stdout.flush()
    else:
        sys.stdout.write(c.logs(**kw).decode(errors="replace"))
    return 0


