"""The workshop's stages: where a lab can start (`lab up --stage`) and be reset to
(`lab reset --stage`). A stage is the beginning of one part of the article: every step
before it done by the lab's reference solution, nothing after it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..engine.handle import LabHandle
from ..errors import ConfigError
from .. import pacemaker
from ..model.config import LabConfig
from . import solutions
from .course import check_step
from .exercises import EXERCISES, Exercise
from .steps import STEPS, Step


@dataclass(frozen=True)
class Stage:
    id: str
    title: str
    first_step: str  # the step a trainee starts this stage with

    @property
    def steps_before(self) -> tuple[Step, ...]:
        ids = [s.id for s in STEPS]
        return STEPS[:ids.index(self.first_step)]


STAGES: tuple[Stage, ...] = (
    Stage("serial", "the serial cable: machines cabled, packages installed, nothing configured", "serial-cable"),
    Stage("nfs", "the shared disk: export /ha, the fstab line, the sample pages", "nfs-export"),
    Stage("apache", "Apache serving from the shared disk", "apache-layout"),
    Stage("heartbeat", "heartbeat's three files: authkeys, ha.cf, haresources", "authkeys"),
    Stage("start", "starting the cluster and the browser test", "start-cluster"),
    Stage("failover", "the failover test (the finished cluster)", "failover-test"),
)
FIRST, FINAL = STAGES[0].id, STAGES[-1].id


def find_stage(stage_id: str) -> Stage:
    known = {s.id: s for s in STAGES}
    if stage_id not in known:
        raise ConfigError(f"unknown stage {stage_id!r}: expected one of {', '.join(known)}")
    return known[stage_id]


def steps_through(step_id: str) -> tuple[Step, ...]:
    """Every step up to and including `step_id`; for an exercise, every step of the
    article and then the exercise."""
    ids = [s.id for s in STEPS]
    exercise = next((e for e in EXERCISES if e.id == step_id), None)
    if exercise:
        return (*STEPS, exercise)
    if step_id not in ids:
        raise ConfigError(f"unknown step {step_id!r}: expected one of {', '.join(ids + [e.id for e in EXERCISES])}")
    return STEPS[:ids.index(step_id) + 1]


def solve(lab: LabHandle, steps: tuple[Step, ...]) -> None:
    """Catch up: the reference solution of each step whose checks do not all pass yet, in
    order; a step already done (by the trainee or an earlier solve) is left as it is."""
    for step in steps:
        if lab.cfg.stack == "pacemaker" and not isinstance(step, Exercise):
            continue  # the article's steps are heartbeat's; a Pacemaker lab came up (or migrated) past them
        # an exercise's checks measure by breaking the cluster: its solution is simply applied
        if not isinstance(step, Exercise) and check_step(lab, step, patient=False).ok:
            lab.say(f"solve: {step.title} [{step.id}]: already done")
            continue
        lab.say(f"solve: {step.title} [{step.id}]")
        step.solve.run(lab)


# ---- a lab brought to its stage (lab.provision gives these to lab.machines.create) ---------
def add_solution_scripts(cfg: LabConfig, rendered: dict[str, Path]) -> None:
    """Every step's reference solution as scripts in each host's /lab/solve/ (what `lab
    solve` runs, and what a trainee may read)."""
    solutions.write_scripts(cfg, [(s.id, s.solve) for s in STEPS], rendered)


def replay(lab: LabHandle) -> list[tuple[str, Callable[[LabHandle], None]]]:
    """The steps that bring a lab whose machines just booted to the beginning of its stage:
    at the first stage the serial-cable test (later stages test it in the serial-cable
    step's solution), then the article's steps before the stage, by the lab's reference
    solution, in order."""
    steps: list[tuple[str, Callable[[LabHandle], None]]] = []
    if lab.cfg.stack == "pacemaker":  # the article's machines, then its cluster on Pacemaker
        for s in find_stage("heartbeat").steps_before:
            steps.append((f"the article's step {s.id!r}: {s.title}", _said(s)))
        steps.append(("the article's cluster on Pacemaker and Corosync", pacemaker.start_cluster))
        return steps
    if lab.cfg.stage == FIRST:
        steps.append(("test the serial cable (the article's cat/echo test)", solutions.SERIAL_CABLE.run))
    for s in find_stage(lab.cfg.stage).steps_before:
        steps.append((f"the article's step {s.id!r}: {s.title}", _said(s)))
    return steps


def _said(step: Step) -> Callable[[LabHandle], None]:
    def act(lab: LabHandle) -> None:
        step.solve.run(lab)
        if step.id == "serial-cable":
            lab.say("serial cable: ok, both directions")
    return act
