"""Fixtures: the lab as the tests see it. One lab per test session (fast timing, its own
name and subnets so it can run beside a workshop lab), removed at the end whatever happens.

`make test` runs on two workers (`-n 2 --dist loadgroup`, pytest-xdist; `-n 0` serially): the
modules that share the session's lab (and the example project) run in one group, the modules
with labs of their own (bad input, fencing, the workshop walk, the classroom, the soak) and the
workshop's exercises in the other, which has a session lab of its own; each worker's names
and subnets are its own."""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

import pytest

from lab.engine.handle import LabHandle, docker_client
from lab.errors import LabError
from lab.provision import remove_lab, up
from lab.pytest_plugin import Cluster

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests" / "e2e"))  # where the tests find it too
from labtest import ALL_TEST_LABS, SIDE_MODULES, TEST_LAB, TEST_LABS, WORKER, make_config  # noqa: E402


def _sigterm(signum, frame):  # noqa: ANN001
    raise KeyboardInterrupt  # so a CI timeout or `kill` still runs the fixtures' cleanup


def pytest_configure(config: pytest.Config) -> None:
    signal.signal(signal.SIGTERM, _sigterm)
    if WORKER:
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
    return bool(getattr(config.option, "numprocesses", None)) or bool(WORKER)


def _remove(names: tuple[str, ...]) -> None:
    try:
        client = docker_client()
    except LabError:
        return
    for name in names:
        remove_lab(client, name, None)


def pytest_sessionstart(session: pytest.Session) -> None:
    # with xdist, the controller clears what an interrupted earlier run left, before any worker starts
    if _distributed(session.config) and not WORKER:
        _remove(ALL_TEST_LABS)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Belt and braces: whatever a test did, leave no lab of the suite's behind. A session that
    # never touched Docker (`make unit`) leaves alone a suite running beside it. With xdist the
    # controller does it once every worker has finished.
    if _distributed(session.config):
        if not WORKER:
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


@pytest.fixture(scope="session")
def ha_lab(lab: LabHandle) -> Cluster:
    """The project's own pytest plugin on the suite's session lab: its fixtures (ha_faults,
    ha_probe, ha_audit, ha_scenario) work on it as in any project's tests, where they fit."""
    return Cluster(lab, about="the test suite's session lab")


REPORTS = Path(__file__).resolve().parent / "reports" / "tests"


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Path:
    """Where a scenario run of this test writes its report (timeline picture, JSON) if a
    step fails: reports/tests/<test>/, kept after the run (scenario.run(report_on_problems=))."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    return REPORTS / request.node.module.__name__.rpartition(".")[2] / name
