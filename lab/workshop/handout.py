"""The workshop handout (docs/workshop.md), generated from the step declarations so that it
can never say something `lab check` does not check.

    python -m lab.workshop.handout > docs/workshop.md      (or: make handout)"""

from __future__ import annotations

import sys

from ..model.config import LabConfig
from .exercises import EXERCISES
from .steps import STEPS

# the default lab, with the userspace NFS client (where the kernel has NFS, the type is nfs)
HANDOUT_CONFIG = LabConfig(nfs_client="fuse")


def handout(cfg: LabConfig = HANDOUT_CONFIG) -> str:
    out = [
        "# Workshop handout: the article's cluster, step by step",
        "",
        "<!-- generated from lab/workshop/steps.py by `make handout`; do not edit by hand -->",
        "",
        "Each step names its section of the article, what to do in the lab, and what `lab check STEP` "
        "verifies. `lab guide` prints the next step to do; `lab check` shows what passes and, for "
        f"what fails, a hint. Shown for the default lab (master {cfg.master}, VIP {cfg.vip}, "
        f"share type {cfg.share_fstype}; `nfs` where the kernel has an NFS client).",
        "",
    ]
    for number, step in enumerate(STEPS, 1):
        out += [f"## {number}. {step.title} (`{step.id}`)", "", f"*The article:* {step.article}.", "",
                step.instructions(cfg), "", f"`lab check {step.id}` verifies:", ""]
        out += [f"- {c.what} (`{c.name}`)" for c in step.checks(cfg)]
        out.append("")
    out += ["## Exercises beyond the article", "",
            "Each is checked by name (`lab check NAME`); the checks marked *measured* break the cluster on "
            "purpose (kill or cut the master) and watch the service with the probe on ha3.", ""]
    for ex in EXERCISES:
        out += [f"### {ex.title} (`{ex.id}`)", "", f"*Where:* {ex.article}.", ""]
        if ex.setup:
            out += [f"Begin with `lab exercise {ex.id}`.", ""]
        out += [ex.instructions(cfg), "", f"`lab check {ex.id}` verifies:", ""]
        out += [f"- {c.what} (`{c.name}`)" for c in ex.checks(cfg)]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(handout())
