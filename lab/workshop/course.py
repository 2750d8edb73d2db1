"""Running the course's checks against a lab: a checklist per step, the step to do next."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.handle import LabHandle
from ..errors import ConfigError
from ..model.config import LabConfig
from .checks import Outcome, evaluate
from .exercises import EXERCISES, Exercise
from .steps import STEPS, Step


@dataclass
class StepResult:
    step: Step
    outcomes: list[Outcome]

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)

    def jsonable(self) -> dict:
        return {"step": self.step.id, "title": self.step.title, "ok": self.ok,
                "checks": [{"name": o.check.name, "what": o.check.what, "ok": o.ok, "seen": o.seen,
                            **({} if o.ok else {"hint": o.check.hint})} for o in self.outcomes]}


def find_steps(ids: list[str]) -> list[Step]:
    """The article's steps and the exercises, by name."""
    known = {s.id: s for s in (*STEPS, *EXERCISES)}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ConfigError(f"unknown step {', '.join(map(repr, unknown))}: expected one of {', '.join(known)}")
    return [known[i] for i in ids]


def check_step(lab: LabHandle, step: Step, patient: bool = True) -> StepResult:
    """A step's checks in order. Retry windows are for state that settles (a takeover under
    way): once a check of the step has failed, the rest are looked at once, without waiting,
    so that checking a step not yet begun takes seconds, not minutes; and a check that
    breaks the cluster to measure runs only when the checks before it pass."""
    outcomes: list[Outcome] = []
    for check in step.checks(lab.cfg):
        so_far = all(o.ok for o in outcomes)
        if check.breaks and not so_far:
            outcomes.append(Outcome(check, False, "not run: it breaks the cluster to measure, and a check "
                                                  "before it failed"))
            continue
        outcomes.append(evaluate(lab, check, patient=patient and so_far))
    return StepResult(step, outcomes)


def check_course(lab: LabHandle, ids: list[str] | None = None,
                 patient: bool = True) -> tuple[list[StepResult], Step | None]:
    """The named steps' results; without names, every step up to the first that fails.
    Returns the results and the step to do next (None when all are done). patient=False
    looks once, without retry windows (an overview of many labs)."""
    if ids:
        results = [check_step(lab, s, patient) for s in find_steps(ids)]
        return results, next((r.step for r in results if not r.ok), None)
    results = []
    for step in STEPS:
        result = check_step(lab, step, patient)
        results.append(result)
        if not result.ok:
            return results, step
    return results, None


def guide_text(step: Step, cfg: LabConfig) -> str:
    checks = "\n".join(f"  - {c.what}" for c in step.checks(cfg))
    ids = [s.id for s in STEPS]
    number = f"Step {ids.index(step.id) + 1}/{len(STEPS)}" if step.id in ids else "Exercise"
    setup = (f"Begin with `lab exercise {step.id}`: the lab does something to the cluster first.\n\n"
             if isinstance(step, Exercise) and step.setup else "")
    return (f"{number}: {step.title}  [{step.id}]\n{setup}"
            f"The article: {step.article}\n\n{step.instructions(cfg)}\n\n`lab check {step.id}` verifies:\n{checks}\n")
