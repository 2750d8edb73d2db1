"""lab check, guide: the article's steps, checked against the lab's real state."""

from __future__ import annotations

import argparse
import json

from ..engine.handle import LabHandle
from ..workshop.course import check_course, find_steps, guide_text
from ..workshop.steps import STEPS
from .options import name_arg

STEP_IDS = [s.id for s in STEPS]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check the article's steps against the lab: pass or fail, with a hint for each failure")
    name_arg(p)
    p.add_argument("steps", nargs="*", metavar="STEP", help=f"steps to check (default: up to the first to do): "
                                                           f"{', '.join(STEP_IDS)}")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("guide", help="what to do in a step of the article (default: the next step to do)")
    name_arg(p)
    p.add_argument("step", nargs="?", metavar="STEP", help=", ".join(STEP_IDS))
    p.set_defaults(func=cmd_guide)


def cmd_check(a: argparse.Namespace) -> int:
    find_steps(a.steps)  # unknown names are refused before the lab is touched
    results, todo = check_course(LabHandle.attach(a.name), a.steps)
    ok = all(r.ok for r in results)
    if a.json:
        print(json.dumps({"ok": ok, "next": todo.id if todo else None, "steps": [r.jsonable() for r in results]},
                         indent=2))
        return 0 if ok else 1
    for r in results:
        print(f"{'done' if r.ok else 'TO DO'}  {r.step.title}  [{r.step.id}]")
        for o in r.outcomes:
            print(o.line())
    if todo:
        print(f"\nnext: {todo.title} ({todo.article}); `lab guide {todo.id}` says what to do")
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
