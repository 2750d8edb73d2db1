"""lab up, down, status, shell, logs."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from .. import inventory, provision, stacks
from ..roles import board
from ..engine.handle import LabHandle, docker_client, say_stderr
from ..errors import ConfigError, LabError
from ..model.config import ALL_HOSTS, NODES, LabConfig
from ..model.contract import HA_LOG, MESSAGES
from ..model.pacemaker import COROSYNC_LOG, PACEMAKER_LOG
from ..observe.state import status
from ..workshop.stages import FINAL, find_stage
from ..engine.labels import lab_names
from .options import DEFAULT, confirm, json_arg, named, yes_arg, config_args, config_from, from_arg, name_arg, with_custom


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("up", help="build the images if needed and start the cluster, in the article's order")
    config_args(p)
    from_arg(p)
    p.add_argument("--keep-on-failure", action="store_true", help="leave a failed lab in place for inspection")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("down", help="remove the lab's containers, networks and volume")
    name_arg(p)
    p.add_argument("--all", action="store_true", help="remove every lab on this engine (asks first)")
    yes_arg(p, "removing every lab (--all)")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("ls", help="every lab on the engine: stage, step progress, URLs, who serves, problems")
    json_arg(p, "one list, a row per lab")
    p.add_argument("--no-progress", action="store_true", help="skip the workshop checks (faster)")
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser("status", help="who serves the cluster URL, and what each node holds")
    name_arg(p)
    json_arg(p, "who serves, the URLs, each node's state, the problems")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("shell", help="a root shell on a node")
    name_arg(p)
    p.add_argument("node", choices=ALL_HOSTS, help="the host: the nodes ha1 and ha2, the NFS server, the client")
    p.set_defaults(func=cmd_shell)

    p = sub.add_parser("exec", help="run a command on a host of the lab, without a terminal: its output, "
                                    "then its exit code as lab's own (lab exec ha1 -- cl_status rscstatus)")
    name_arg(p)
    p.add_argument("node", choices=ALL_HOSTS, help="the host to run it on")
    p.add_argument("argv", nargs="*", metavar="CMD",
                   help="after --: the command and its arguments (lab's own options go before the --)")
    p.set_defaults(func=cmd_exec)

    p = sub.add_parser("logs", help=f"heartbeat's log ({HA_LOG}) on ha1/ha2; the container log elsewhere")
    name_arg(p)
    p.add_argument("node", choices=ALL_HOSTS, help="whose log")
    p.add_argument("--messages", action="store_true",
                   help=f"the node's syslog, {MESSAGES} (microsecond stamps), instead of {HA_LOG}")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing what is logged (Ctrl-C to stop)")
    p.add_argument("-n", "--lines", type=int, default=0, help="only the last N lines")
    p.set_defaults(func=cmd_logs)


def vip_note(st: dict) -> str:
    """On a rootless engine the VIP is reachable from ha3 and the 127.0.0.1 URL, not from here."""
    if st["vip_from_host"]:
        return ""
    return (f"\n                           (a {st['engine_kind']} engine: the VIP answers inside the lab, from ha3 "
            "(`lab shell ha3`, then curl); from this machine use the 127.0.0.1 URL)")


def commands(name: str, rows: list[tuple[str, str]]) -> str:
    """The commands a user is told to type next, each as it works from where they are: with
    `--name NAME` unless NAME is the default lab or $LAB_NAME (make's targets take LAB_NAME),
    and a word on where `lab` is when it is not on the PATH (`make install`)."""
    own = name != os.environ.get("LAB_NAME", DEFAULT.name)
    out = [(named(cmd, name) if cmd.startswith("lab ") else cmd + (f" LAB_NAME={name}" if own and cmd.startswith("make ")
                                                                    else ""), what) for cmd, what in rows]
    width = max(len(c) for c, _ in out) + 2
    text = "\n".join(f"  {c:{width}} {w}".rstrip() if c else f"  {'':{width}} {w}" for c, w in out)
    if shutil.which("lab") is None:
        me = sys.argv[0] if sys.argv else ""
        typed = f"{sys.executable} -m lab" if me.endswith("__main__.py") or not me else str(Path(me).resolve())
        text += f"\n\n  (`lab` is not on your PATH: `sudo make install` links it there, or type {typed} instead)"
    return text


def cmd_up(a: argparse.Namespace) -> int:
    cfg, auto, about = with_custom(config_from(a), a)
    if about:
        print(about, file=sys.stderr)
    lab = provision.up(cfg, keep_on_failure=a.keep_on_failure, allocate=auto)
    st = status(lab)
    name = lab.cfg.name
    if lab.cfg.stage != FINAL:
        stage = find_stage(lab.cfg.stage)
        print(f"""
Lab {name!r} (timing {lab.cfg.timing}, nfs client {lab.cfg.nfs_client}) is up at the stage {stage.id!r}:
{stage.title}. Every step before it is done; the rest is yours.

""" + commands(name, [
            ("lab guide", "what to do next (the article's commands, adapted to the lab)"),
            ("lab shell ha1", "a root shell on ha1 (ha2, nfsha, ha3 likewise)"),
            ("lab check", "what is done, what is not, and a hint for each failure"),
            ("lab solve STEP", "catch up: the lab does every step up to STEP"),
            ("lab reset", "start this stage over"),
            ("lab down", "remove the lab"),
        ]) + f"""

  cluster URL, once it serves:   {st['url']}hostname.html   (browser: {st['local_url']}hostname.html){vip_note(st)}
""")
        return 0
    print(f"""
The cluster {lab.cfg.cluster!r} (lab {name!r}, timing {lab.cfg.timing}, nfs client {lab.cfg.nfs_client}) is up.
{st['serving']} serves it.

  cluster URL at the VIP:  {st['url']}index.html   {st['url']}hostname.html{vip_note(st)}
  in a browser:            {st['local_url']}index.html   {st['local_url']}hostname.html

Next steps (the article's test):
""" + commands(name, _next_steps(lab.cfg)) + "\n")
    return 0


def _next_steps(cfg: LabConfig) -> list[tuple[str, str]]:
    if cfg.stack == "pacemaker":
        stack = stacks.PACEMAKER
        return [
            ("lab status", "who serves, what each node holds, Pacemaker's own view (crm_mon)"),
            ("lab shell ha1", f"then: {stack.stop_words}   ({cfg.backup} takes over)"),
            ("", f"and:  {stack.start_words}  ({cfg.master} takes it back)"),
            ("", "or:   crm_mon, crm configure show, crm node standby, crm node online"),
            ("lab logs ha1 -f", f"Corosync's and Pacemaker's logs, {COROSYNC_LOG} and {PACEMAKER_LOG}"),
            ("lab down", "remove the lab"),
        ]
    return [
        ("lab status", "who serves, what each node holds"),
        ("lab shell ha1", f"then: /etc/rc.d/init.d/heartbeat stop   ({cfg.backup} takes over)"),
        ("", f"and:  /etc/rc.d/init.d/heartbeat start  ({cfg.master} takes it back)"),
        ("lab logs ha1 -f", f"heartbeat's log, {HA_LOG} (--messages: {MESSAGES})"),
        ("lab check", "the article's steps, checked (`lab up --stage serial` to build it by hand)"),
        ("lab down", "remove the lab"),
    ]


def cmd_down(a: argparse.Namespace) -> int:
    client = docker_client()
    if a.all:
        names = sorted(lab_names(client))
        if names:
            confirm(f"remove every lab on this engine ({len(names)}: {', '.join(names)})", a.yes)
    n = provision.remove_lab(client, None if a.all else a.name)
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
    stack = st.get("stack", "heartbeat")
    if stack == "pacemaker":
        print("  stack        Pacemaker on Corosync (lab up --stack pacemaker); files in /etc/corosync")
    print(f"  {'node':6} {'hostname':10} {'container':10} {stack:10} {'vip':5} {'/ha':5} apache")
    for node, s in st["nodes"].items():
        print(f"  {node:6} {st['hostnames'][node]:10} {s['container']:10} {yn[s['heartbeat']]:10} {yn[s['vip']]:5} "
              f"{yn[s['mounted']]:5} {yn[s['apache']]}")
    if st.get("stonith", "none") != "none":
        print(f"  fencing      stonith {st['stonith']}")
        for node, power in st.get("boards", {}).items():
            print(f"  board of {node}  power {power}")
        for node, line in st.get("fencing", {}).items():
            print(f"  {node} last fence: {line or '-'}")
    pcmk = st.get("pacemaker")
    if pcmk:
        print(f"  Pacemaker    DC {pcmk['dc'] or '-'}, quorum {yn[pcmk['quorate']]}, group on "
              f"{pcmk['holder'] or 'no one node'}: " + ", ".join(f"{r} {n or 'stopped'}"
                                                                for r, n in pcmk["resources"].items()))
        for line in pcmk["fencing"]:
            print(f"  fenced       {line}")
    for warning in st.get("warnings", []):
        print(f"  WARNING: {warning}")
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


def cmd_exec(a: argparse.Namespace) -> int:
    argv = a.argv
    if not argv:
        raise ConfigError("expected a command after the node: lab exec NODE -- CMD [ARG ...]")
    lab = LabHandle.attach(a.name)
    lines = lab.lines(a.node, argv)
    out = sys.stdout.buffer
    for line in lines:  # stdout and stderr together, as they come (no terminal: scripts and CI)
        out.write(line.encode() + b"\n")
        out.flush()
    code = lines.exit_code
    return 126 if code is None else code


def cmd_logs(a: argparse.Namespace) -> int:
    lab = LabHandle.attach(a.name)
    c = lab.container(a.node)
    if a.node in NODES:
        paths = [MESSAGES] if a.messages else [COROSYNC_LOG, PACEMAKER_LOG] if lab.cfg.stack == "pacemaker" \
            else [HA_LOG]
        argv = ["tail", *(["-F"] if a.follow else []), "-n", str(a.lines) if a.lines else "+1", *paths]
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


