"""What the end-to-end tests share: the suite's lab names, one table of their subnets, the
configuration of a test lab, the `lab` command run as a user runs it, and the assertions on
a scenario's result. The root conftest.py holds the hooks and fixtures, and imports these."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from typing import Iterator

import docker

from lab import scenario
from lab.engine.handle import LabHandle
from lab.model.config import LabConfig
from lab.provision import remove_lab, up

BASE_NAME = os.environ.get("LAB_TEST_NAME", "hatest")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw1" on xdist's second worker, "" without xdist
_INDEX = int(WORKER[2:]) if WORKER.startswith("gw") else 0
MAX_WORKERS = 4
# Every fixed subnet of the suite, in one table: a lab placed at N has its LAN on
# 172.29.N.0/24 and its serial network on N+1 (LabConfig.numbered), its boards' management
# network where given. The session's lab: 90/91 on the first worker, 108/109, 112/113 ... on
# others. Labs from the pool (a class) take 172.29.128.0/17 and above: see LAB_SUBNET_POOL.
NETS = {
    "session": 90 if _INDEX == 0 else 104 + 4 * _INDEX,
    "class-engine-fenced": 60, "class-engine-fenced-mgmt": 62,
    "rootless-probe": 70,
    "fencing": 86, "fencing-mgmt": 88,
    "bad-input-twice": 92, "walk": 94, "bad-input": 96, "pacemaker": 100, "pacemaker-mgmt": 102,
}
MAIN_NET = NETS["session"]


def _prefix(index: int) -> str:
    return BASE_NAME if index == 0 else f"{BASE_NAME}-w{index}"


def _names(prefix: str) -> tuple[str, ...]:
    return (prefix, f"{prefix}-fail", f"{prefix}-bad", f"{prefix}-a", f"{prefix}-b", f"{prefix}-c01",
            f"{prefix}-c02", f"{prefix}-walk", f"{prefix}-fence", f"{prefix}-soak", f"{prefix}-pcmk",
            # the example project's, on two xdist workers, one test making a lab of its own
            *(f"{prefix}-example-gw{w}{f}" for w in (0, 1) for f in ("", "-f1")))


# labs whose addresses come from the pool (a class, the class engine's class) pick them from a
# pool of their worker's own, apart from the fixed subnets above (all below 172.29.128.0):
# a pool shared by both workers, or overlapping the fixed subnets, let one worker's allocation
# take what the other's fixed-subnet lab was about to create (run 14: "Pool overlaps")
os.environ["LAB_SUBNET_POOL"] = f"172.29.{128 + 32 * _INDEX}.0/19"
# The tests talk only to the lab's containers and 127.0.0.1: never through a proxy the
# environment may name (a CI runner's), for requests, selenium and chromium alike. The lab's
# own code ignores proxies by itself (test_cluster checks `lab status` under a dead one).
LAB_ADDRESSES = "127.0.0.1,localhost,172.29.0.0/16"
for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = ",".join(x for x in (os.environ.get(_var, ""), LAB_ADDRESSES) if x)
TEST_LAB = _prefix(_INDEX)
# every lab name this worker's tests may create
TEST_LABS = _names(TEST_LAB)
# every lab name any worker may create, so a session cleans up what an interrupted one left
ALL_TEST_LABS = tuple(n for i in range(MAX_WORKERS) for n in _names(_prefix(i)))
# modules with labs of their own: run on the other worker than the modules sharing the session's lab
# (balanced by measured times: run 42 gave the side 993 s and the session 744 s; test_soak (84 s),
# which needs only the session's lab, and test_bad_input (39 s) run beside the session's now)
SIDE_MODULES = ("test_fencing", "test_workshop_walk", "test_classroom", "test_workshop_exercises", "test_pacemaker")


def make_config(name: str = TEST_LAB, net: int = MAIN_NET, **changes: object) -> LabConfig:
    """A test lab: fast heartbeat timers, any free local port, subnets 172.29.<net>/24 and <net+1>/24."""
    return LabConfig.numbered(name, net, **changes)



@contextlib.contextmanager
def lab_of_its_own(client: docker.DockerClient, cfg: LabConfig) -> Iterator[LabHandle]:
    """A module's own lab: whatever an interrupted run left under its name removed first,
    started, and removed afterwards whatever happens (a failed test, Ctrl-C)."""
    remove_lab(client, cfg.name, None)
    try:
        yield up(cfg, client=client)
    finally:
        remove_lab(client, cfg.name, None)


def lab_cli(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """`lab ARGS...` in a process of its own, as a user types it."""
    return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def lab_cli_on(lab: LabHandle, *args: str) -> subprocess.CompletedProcess:
    """`lab ARGS... --name LAB`."""
    return lab_cli(*args, "--name", lab.cfg.name)


def checked(lab: LabHandle, step: str) -> tuple[int, dict[str, dict]]:
    """`lab check STEP --json` as a trainee runs it: its exit code and each check by name."""
    res = lab_cli_on(lab, "check", step, "--json")
    return res.returncode, {c["name"]: c for s in json.loads(res.stdout)["steps"] for c in s["checks"]}


def assert_steps_as_expected(result: dict) -> None:
    """Every step of a scenario run held what the scenario table says, and its outage is
    within the bounds the table derives from the timers under test; a failure says which
    phase was slow and where the run's report is."""
    found = scenario.problems(result)
    where = f"\nreport (timeline, JSON): {result['report_dir']}" if result.get("report_dir") else ""
    assert not found, "\n".join(found) + where


def assert_writes_as_promised(result: dict) -> None:
    """The checker saw every request the writes workload made (the agent's own count); where
    the scenario promises it, no acknowledged write was lost: no add missing, nothing that
    was never sent, no acknowledged increment missing from the counter. Where it does not
    (split brain without fencing), the findings are only reported."""
    w = result["writes"]
    c = w["check"]
    assert w["sent"] is not None and w["sent"] == c["attempted"] + c["increments"]["attempted"] == len(w["history"]), \
        (w["sent"], c["attempted"], c["increments"]["attempted"], len(w["history"]))
    assert c["acknowledged"] > 0, "no write was acknowledged at all: the application did not work"
    print(f"\n{result['scenario']}: writes {c['attempted']} adds, {c['acknowledged']} acknowledged, lost "
          f"{len(c['lost'])}, unexpected {len(c['unexpected'])}, recovered {len(c['recovered'])}, duplicated "
          f"{len(c['duplicated'])}; increments lost {c['increments']['lost']} of {c['increments']['acknowledged']}")
    if w["keeps_writes"]:
        assert c["valid"] and c["increments"]["lost"] == 0, \
            f"{result['scenario']} lost acknowledged writes: lost {c['lost']}, unexpected {c['unexpected']}, " \
            f"increments {c['increments']}"
