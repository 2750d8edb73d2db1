"""Fixtures: the lab as the tests see it. One lab per test session (fast timing, its own
name and subnets so it can run beside a workshop lab), removed at the end whatever happens."""

from __future__ import annotations

import os
import signal

import pytest

from lab.engine.handle import LabHandle, docker_client
from lab.errors import LabError
from lab.model.config import LabConfig
from lab.provision import remove_lab, up

TEST_LAB = os.environ.get("LAB_TEST_NAME", "hatest")
# every lab name the suite may create, so the session cleans them all up
TEST_LABS = (TEST_LAB, f"{TEST_LAB}-fail", f"{TEST_LAB}-bad", f"{TEST_LAB}-a", f"{TEST_LAB}-b",
             f"{TEST_LAB}-c01", f"{TEST_LAB}-c02", f"{TEST_LAB}-walk", f"{TEST_LAB}-fence")


def make_config(name: str = TEST_LAB, net: int = 90, **changes: object) -> LabConfig:
    """A test lab: fast heartbeat timers, any free local port, subnets 172.29.<net>/24 and <net+1>/24."""
    return LabConfig(
        name=name,
        timing="fast",
        local_port=0,
        lan_subnet=f"172.29.{net}.0/24",
        vip=f"172.29.{net}.200",
        serial_subnet=f"172.29.{net + 1}.0/24",
    ).with_(**changes)


def _sigterm(signum, frame):  # noqa: ANN001
    raise KeyboardInterrupt  # so a CI timeout or `kill` still runs the fixtures' cleanup


def pytest_configure(config: pytest.Config) -> None:
    signal.signal(signal.SIGTERM, _sigterm)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
    # the fast unit tests first, then end to end; the teardown test last
    items.sort(key=lambda item: (item.get_closest_marker("teardown") is not None,
                                 item.get_closest_marker("e2e") is not None))


_USED_DOCKER = False  # set once a test of this session touched Docker


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Belt and braces: whatever a test did, leave no lab of the suite's behind. A session that
    # never touched Docker (`make unit`) leaves alone a suite running beside it.
    if not _USED_DOCKER:
        return
    try:
        client = docker_client()
    except LabError:
        return
    for name in TEST_LABS:
        remove_lab(client, name, None)


@pytest.fixture(scope="session")
def docker():  # noqa: ANN201
    global _USED_DOCKER
    try:
        client = docker_client()
        _USED_DOCKER = True
        return client
    except LabError as exc:
        pytest.skip(f"needs Docker: {exc}")


@pytest.fixture(scope="session")
def lab(docker) -> LabHandle:  # noqa: ANN001
    for name in TEST_LABS:
        remove_lab(docker, name, None)  # leftovers of an interrupted earlier run
    try:
        yield up(make_config(), client=docker)
    finally:
        remove_lab(docker, TEST_LAB, None)


def assert_steps_as_expected(result: dict) -> None:
    """Every step of a scenario run held what the scenario table says, and its outage is
    within the bounds the table derives from the timers under test."""
    for step in result["steps"]:
        for held in step["holds"]:
            assert held["ok"], f"after {step['label']}: expected {held['what']}; saw {held['seen']}"
        if step["bounds_s"] is not None:
            low, high = step["bounds_s"]
            assert step["within_bounds"], (f"{step['label']}: outage {step['outage_s']} s, expected between "
                                           f"{low:g} and {high:g} s (timers {result['times']})")


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
