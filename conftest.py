"""Fixtures: the lab as the tests see it. One lab per test session (fast timing, its own
name and subnets so it can run beside a workshop lab), removed at the end whatever happens.

`make test` runs on two workers (`-n 2 --dist loadgroup`, pytest-xdist; `-n 0` serially): the
modules that share the session's lab run in one group, the modules with labs of their own (bad
input, fencing, the workshop walk, the classroom, the soak, the example project) and the
workshop's exercises in the other, which has a session lab of its own; each worker's names
and subnets are its own."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from lab import scenario
from lab.engine.handle import LabHandle, docker_client
from lab.errors import LabError
from lab.model.config import LabConfig
from lab.provision import remove_lab, up

BASE_NAME = os.environ.get("LAB_TEST_NAME", "hatest")
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw1" on xdist's second worker, "" without xdist
_INDEX = int(_WORKER[2:]) if _WORKER.startswith("gw") else 0
MAX_WORKERS = 4
# the session's lab: subnets 172.29.90/91 on the first worker, 108/109, 112/113 ... on others
MAIN_NET = 90 if _INDEX == 0 else 104 + 4 * _INDEX


def _prefix(index: int) -> str:
    return BASE_NAME if index == 0 else f"{BASE_NAME}-w{index}"


def _names(prefix: str) -> tuple[str, ...]:
    return (prefix, f"{prefix}-fail", f"{prefix}-bad", f"{prefix}-a", f"{prefix}-b", f"{prefix}-c01",
            f"{prefix}-c02", f"{prefix}-walk", f"{prefix}-fence", f"{prefix}-soak", f"{prefix}-example")


TEST_LAB = _prefix(_INDEX)
# every lab name this worker's tests may create
TEST_LABS = _names(TEST_LAB)
# every lab name any worker may create, so a session cleans up what an interrupted one left
ALL_TEST_LABS = tuple(n for i in range(MAX_WORKERS) for n in _names(_prefix(i)))
# modules with labs of their own: run on the other worker than the modules sharing the session's lab
# (measured on two workers: the session lab's modules took 16 min and these 8; the workshop's
# exercises and the example project moved here, each worker now has about 12 min)
SIDE_MODULES = ("test_fencing", "test_workshop_walk", "test_classroom", "test_soak", "test_bad_input",
                "test_workshop_exercises", "test_own_cluster")


def make_config(name: str = TEST_LAB, net: int = MAIN_NET, **changes: object) -> LabConfig:
    """A test lab: fast heartbeat timers, any free local port, subnets 172.29.<net>/24 and <net+1>/24."""
    return LabConfig.numbered(name, net, **changes)


def _sigterm(signum, frame):  # noqa: ANN001
    raise KeyboardInterrupt  # so a CI timeout or `kill` still runs the fixtures' cleanup


def pytest_configure(config: pytest.Config) -> None:
    signal.signal(signal.SIGTERM, _sigterm)
    if _WORKER:
        config.pluginmanager.register(_GroupsHonoured(), "heartbeat-lab-groups")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            side = item.module.__name__.rpartition(".")[2] in SIDE_MODULES
            item.add_marker(pytest.mark.xdist_group("side-labs" if side else "session-lab"))
    # the fast unit tests first, then end to end; the teardown test last
    items.sort(key=lambda item: (item.get_closest_marker("teardown") is not None,
                                 item.get_closest_marker("e2e") is not None))


class _GroupsHonoured:
    """On an xdist worker, after xdist has put each test's group into its id: a module with a
    lab of its own split over two workers would make two of that lab, so refuse to run."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if not config.getvalue("loadgroup"):
            return
        lost = [item.nodeid for item in items if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
        if lost:
            raise pytest.UsageError(f"pytest-xdist ignored the test groups ({lost[0]} has none in its id): this "
                                    f"pytest ({pytest.__version__}) and pytest-xdist do not work together; "
                                    "reinstall with `make venv` (pyproject.toml pins them)")


_USED_DOCKER = False  # set once a test of this session touched Docker


def _distributed(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) or bool(_WORKER)


def _remove(names: tuple[str, ...]) -> None:
    try:
        client = docker_client()
    except LabError:
        return
    for name in names:
        remove_lab(client, name, None)


def pytest_sessionstart(session: pytest.Session) -> None:
    # with xdist, the controller clears what an interrupted earlier run left, before any worker starts
    if _distributed(session.config) and not _WORKER:
        _remove(ALL_TEST_LABS)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Belt and braces: whatever a test did, leave no lab of the suite's behind. A session that
    # never touched Docker (`make unit`) leaves alone a suite running beside it. With xdist the
    # controller does it once every worker has finished.
    if _distributed(session.config):
        if not _WORKER:
            _remove(ALL_TEST_LABS)
    elif _USED_DOCKER:
        _remove(TEST_LABS)


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
def lab(docker, request) -> LabHandle:  # noqa: ANN001
    if not _distributed(request.config):
        for name in ALL_TEST_LABS:
            remove_lab(docker, name, None)  # leftovers of an interrupted earlier run
    try:
        yield up(make_config(), client=docker)
    finally:
        remove_lab(docker, TEST_LAB, None)


REPORTS = Path(__file__).resolve().parent / "reports" / "tests"


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Path:
    """Where a scenario run of this test writes its report (timeline picture, JSON) if a
    step fails: reports/tests/<test>/, kept after the run (scenario.run(report_on_problems=))."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    return REPORTS / request.node.module.__name__.rpartition(".")[2] / name


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
