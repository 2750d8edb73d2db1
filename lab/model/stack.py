"""Which cluster software a lab runs: heartbeat (the article's) or Pacemaker on Corosync
(`lab up --stack pacemaker`, lab/model/pacemaker.py renders its files); what a Pacemaker
lab cannot be. Apart from config.py, which calls it, so that neither grows past its size."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import LabConfig

STACKS = ("heartbeat", "pacemaker")


def check_stack(cfg: "LabConfig") -> list[str]:
    """What a Pacemaker lab cannot be (the timers are checked as heartbeat's: they map)."""
    if cfg.stack not in STACKS:
        return [f"stack {cfg.stack!r}: expected one of {', '.join(STACKS)}"]
    if cfg.stack == "heartbeat":
        return []
    problems = []
    if cfg.stonith == "meatware":
        problems.append("stack pacemaker with stonith meatware: fencing on Pacemaker is ipmi "
                        "(fence_ipmilan through the boards) or none")
    if cfg.source:
        problems.append(f"stack pacemaker with --from {cfg.source}: a folder of heartbeat's files configures "
                        "heartbeat; the Pacemaker lab renders its own configuration")
    if cfg.stage != "failover":
        problems.append(f"stack pacemaker with stage {cfg.stage!r}: the workshop's stages are the article's "
                        "heartbeat steps; a Pacemaker lab starts finished (leave out --stage)")
    return problems
