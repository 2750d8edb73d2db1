"""lab check, guide, solve, reset: the article's steps, checked against the lab's real state,
the lab's reference solution to catch up, and a way back to the start of a stage."""

from __future__ import annotations

import argparse

from .. import provision
from ..engine.handle import LabHandle
from ..workshop.course import check_course, find_steps, guide_text
from ..workshop.exercises import EXERCISES
from ..workshop.stages import find_stage, solve, steps_through
from ..workshop.steps import STEPS
from .options import json_arg, name_arg, named, print_json, stage_arg

STEP_IDS = [s.id for s in STEPS]
EXERCISE_IDS = [e.id for e in EXERCISES]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check the article's steps against the lab: pass or fail, with a hint for each failure")
    name_arg(p)
    p.add_argument("steps", nargs="*", metavar="STEP", help=f"steps to check (default: up to the first to do): "
                                                           f"{', '.join(STEP_IDS)}; or exercises (their checks "
                                                           f"break the cluster to measure): {', '.join(EXERCISE_IDS)}")
    json_arg(p, "the checks (ok, next, each step's outcomes)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("guide", help="what to do in a step of the article (default: the next step to do)")
    name_arg(p)
    p.add_argument("step", nargs="?", metavar="STEP", help=", ".join(STEP_IDS))
    p.set_defaults(func=cmd_guide)

    p = sub.add_parser("exercise", help="begin an exercise beyond the article (some first do something to the cluster)")
    name_arg(p)
    p.add_argument("exercise", choices=EXERCISE_IDS, help="the exercise to begin")
    p.set_defaults(func=cmd_exercise)

    p = sub.add_parser("solve", help="catch up: the lab's reference solution of every step up to and including STEP")
    name_arg(p)
    p.add_argument("step", metavar="STEP", help=", ".join(STEP_IDS + EXERCISE_IDS))
    json_arg(p, "the steps solved, checked afterwards (ok, next, each step's outcomes)")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("reset", help="back to the beginning of a stage: the lab made again, same addresses and URLs")
    name_arg(p)
    stage_arg(p, None, "the stage to go back to")
    p.set_defaults(func=cmd_reset)


def cmd_check(a: argparse.Namespace) -> int:
    find_steps(a.steps)  # unknown names are refused before the lab is touched
    results, todo = check_course(LabHandle.attach(a.name), a.steps)
    ok = all(r.ok for r in results)
    if a.json:
        print_json({"ok": ok, "next": todo.id if todo else None, "steps": [r.jsonable() for r in results]})
        return 0 if ok else 1
    for r in results:
        print(f"{'done' if r.ok else 'TO DO'}  {r.step.title}  [{r.step.id}]")
        for o in r.outcomes:
            print(o.line())
    if todo:
        print(f"\nnext: {todo.title} ({todo.article}); `{named(f'lab guide {todo.id}', a.name)}` says what to do")
    else:
        print("\nevery step checked is done")
    return 0 if ok else 1


def cmd_guide(a: argparse.Namespace) -> int:
    lab = LabHandle.attach(a.name)
    if a.step:
        step = find_steps([a.step])[0]
    else:
        _, step = check_course(lab)
        if step is None:
            print("every step of the article is done: try the faults (lab fail --help)")
            return 0
    print(guide_text(step, lab.cfg))
    return 0


def cmd_solve(a: argparse.Namespace) -> int:
    steps = steps_through(a.step)  # an unknown name is refused before the lab is touched
    lab = LabHandle.attach(a.name)
    solve(lab, steps)
    results, todo = check_course(lab, [s.id for s in steps])
    nxt = STEPS[len(steps)] if len(steps) < len(STEPS) else None
    if a.json:
        print_json({"ok": todo is None, "next": nxt.id if nxt else None, "steps": [r.jsonable() for r in results]})
        return 0 if todo is None else 1
    for r in results:
        print(f"{'done' if r.ok else 'TO DO'}  {r.step.title}  [{r.step.id}]")
        for o in r.outcomes:
            if not o.ok:
                print(o.line())
    print(f"\nnext: `{named(f'lab guide {nxt.id}', a.name)}` ({nxt.title})" if nxt else "\nevery step of the article is done")
    return 0 if todo is None else 1


def cmd_exercise(a: argparse.Namespace) -> int:
    exercise = next(e for e in EXERCISES if e.id == a.exercise)
    lab = LabHandle.attach(a.name)
    if exercise.setup:
        lab.say(f"exercise {exercise.id}: the lab does something to the cluster ...")
        exercise.setup(lab)
    print(guide_text(exercise, lab.cfg))
    return 0


def cmd_reset(a: argparse.Namespace) -> int:
    lab = provision.reset(LabHandle.attach(a.name), a.stage)  # argparse and reset check the stage
    first = find_stage(lab.cfg.stage).first_step
    print(f"lab {lab.cfg.name!r} is back at the stage {lab.cfg.stage!r}; `{named(f'lab guide {first}', a.name)}` says what to do")
    return 0
