"""Fixtures: the lab as the tests see it. One lab per test session (fast timing, its own
name and subnets so it can run beside a workshop lab), removed at the end whatever happens."""

from __future__ import annotations

import os
import signal

import pytest

from lab.cluster import Lab, LabError, docker_client, remove_lab
from lab.config import LabConfig

TEST_LAB = os.environ.get("LAB_TEST_NAME", "hatest")
# every lab name the suite may create, so the session cleans them all up
TEST_LABS = (TEST_LAB, f"{TEST_LAB}-fail", f"{TEST_LAB}-bad")


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
    items.sort(key=lambda item: item.get_closest_marker("teardown") is not None)


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
def lab(docker) -> Lab:  # noqa: ANN001
    for name in TEST_LABS:
        remove_lab(docker, name, None)  # leftovers of an interrupted earlier run
    the_lab = Lab(make_config(), client=docker)
    try:
        yield the_lab.up()
    finally:
        the_lab.down(quiet=True)
