"""The exercises beyond the article, on the suite's lab (fast timers, the lab's ha.cf with
ipfail and the ping node): each fails with its hint where the trainee's files are not yet
right, and its measured check breaks the cluster and judges what clients saw."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from labtest import checked, lab_cli_on
from lab import heartbeat, scenario
from lab.engine.handle import LabHandle
from lab.model.config import NODES, TIMINGS
from lab.model.contract import FAULT_CHAIN_IN, FAULT_CHAIN_OUT
from lab.observe.state import who_serves
from lab.recovery import heal



@pytest.fixture
def healed(lab: LabHandle) -> LabHandle:
    heal(lab)
    yield lab
    heal(lab)


def edited(lab: LabHandle, node: str, sed: str):  # noqa: ANN201
    """ha.cf on `node` edited by hand (not restarted); the original back afterwards."""
    class Edit:
        def __enter__(self) -> None:
            self.saved = lab.read_file(node, "/etc/ha.d/ha.cf")
            lab.sh(node, f"sed -i '{sed}' /etc/ha.d/ha.cf", check=True)

        def __exit__(self, *exc: object) -> None:
            lab.put_file(node, "/etc/ha.d/ha.cf", self.saved)
    return Edit()


def test_fast_takeover_refuses_slow_timers_and_measures_a_crash_within_5_s(healed: LabHandle):
    with edited(healed, "ha1", "s/^deadtime .*/deadtime 10/"):
        code, checks = checked(healed, "fast-takeover")
        assert code == 1
        assert not checks["fast-timers-ha1"]["ok"] and "deadtime at most 3" in checks["fast-timers-ha1"]["hint"]
        assert not checks["fast-hacf-same"]["ok"]
        assert checks["fast-takeover-measured"]["seen"].startswith("not run")  # nothing was killed
    code, checks = checked(healed, "fast-takeover")  # the lab's fast timers: deadtime 2 s
    assert code == 0, checks
    assert "the crash of the master cost clients" in checks["fast-takeover-measured"]["seen"]


@pytest.mark.slow  # three restarts of the cluster with new timers and a measured crash (about 110 s): make test-slow
def test_timers_a_solution_changes_are_what_status_and_a_scenarios_bounds_read_afterwards(healed: LabHandle):
    lab = healed
    try:
        heartbeat.reconfigure(lab, deadtime=3.0, warntime=1.5)  # a deadtime the solution will change
        assert json.loads(lab_cli_on(lab, "status", "--json").stdout)["timers"]["deadtime"] == 3.0
        solved = lab_cli_on(lab, "solve", "fast-takeover")  # another process changes the running lab
        assert solved.returncode == 0, solved.stdout + solved.stderr
        st = json.loads(lab_cli_on(lab, "status", "--json").stdout)
        assert st["timers"] == {"keepalive": 0.5, "deadtime": 2.0, "warntime": 1.0, "initdead": 4.0}, st
        assert lab.sh("ha1", "grep '^deadtime' /etc/ha.d/ha.cf").output.split()[1] in ("2", "2000ms")
        # the hard kill's bounds come from the deadtime heartbeat now runs with, not the first one
        low, high = scenario.crash(LabHandle.attach(lab.cfg.name, lab.client).cfg)
        assert (low, high) != scenario.crash(lab.cfg)
        run = lab_cli_on(lab, "scenario", "run", "hard-kill")
        kill = next(ln for ln in run.stdout.splitlines() if ln.strip().startswith("kill "))
        assert f"(expected {low:g}..{high:g} s: ok)" in kill, run.stdout + run.stderr
    finally:  # the lab's own timers again (the fast profile), for this handle and every command
        heartbeat.reconfigure(lab, keepalive=None, deadtime=None, warntime=None, initdead=None)
    assert json.loads(lab_cli_on(lab, "status", "--json").stdout)["timers"] == asdict(TIMINGS["fast"])


def test_ipfail_needs_the_ping_node_and_moves_the_service_when_the_master_loses_its_clients(healed: LabHandle):
    with edited(healed, "ha2", "/^ping/d"):
        code, checks = checked(healed, "ipfail")
        assert code == 1 and not checks["ping-node-ha2"]["ok"]
        assert f"ping {healed.cfg.lan_ip('ha3')}" in checks["ping-node-ha2"]["hint"]
    code, checks = checked(healed, "ipfail")
    assert code == 0, checks


def test_split_brain_injected_by_the_lab_is_found_and_healed_by_hand(healed: LabHandle):
    res = lab_cli_on(healed, "exercise", "split-brain")
    assert res.returncode == 0 and "iptables -S" in res.stdout
    code, checks = checked(healed, "split-brain")
    assert code == 1 and not checks["links-up-ha1"]["ok"] and "dead" in checks["links-up-ha1"]["seen"]
    for node in NODES:  # the trainee finds the rules and removes them
        rules = healed.run(node, ["iptables", "-S"]).output
        assert "DROP" in rules
        healed.sh(node, f"iptables -F {FAULT_CHAIN_IN}; iptables -F {FAULT_CHAIN_OUT}", check=True)
    code, checks = checked(healed, "split-brain")
    assert code == 0, checks


def test_auto_failback_off_is_refused_until_set_and_then_the_backup_keeps_the_service(healed: LabHandle):
    code, checks = checked(healed, "auto-failback-off")
    assert code == 1 and not checks["failback-off-ha1"]["ok"]
    assert checks["failback-off-measured"]["seen"].startswith("not run")
    assert who_serves(healed) == healed.cfg.master  # the measured check did not run
    try:
        res = lab_cli_on(healed, "solve", "auto-failback-off")  # the reference solution, then every check
        assert res.returncode == 0, res.stdout + res.stderr
        assert "done  Keep the backup serving after a failover" in res.stdout
        assert who_serves(healed) == healed.cfg.master  # given back afterwards
    finally:
        heartbeat.reconfigure(healed)  # the lab's own ha.cf again: auto_failback on
