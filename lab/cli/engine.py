"""lab engine rootless: an unprivileged user's rootless Docker engine for a shared classroom
server (lab.engine.rootless), with the lab's images, and a docker context named for it."""

from __future__ import annotations

import argparse

import docker.errors

from ..engine import images, rootless
from ..engine.handle import docker_client, say_stderr
from ..errors import LabError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("engine", help="Docker engines for the lab: set up a rootless one (for a shared server)")
    esub = p.add_subparsers(dest="engine_cmd", required=True, metavar="ACTION")
    q = esub.add_parser("rootless", help="as root: set up and start USER's rootless engine, with the lab's images "
                                         "and a docker context rootless-USER (again at will: only what is missing)")
    q.add_argument("--user", default=rootless.DEFAULT_USER,
                   help=f"the unprivileged user that runs it (default {rootless.DEFAULT_USER}; made if missing)")
    q.add_argument("--stop", action="store_true", help="stop that engine instead (its containers go with it)")
    q.set_defaults(func=cmd_rootless)


def cmd_rootless(a: argparse.Namespace) -> int:
    if a.stop:
        engine = rootless.lookup(a.user)
        print(f"stopped the rootless engine of {a.user}" if rootless.stop(engine)
              else f"the rootless engine of {a.user} was not running")
        return 0
    engine = rootless.prepare(a.user)
    dest = engine.client()
    try:  # the machine's own engine has the images: copy them, far faster than building
        source = docker_client()
        if rootless.engine_kind(source) == rootless.ROOTLESS and source.info().get("ID") == dest.info().get("ID"):
            raise LabError("the engine of DOCKER_HOST is this rootless engine itself")
        images.copy_images(source, dest, say_stderr)
    except (LabError, docker.errors.DockerException) as exc:
        say_stderr(f"no images to copy ({exc}); building them on the rootless engine")
    images.ensure_images(dest)
    print(f"""
the rootless engine of {engine.user} runs at {engine.host}
  (container root is uid {engine.uid} ({engine.user}) on this machine, other container uids its subordinate range)

use it with the docker context {engine.context!r} or DOCKER_HOST={engine.host}
  (the lab itself cannot run there yet: nfsha's NFS server needs what a user namespace refuses;
   README, "Who is root where")
stop it with: lab engine rootless --stop{'' if engine.user == rootless.DEFAULT_USER else f' --user {engine.user}'}""")
    return 0
