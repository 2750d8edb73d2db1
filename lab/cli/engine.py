"""lab engine class: the class engine, a second Docker daemon with user namespaces
(lab.engine.classengine); lab engine rootless: an unprivileged user's rootless engine
(lab.engine.rootless). Each with the lab's images and a docker context named for it."""

from __future__ import annotations

import argparse

import docker.errors

from ..engine import classengine, images, rootless
from ..engine.handle import docker_client, say_stderr
from ..errors import LabError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("engine", help="Docker engines for a shared class server: the class engine (user namespaces), a rootless one")
    esub = p.add_subparsers(dest="engine_cmd", required=True, metavar="ACTION")
    q = esub.add_parser("rootless", help="as root: set up and start USER's rootless engine, with the lab's images "
                                         "and a docker context rootless-USER (again at will: only what is missing)")
    q.add_argument("--user", default=rootless.DEFAULT_USER,
                   help=f"the unprivileged user that runs it (default {rootless.DEFAULT_USER}; made if missing)")
    q.add_argument("--stop", action="store_true", help="stop that engine instead (its containers go with it)")
    q.set_defaults(func=cmd_rootless)
    c = esub.add_parser("class", help="as root: set up and start the class engine, a second Docker daemon whose "
                                      "containers' root is an unprivileged uid of this machine, with the lab's "
                                      f"images and a docker context {classengine.CONTEXT} (again at will)")
    what = c.add_mutually_exclusive_group()
    what.add_argument("--stop", action="store_true", help="stop its daemon (its labs stop; its images stay)")
    what.add_argument("--remove", action="store_true",
                      help="stop it and remove its data (labs, images), firewall chains and docker context")
    c.set_defaults(func=cmd_class)


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
   docs/teach/classroom.md, "Who is root where")
stop it with: lab engine rootless --stop{'' if engine.user == rootless.DEFAULT_USER else f' --user {engine.user}'}""")
    return 0


def cmd_class(a: argparse.Namespace) -> int:
    if a.remove:
        classengine.remove()
        print("the class engine is stopped and removed (its data, firewall chains and docker context)")
        return 0
    if a.stop:
        print("stopped the class engine" if classengine.stop() else "the class engine was not running")
        return 0
    dest = classengine.prepare()
    # built (or brought up to date) on the machine's own engine, which reaches the package
    # mirror, then copied: the class engine's containers have no way out
    source = docker_client()
    images.ensure_images(source)
    images.copy_images(source, dest, say_stderr)
    images.ensure_images(dest)
    uid, gid = rootless.userns_root_ids()
    print(f"""
the class engine runs at {classengine.HOST}
  (a container's root is uid {uid} on this machine, its other uids the next ones; ganesha alone
   runs in the host's user namespace, in a container no trainee can open)

start a class on it:  lab class up --engines {classengine.CONTEXT} --count N
use it by hand:       docker --context {classengine.CONTEXT} ps   (or DOCKER_HOST={classengine.HOST})
stop it:              lab engine class --stop      (remove it: lab engine class --remove)""")
    return 0
