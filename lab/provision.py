"""A lab brought up at a workshop stage, and reset to one: its machines (lab.machines), then
the article's steps before the stage by the lab's reference solution (lab.workshop.stages;
by default all of them: heartbeat started on the master, then the backup)."""

from __future__ import annotations

import docker

from .engine.handle import LabHandle, Say, say_stderr
from . import machines
from .machines import allocated, in_use, preflight, remove_lab  # noqa: F401 - the lab's API, as before
from .model.config import LabConfig
from .observe.state import published_port
from .workshop.stages import add_solution_scripts, find_stage, replay


def up(cfg: LabConfig, client: docker.DockerClient | None = None, say: Say = say_stderr,
       keep_on_failure: bool = False, allocate: frozenset[str] = frozenset()) -> LabHandle:
    """Create and start the lab, in the article's order, at its stage; return its handle
    (lab.machines.create: addresses from the pool for the fields in `allocate`; on any
    failure or Ctrl-C what was made is removed, unless keep_on_failure)."""
    find_stage(cfg.stage)  # an unknown stage is refused before anything is made
    return machines.create(cfg, client, say, keep_on_failure, allocate, add_files=add_solution_scripts, then=replay)


def reset(lab: LabHandle, stage: str | None = None) -> LabHandle:
    """Back to the beginning of a stage (default: the one the lab was started at): the lab
    made again from its own configuration (same name, addresses, port and keys), from the
    images already built. A lab is a few containers: remaking them is both the quickest and
    the only sure way back to a known state."""
    find_stage(stage or lab.cfg.stage)
    cfg = lab.cfg.with_(stage=stage or lab.cfg.stage)
    if cfg.local_port == 0:  # keep the browser URL the trainee has open
        cfg = cfg.with_(local_port=published_port(lab) or 0)
    lab.say(f"resetting lab {cfg.name!r} to the stage {cfg.stage!r} ...")
    remove_lab(lab.client, cfg.name, None)
    return up(cfg, lab.client, lab.say)
