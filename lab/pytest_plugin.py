"""The lab as a pytest plugin: install the heartbeat-lab package and a project's tests get a
real two-node heartbeat cluster (ha1, ha2, the NFS server nfsha, the client ha3), from the
project's own heartbeat files, with the faults, the probe, the audit and the scenarios of
the lab's own suite. Registered as a `pytest11` entry point, as testcontainers' and
pytest-docker's fixtures are.

Options (or `addopts` in the project's pytest configuration):
  --lab-from DIR      heartbeat's files to run (ha.cf, haresources, authkeys, resource.d/, www/),
                      checked first (`lab up --from`); without it the article's cluster
  --lab-timing T      the timers when DIR has no ha.cf: fast (default: keepalive 200 ms,
                      deadtime 2 s) or article (deadtime 60 s)
  --lab-name NAME     the lab's name (default pytest-lab): its containers are NAME-ha1, ...
  --lab-subnet NET    the LAN /24 (default: around haresources' address, else a free one)
  --lab-keep          leave the lab running after the session (for a look at it)

Fixtures:
  ha_lab       (session) the running cluster: a Cluster (below); removed at the end of the
               session, also when a test fails or the run is interrupted
  ha_faults    inject faults of the lab's catalogue; heals after the test (ha_faults.fail,
               ha_faults.heal)
  ha_probe     a running probe: GET hostname.html from ha3 20 times a second (.samples,
               .outage(since), .served_by())
  ha_audit     a function: heartbeat's ownership audit of the current fault episode
  ha_scenario  a function: run a named scenario of `lab scenario list`; returns its measured
               outcome (each step's outage against the bounds from the configuration)
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from . import faults, provision, recovery, scenario
from .engine.handle import LabHandle, docker_client
from .model import custom
from .model.allocate import AUTO_FIELDS, default_vip
from .model.config import LabConfig
from .observe import audit as audit_mod
from .observe.probe import Probe, served_by
from .observe.state import fetch, wait_serving, who_serves


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("heartbeat-lab", "heartbeat lab (a two-node heartbeat cluster in containers)")
    g.addoption("--lab-from", default=None, metavar="DIR", help="heartbeat's files to run (lab up --from DIR)")
    g.addoption("--lab-timing", default="fast", choices=("fast", "article"),
                help="timers when DIR has no ha.cf (default fast)")
    g.addoption("--lab-name", default="pytest-lab", help="the lab's name (default pytest-lab)")
    g.addoption("--lab-subnet", default=None, metavar="NET", help="the lab's LAN, a /24")
    g.addoption("--lab-keep", action="store_true", help="leave the lab running after the session")


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # a CI timeout or `kill` still runs the fixtures' teardown: no lab left


def pytest_configure(config: pytest.Config) -> None:
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm)


class Cluster:
    """The `ha_lab` fixture: the running lab, and what a test asks of it."""

    def __init__(self, handle: LabHandle, about: str = ""):
        self.handle = handle
        self.about = about  # what `--lab-from` changed to run the files in containers

    @property
    def cfg(self) -> LabConfig:
        return self.handle.cfg

    @property
    def master(self) -> str:
        return self.cfg.master

    @property
    def backup(self) -> str:
        return self.cfg.backup

    def hostname(self, node: str) -> str:
        """The name heartbeat knows ha1 or ha2 by (ha.cf's node line)."""
        return self.cfg.hb_name(node)

    def fetch(self, page: str = "hostname.html", via: str = "local", timeout: float = 2.0) -> tuple[int, str]:
        """GET a page of the cluster: at the 127.0.0.1 port the lab publishes ("local"), at
        the cluster address ("vip") or from the client ha3 ("ha3")."""
        return fetch(self.handle, page, via=via, timeout=timeout)

    def who_serves(self) -> str | None:
        """ha1 or ha2: the node whose hostname.html the cluster address answers with."""
        return who_serves(self.handle)

    def wait_serving(self, node: str, timeout: float | None = None) -> None:
        """Until `node` answers at the cluster address (default bound: the configuration's
        failover wait, from deadtime and warntime)."""
        wait_serving(self.handle, node, timeout=timeout if timeout is not None else self.cfg.failover_wait)

    def sh(self, node: str, script: str, timeout: float = 30) -> tuple[int, str]:
        """Run a shell script on a host of the lab (ha1, ha2, nfsha, ha3)."""
        res = self.handle.sh(node, script, timeout=timeout)
        return res.code, res.output


class Faults:
    """The `ha_faults` fixture: the lab's fault catalogue (`lab fail --list`)."""

    def __init__(self, lab: LabHandle):
        self.lab = lab
        self.injected: list[tuple[str, str | None]] = []

    def fail(self, fault: str, node: str | None = None) -> None:
        faults.inject(self.lab, fault, node)
        self.injected.append((fault, node))

    def heal(self) -> None:
        """Undo every fault and bring the resources back to the master (`lab heal`)."""
        recovery.heal(self.lab)
        self.injected.clear()


@pytest.fixture(scope="session")
def ha_lab(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    opt = request.config.getoption
    name, subnet, source = opt("--lab-name"), opt("--lab-subnet"), opt("--lab-from")
    cfg = LabConfig(name=name, timing=opt("--lab-timing"), local_port=0)
    if subnet:
        cfg = cfg.with_(lan_subnet=subnet, vip=default_vip(subnet))
    cfg = cfg.resolved()
    about = ""
    auto = frozenset(AUTO_FIELDS) - {"local_port"} - ({"lan_subnet", "vip"} if subnet else set())
    if source:
        cfg, auto, about = custom.apply(source, cfg, auto, place=not subnet)
    client = docker_client()
    provision.remove_lab(client, name, None)  # what an interrupted session of this project left
    handle = provision.up(cfg, client=client, allocate=frozenset(auto))
    try:
        yield Cluster(handle, about)
    finally:
        if not opt("--lab-keep"):
            provision.remove_lab(client, name, None)


@pytest.fixture
def ha_faults(ha_lab: Cluster) -> Iterator[Faults]:
    f = Faults(ha_lab.handle)
    try:
        yield f
    finally:
        if f.injected:
            f.heal()


class RunningProbe(Probe):
    def served_by(self, since: float = 0.0) -> list[str]:
        """The nodes that answered since `since` (time.monotonic()), in order, each once per
        run of answers: [ha1, ha2, ha1] for a failover and failback."""
        return served_by([s for s in self.samples if s.t >= since])


@pytest.fixture
def ha_probe(ha_lab: Cluster) -> Iterator[RunningProbe]:
    with RunningProbe(ha_lab.handle) as probe:
        deadline = time.monotonic() + 10
        while not probe.samples and time.monotonic() < deadline:
            time.sleep(0.05)
        yield probe


@pytest.fixture
def ha_audit(ha_lab: Cluster):  # noqa: ANN201
    """audit(since="fault"|"heal"|"up") -> the lab's Audit (.ok, .split_brain, .report())."""
    def run(since: str = "fault") -> audit_mod.Audit:
        return audit_mod.audit(ha_lab.handle, since=audit_mod.window(ha_lab.handle, since))
    return run


@pytest.fixture
def ha_scenario(ha_lab: Cluster, tmp_path: Path):  # noqa: ANN201
    """run(name) -> the scenario's measured outcome (`lab scenario run NAME --json`): each
    step's "outage_s" against its "bounds_s", its phases, and "passed" (or the "problems"
    found, each saying which phase was slow). A run with problems writes its report (timeline
    picture, JSON) under the test's tmp_path; "report_dir" says where."""
    def run(name: str, **kwargs: Any) -> dict:
        kwargs.setdefault("report_on_problems", tmp_path / f"scenario-{name}")
        result = scenario.run(ha_lab.handle, name, **kwargs)
        result["problems"] = scenario.problems(result)
        result["passed"] = not result["problems"]
        return result
    return run
