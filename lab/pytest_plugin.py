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
  --lab-stonith S     fencing: none (default), ipmi (emulated IPMI boards) or meatware
  --lab-name NAME     the lab's name (default pytest-RUN, RUN a random id of the session): its
                      containers are NAME-ha1, ...; under pytest-xdist each worker's lab is
                      NAME-gwN. A lab of that name already on the engine is an error: the
                      plugin removes only the labs its own session made
  --lab-subnet NET    the LAN /24 (default: around haresources' address, else a free one)
  --lab-keep          leave the labs running after the session (for a look at them)

Several sessions (two CI jobs on one engine, xdist workers) each get their own lab, with
free addresses and a free 127.0.0.1 port; no fixed name, address or port to collide on.

Fixtures:
  ha_lab       (session) the running cluster: a Cluster (below); removed at the end of the
               session, also when a test fails or the run is interrupted (Ctrl-C, SIGTERM
               while a lab exists)
  ha_lab_factory  a function: ha_lab_factory(stage=..., stonith=..., from_dir=..., timing=...)
               makes another lab inside a test, with its own options, and returns its
               Cluster; each is removed when the test ends
  ha_faults    inject faults of the lab's catalogue (`lab fail --help` lists them); heals
               after the test (ha_faults.fail, ha_faults.heal)
  ha_probe     a running probe: GET hostname.html from ha3 20 times a second (.samples,
               .outage(since), .served_by())
  ha_audit     a function: heartbeat's ownership audit of the current fault episode
  ha_scenario  a function: run a named scenario of `lab scenario list`; returns its measured
               outcome (each step's outage against the bounds from the configuration), as
               `lab scenario run NAME --json` prints it
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import faults, provision, recovery, scenario
from .engine.handle import LabHandle, docker_client
from .model import custom
from .model.allocate import AUTO_FIELDS, default_vip
from .model.config import STONITH, LabConfig
from .observe import audit as audit_mod
from .observe.probe import Probe, served_by
from .observe.state import fetch, wait_serving, who_serves


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("heartbeat-lab", "heartbeat lab (a two-node heartbeat cluster in containers)")
    g.addoption("--lab-from", default=None, metavar="DIR", help="heartbeat's files to run (lab up --from DIR)")
    g.addoption("--lab-timing", default="fast", choices=("fast", "article"),
                help="timers when DIR has no ha.cf (default fast)")
    g.addoption("--lab-stonith", default="none", choices=STONITH,
                help="fencing: none (default), ipmi (emulated IPMI boards) or meatware")
    g.addoption("--lab-name", default=None, metavar="NAME",
                help="the lab's name (default pytest-RUN, a random id per session; -gwN added per xdist worker)")
    g.addoption("--lab-subnet", default=None, metavar="NET", help="the lab's LAN, a /24 (default: a free one)")
    g.addoption("--lab-keep", action="store_true", help="leave the labs running after the session")


class _Interrupts:
    """While a lab of the session exists, SIGTERM (a CI job's timeout, `kill`) interrupts pytest
    as Ctrl-C does, so the fixtures' teardown still removes the labs; outside that time, and in
    a pytest run that never makes a lab, the process's handler is left alone."""

    def __init__(self) -> None:
        self.labs = 0
        self.before: object = None

    def enter(self) -> None:
        if self.labs == 0 and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            self.before = signal.signal(signal.SIGTERM, self._sigterm)
        self.labs += 1

    def leave(self) -> None:
        self.labs -= 1
        if self.labs == 0 and self.before is not None:
            signal.signal(signal.SIGTERM, self.before)  # type: ignore[arg-type]
            self.before = None

    @staticmethod
    def _sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt


_interrupts = _Interrupts()


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


_NAME = pytest.StashKey[str]()


def _base_name(config: pytest.Config) -> str:
    """The session's lab name: --lab-name or pytest-RUN (RUN random, chosen once per session,
    so two sessions on one engine never share a name), with the xdist worker's id."""
    if _NAME not in config.stash:
        name = config.getoption("--lab-name") or f"pytest-{secrets.token_hex(3)}"
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        config.stash[_NAME] = f"{name}-{worker}" if worker else name
    return config.stash[_NAME]


def _make(name: str, *, timing: str, stonith: str, subnet: str | None, source: str | Path | None,
          stage: str | None = None) -> Cluster:
    """A lab of its own name (refused, nothing made, if the engine has one of that name: the
    plugin never removes a lab it did not make), checked and started as `lab up` does."""
    cfg = LabConfig(name=name, timing=timing, stonith=stonith, local_port=0, **({"stage": stage} if stage else {}))
    if subnet:
        cfg = cfg.with_(lan_subnet=subnet, vip=default_vip(subnet))
    cfg = cfg.resolved()
    about = ""
    auto = frozenset(AUTO_FIELDS) - {"local_port"} - ({"lan_subnet", "vip"} if subnet else set())
    if source:
        before = auto
        cfg, auto, about = custom.apply(str(source), cfg, auto, place=not subnet)
        if "vip" in before - auto:  # the files' address: kept if its LAN is free, else moved (under the lock)
            cfg = cfg.with_(site_vip=cfg.vip)
    handle = provision.up(cfg, client=docker_client(), allocate=frozenset(auto))
    if handle.cfg.site_vip and handle.cfg.vip != handle.cfg.site_vip:
        about += (f"\n  haresources: {handle.cfg.site_vip} -> {handle.cfg.vip}: another lab on this engine holds "
                  f"{handle.cfg.site_vip}'s LAN, so this lab runs the cluster at an address of its own")
    return Cluster(handle, about)


@pytest.fixture(scope="session")
def ha_lab(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    opt = request.config.getoption
    name = _base_name(request.config)
    _interrupts.enter()
    try:
        cluster = _make(name, timing=opt("--lab-timing"), stonith=opt("--lab-stonith"), subnet=opt("--lab-subnet"),
                        source=opt("--lab-from"))
        try:
            yield cluster
        finally:
            if not opt("--lab-keep"):
                provision.remove_lab(cluster.handle.client, name, None)
    finally:
        _interrupts.leave()


@pytest.fixture
def ha_lab_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., Cluster]]:
    """make(stage=None, stonith="none", from_dir=None, timing="fast", subnet=None) -> a Cluster
    of a lab of its own (named after the session's, -f1, -f2, ...), removed when the test ends."""
    opt = request.config.getoption
    made: list[Cluster] = []
    base = _base_name(request.config)

    def make(stage: str | None = None, stonith: str = "none", from_dir: str | Path | None = None,
             timing: str = "fast", subnet: str | None = None) -> Cluster:
        _interrupts.enter()
        try:
            cluster = _make(f"{base}-f{len(made) + 1}", timing=timing, stonith=stonith, subnet=subnet,
                            source=from_dir, stage=stage)
        except BaseException:
            _interrupts.leave()
            raise
        made.append(cluster)
        return cluster

    try:
        yield make
    finally:
        for cluster in made:
            try:
                if not opt("--lab-keep"):
                    provision.remove_lab(cluster.handle.client, cluster.cfg.name, None)
            finally:
                _interrupts.leave()


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
