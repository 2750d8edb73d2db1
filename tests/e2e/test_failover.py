"""The article's failover test, then every failure a two-node heartbeat cluster is meant to
survive. The moves come from the scenario table (lab/scenario.py): each scenario's faults,
the outcome it waits for, what must hold then and the outage a client may see, bounded by
the configuration under test. The session's lab is healed back to its known-good state
(both nodes up, the master active, no faults) before each test."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from lab import heartbeat, scenario
from lab.engine.handle import LabHandle
from lab.faults import inject
from lab.model.render import index_text, page_text
from lab.model.contract import FAULT_CHAIN_IN, HA_LOG
from lab.observe.audit import audit, lines_since, log_marks, window
from lab.observe.probe import Probe
from lab.observe.state import link_status, node_state, peer_status, status, wait_nfs, wait_serving, who_serves
from lab.observe.timeline import LogWatcher
from lab.recovery import heal, needs_healing
from lab.waiting import wait_until

from labtest import assert_steps_as_expected, assert_writes_as_promised

OUTAGES: dict[str, float | None] = {}  # step -> client-visible outage, printed at the end


@pytest.fixture
def healthy(lab: LabHandle):
    """The lab in its known-good state; yields the ha-log marks the audit reads from."""
    heal(lab)
    assert who_serves(lab) == lab.cfg.master
    yield log_marks(lab)


@pytest.fixture(scope="module", autouse=True)
def outage_table():
    yield
    if OUTAGES:
        print("\nclient-visible outage per step:")
        for name, secs in OUTAGES.items():
            print(f"  {name:45} {'no recovery' if secs is None else f'{secs:.2f} s'}")


def assert_audit_clean(lab: LabHandle, marks: dict[str, int], owner: str) -> None:
    result = audit(lab, since=marks)
    assert result.ok, result.report()
    assert result.owner == owner, result.report()


def wait_link(lab: LabHandle, node: str, link: str, state: str) -> None:
    wait_until(f"{node} to see link {lab.cfg.peer(node)}:{link} {state}",
               lambda: ((s := link_status(lab, node, link)) == state, s), timeout=lab.cfg.failover_wait)


# ---- the scenario table: the article's test, node failures, administrative moves, ipfail ----------
# hard-kill runs with its report in test_scenario.py; those that need fencing in test_fencing.py
@pytest.mark.parametrize("name", [n for n, sc in scenario.SCENARIOS.items() if n != "hard-kill" and sc.stonith == "none"])
def test_scenario_moves_the_resources_within_the_bounds_of_its_timers(lab: LabHandle, healthy, name: str,
                                                                      evidence):  # noqa: ANN001
    result = scenario.run(lab, name, writes=True, report_on_problems=evidence)
    for step in result["steps"]:
        OUTAGES[f"{name}: {step['label']}"] = step["outage_s"]
    assert_steps_as_expected(result)
    assert_writes_as_promised(result)
    assert result["summary"]["served_by"][-1] == lab.cfg.master
    assert who_serves(lab) == lab.cfg.master
    if name in ("graceful-stop", "hard-kill", "standby"):
        assert_audit_clean(lab, healthy, lab.cfg.master)
    else:  # a paused, cut-off or split node logs a double owner on its way back; one owner after heal
        after = audit(lab, read_logs=False)
        assert after.owner == lab.cfg.master and not after.split_brain, after.report()
    if name in ("pause", "pause-backup"):
        assert_pause_transient(lab, result, healthy)


def assert_pause_transient(lab: LabHandle, result: dict, marks: dict[str, int]) -> None:
    """A paused node, resumed, owns the resources beside its peer for a moment (no fencing):
    heartbeat logs it, `lab audit` reports it for the episode (and not after
    the heal), the client saw the backup answer between the master's answers; one owner at
    the end."""
    master, backup = lab.cfg.master, lab.cfg.backup
    served = result["summary"]["served_by"]
    assert served[0] == master and backup in served and served[-1] == master, result["summary"]
    heal(lab)
    logged = [n for n in (master, backup) if "Both machines own" in lines_since(lab, n, HA_LOG, marks[n])]
    assert logged, "no 'Both machines own' in either ha-log"
    episode = lab_audit(lab)
    assert episode.returncode == 1 and "Both machines own" in episode.stdout, episode.stdout
    since_heal = lab_audit(lab, "--since", "heal")
    assert since_heal.returncode == 0, since_heal.stdout + since_heal.stderr
    assert_audit_clean(lab, log_marks(lab), master)


def lab_audit(lab: LabHandle, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", "audit", "--name", lab.cfg.name, *args],
                          capture_output=True, text=True, timeout=120)


def test_the_heal_of_a_healthy_lab_only_marks_it_healed_and_a_rule_left_by_hand_is_found(lab: LabHandle, healthy):
    """heal() looks first: a lab in its end state, with no fault since the last heal, is only
    marked healed (nothing restarted); anything off, here a fault rule added by hand without
    `lab fail`, sends it the whole way."""
    pids = {node: master_pid(lab, node) for node in ("ha1", "ha2")}
    before = window(lab, "heal")
    assert needs_healing(lab) is None
    heal(lab)
    assert {node: master_pid(lab, node) for node in ("ha1", "ha2")} == pids
    assert all(after >= before[n] for n, after in window(lab, "heal").items())
    lab.sh("ha2", f"iptables -N {FAULT_CHAIN_IN} 2>/dev/null; iptables -A {FAULT_CHAIN_IN} -s 192.0.2.1/32 -j DROP",
           check=True)
    assert needs_healing(lab) == "ha2: rules='1'"
    heal(lab)
    assert needs_healing(lab) is None
    assert "192.0.2.1" not in lab.run("ha2", ["iptables", "-S", FAULT_CHAIN_IN]).output
    assert who_serves(lab) == lab.cfg.master


def test_a_master_killed_just_after_a_heal_is_declared_dead_after_deadtime_not_later(lab: LabHandle, healthy):
    """For its first 5 s a starting heartbeat advertises deadtime + 2 s to its peer. heal()
    restarts the killed master's heartbeat and returns only once that has lapsed, so a kill
    at once after it is noticed after deadtime, as configured."""
    inject(lab, "kill", "ha1")
    wait_serving(lab, "ha2", timeout=lab.cfg.crash_takeover[1] + heartbeat.START_UP_EXTRA_DEADTIME)
    heal(lab)
    with LogWatcher(lab) as watch:
        t0 = time.monotonic()
        inject(lab, "kill", "ha1")
        wait_serving(lab, "ha2", timeout=lab.cfg.crash_takeover[1] + heartbeat.START_UP_EXTRA_DEADTIME)
    dead = [e.t - t0 for e in watch.sorted_events() if e.node == "ha2" and e.text == "ha1 declared dead" and e.t > t0]
    deadtime = lab.cfg.times.deadtime
    # noticed deadtime after the last heartbeat heard (up to one keepalive before the kill);
    # the start-up dead time would add a whole START_UP_EXTRA_DEADTIME
    assert dead and deadtime - lab.cfg.times.keepalive <= dead[0] < deadtime + heartbeat.START_UP_EXTRA_DEADTIME / 2, \
        (dead, deadtime)


@pytest.mark.slow  # two restarts of the cluster with new timers: in make test-slow
def test_auto_failback_off_keeps_ha2_serving_after_ha1_returns(lab: LabHandle, healthy):
    heartbeat.reconfigure(lab, auto_failback="off")
    try:
        marks = log_marks(lab)
        inject(lab, "stop-heartbeat", "ha1")
        wait_serving(lab, "ha2", timeout=lab.cfg.failover_wait)
        heartbeat.start_heartbeat(lab, "ha1")
        heartbeat.wait_joined(lab, "ha1")
        assert peer_status(lab, "ha2") == "active"
        assert who_serves(lab) == "ha2"
        assert_audit_clean(lab, marks, "ha2")
    finally:
        heartbeat.reconfigure(lab, auto_failback="on")


# ---- the two media -----------------------------------------------------------------------------------
# (these take the faults, the audit and the probe from the project's own pytest plugin, as
# any project's tests would: conftest.py gives its ha_lab the session's lab)
def test_lan_cut_alone_does_not_fail_over_the_serial_cable_carries_the_heartbeat(lab: LabHandle, healthy,
                                                                                 ha_faults, ha_audit, ha_probe):
    since = time.monotonic()
    ha_faults.fail("cut-lan")
    for node in ("ha1", "ha2"):
        wait_link(lab, node, "eth0", "dead")
    assert link_status(lab, "ha1", "/dev/ttyS0") == "up"
    assert peer_status(lab, "ha2") == "active"
    assert who_serves(lab) == "ha1"
    assert ha_probe.served_by(since) == ["ha1"]  # ha3 saw only ha1 answer all along
    result = ha_audit("fault")
    assert result.ok and result.owner == "ha1", result.report()


def test_serial_cut_alone_does_not_fail_over_and_the_mended_cable_carries_heartbeats_again(lab: LabHandle, healthy):
    pids = {node: master_pid(lab, node) for node in ("ha1", "ha2")}
    inject(lab, "cut-serial")
    opened = window(lab, "fault")  # the first fault since the heal opens `lab audit`'s window ...
    assert all(opened[n] >= healthy[n] for n in ("ha1", "ha2")), (opened, healthy)
    inject(lab, "cut-serial")
    assert window(lab, "fault") == opened  # ... and later faults of the same episode keep it
    for node in ("ha1", "ha2"):
        wait_link(lab, node, "/dev/ttyS0", "dead")
    assert link_status(lab, "ha1", "eth0") == "up"
    assert who_serves(lab) == "ha1"
    assert_audit_clean(lab, healthy, "ha1")
    # mended, the same heartbeats hear each other on it again: a cut cable hangs nothing up
    heal(lab)
    closed = window(lab, "heal")
    assert all(closed[n] >= opened[n] for n in ("ha1", "ha2")), (closed, opened)
    for node in ("ha1", "ha2"):
        wait_link(lab, node, "/dev/ttyS0", "up")
        assert master_pid(lab, node) == pids[node], f"heartbeat on {node} was restarted"
        log = lines_since(lab, node, HA_LOG, healthy[node])
        assert "EOF in ttygets" not in log, log[-2000:]


def master_pid(lab: LabHandle, node: str) -> str:
    return lab.sh(node, "pgrep -xf 'heartbeat: master control process'", check=True).output.strip()


# ---- resources failing under heartbeat --------------------------------------------------------------
def test_apache_killed_heartbeat_still_counts_ha1_active_while_the_url_fails(lab: LabHandle, healthy, ha_faults):
    ha_faults.fail("kill-apache", "ha1")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{lab.cfg.url}index.html", timeout=2)
    # haresources mode monitors nothing: ha1 keeps the VIP and the mount, ha2 stays idle
    assert node_state(lab, "ha1") == {"container": "running", "heartbeat": True, "vip": True, "mounted": True,
                                      "apache": False}
    assert peer_status(lab, "ha2") == "active"
    assert node_state(lab, "ha2")["vip"] is False
    problems = status(lab)["problems"]
    assert any("ha1 holds the VIP but Apache is not running" in p for p in problems), problems


def test_nfs_server_stopped_the_shared_page_hangs_and_comes_back_with_the_server(lab: LabHandle, healthy,
                                                                                 ha_faults):
    ha_faults.fail("stop-nfs")
    # a hard mount: readers wait for the server instead of failing
    with pytest.raises(requests.Timeout):
        requests.get(f"{lab.cfg.url}index.html", timeout=3)
    assert node_state(lab, "ha1")["mounted"]
    lab.container("nfsha").start()
    wait_nfs(lab)

    def index_back() -> tuple[bool, str]:
        r = requests.get(f"{lab.cfg.url}index.html", timeout=3)
        return r.status_code == 200 and page_text(r.text) == index_text(lab.cfg), f"{r.status_code}"

    # nfs4fuse retries a hard mount's calls every second once the server is back
    wait_until("index.html to serve again after nfsha restarts", index_back, timeout=lab.cfg.failover_wait)


# ---- the article's own timers ---------------------------------------------------------------------
@pytest.mark.slow
def test_article_timing_ha2_serves_about_a_minute_after_a_hard_kill(lab: LabHandle, healthy):
    heartbeat.reconfigure(lab, timing="article")
    try:
        with Probe(lab, where="ha3", hz=20) as p:
            t0 = time.monotonic()
            inject(lab, "kill", "ha1")
            wait_serving(lab, "ha2", timeout=lab.cfg.failover_wait)
            wait_until("ha2 to answer the probe", lambda: (any(s.node == "ha2" for s in p.samples), "not yet"),
                       timeout=10)
            OUTAGES["hard kill of ha1, article timing (deadtime 60)"] = out = p.outage(t0)
        low, high = lab.cfg.crash_takeover
        assert out is not None and low <= out <= high, (out, (low, high))
    finally:
        # ha1 powers on and rejoins before heartbeat is restarted with the fast timers: a
        # heartbeat stopped during its first initdead (120 s here) would hang its init script
        heal(lab)
        heartbeat.reconfigure(lab, timing="fast")
