"""lab class up, status, reset, down: one lab per trainee, found by the class's label."""

from __future__ import annotations

import argparse
import json

from .. import classroom, dashboard
from ..errors import ConfigError
from ..model.config import NFS_CLIENTS, TIMINGS, LabConfig
from ..workshop.steps import STEPS
from .options import stage_arg

DEFAULT_CLASS = "trainee"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("class", help="a classroom: one lab per trainee (up, status, reset, down)")
    csub = p.add_subparsers(dest="class_cmd", required=True, metavar="ACTION")

    q = csub.add_parser("up", help="start COUNT labs named PREFIX01.., each with its own addresses")
    q.add_argument("--count", type=int, required=True)
    q.add_argument("--prefix", default=DEFAULT_CLASS, help=f"lab names and the class's name (default {DEFAULT_CLASS})")
    q.add_argument("--timing", choices=sorted(TIMINGS), default="fast")
    q.add_argument("--nfs-client", choices=NFS_CLIENTS, default="auto")
    q.add_argument("--parallel", type=int, default=classroom.DEFAULT_WORKERS, help="labs started at once")
    engines_arg(q)
    q.add_argument(classroom.TRUST_FLAG, dest="trust", action="store_true",
                   help="start the class on an engine whose container root is the host's root (rootful Docker): "
                        "only where every trainee may be root on this machine")
    stage_arg(q, "serial", "where every trainee starts")
    q.set_defaults(func=cmd_up)

    q = csub.add_parser("status", help="every lab of the class: its progress per step, who serves, problems")
    q.add_argument("--class", dest="klass", default=DEFAULT_CLASS)
    q.add_argument("--json", action="store_true")
    engines_arg(q)
    q.set_defaults(func=cmd_status)

    q = csub.add_parser("reset", help="reset the named labs of the class (all if none is named)")
    q.add_argument("names", nargs="*", metavar="NAME")
    q.add_argument("--class", dest="klass", default=DEFAULT_CLASS)
    stage_arg(q, None, "the stage to go back to")
    engines_arg(q)
    q.set_defaults(func=cmd_reset)

    q = csub.add_parser("serve", help="the instructor's dashboard: a live web page of the class on 127.0.0.1")
    q.add_argument("--class", dest="klass", default=DEFAULT_CLASS)
    q.add_argument("--port", type=int, default=8000)
    engines_arg(q)
    q.set_defaults(func=cmd_serve)

    q = csub.add_parser("down", help="remove the named labs of the class (all if none is named)")
    q.add_argument("names", nargs="*", metavar="NAME")
    q.add_argument("--class", dest="klass", default=DEFAULT_CLASS)
    engines_arg(q)
    q.set_defaults(func=cmd_down)


def engines_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engines", type=lambda v: [c for c in v.split(",") if c], default=None, metavar="CTX1,CTX2",
                   help="docker contexts the class runs on (default: the engine of DOCKER_HOST)")


def cmd_up(a: argparse.Namespace) -> int:
    base = LabConfig(timing=a.timing, nfs_client=a.nfs_client, stage=a.stage).resolved()
    where = classroom.engines(a.engines)
    classroom.refuse_unsafe(where, a.trust)
    started, failed = classroom.up(where, base, a.prefix, a.count, a.parallel)
    print(f"\nclass {a.prefix!r}: {len(started)} lab(s) up at the stage {a.stage!r}"
          + (f", {len(failed)} failed" if failed else ""))
    for r in classroom.rows(sorted(started, key=lambda m: m.cfg.name), progress=False):
        print(f"  {r['name']:14} {r.get('local_url', '?'):28} cluster {r.get('url', '?'):24} engine {r['engine']} "
              f"({r['engine_kind']})")
    for cfg, error in failed:
        print(f"  {cfg.name:14} FAILED: {error}")
    return 1 if failed else 0


def cmd_status(a: argparse.Namespace) -> int:
    rows = classroom.rows(classroom.select(classroom.engines(a.engines), a.klass, []))
    if a.json:
        print(json.dumps(rows, indent=2))
        return 0
    ids = [s.id for s in STEPS]
    print(f"{'LAB':14} {'STAGE':9} " + " ".join(f"{i + 1:>2}" for i in range(len(ids)))
          + "  NEXT            SERVES  ENGINE                PROBLEMS")
    for r in rows:
        if "error" in r:
            print(f"{r['name']:14} {r['stage']:9} {r['error']}")
            continue
        done = r["steps_done"]
        marks = " ".join(f"{'ok' if i < done else ('..' if i == done else '  '):>2}" for i in range(len(ids)))
        print(f"{r['name']:14} {r['stage']:9} {marks}  {(r['next'] or '-'):15} {(r['serving'] or '-'):7} "
              f"{r['engine'] + ' (' + r['engine_kind'] + ')':21} {'; '.join(r['problems']) or '-'}")
    print("\nsteps: " + ", ".join(f"{i + 1} {s}" for i, s in enumerate(ids)))
    return 0


def cmd_reset(a: argparse.Namespace) -> int:
    chosen = classroom.select(classroom.engines(a.engines), a.klass, a.names)
    done, failed = classroom.reset(chosen, a.stage)
    print(f"reset {len(done)} lab(s)" + (f"; failed: {', '.join(m.cfg.name for m, _ in failed)}" if failed else ""))
    return 1 if failed else 0


def cmd_down(a: argparse.Namespace) -> int:
    try:
        cfgs = classroom.select(classroom.engines(a.engines), a.klass, a.names)
    except ConfigError:
        if a.names:
            raise
        print(f"nothing to remove: no class {a.klass!r} on this engine")
        return 0
    n = classroom.down(cfgs)
    print(f"removed {len(cfgs)} lab(s) of class {a.klass!r} ({n} objects)")
    return 0


def cmd_serve(a: argparse.Namespace) -> int:
    where = classroom.engines(a.engines)
    classroom.select(where, a.klass, [])  # a class that does not exist is refused before serving
    print(f"dashboard of class {a.klass!r}: http://127.0.0.1:{a.port}/  (Ctrl-C stops it)")
    dashboard.app(where, a.klass).run(host="127.0.0.1", port=a.port, threaded=True)
    return 0
