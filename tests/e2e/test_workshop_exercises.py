"""The exercises beyond the article, on the suite's lab (fast timers, the lab's ha.cf with
ipfail and the ping node): each fails with its hint where the trainee's files are not yet
right, and its measured check breaks the cluster and judges what clients saw."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lab import heartbeat
from lab.engine.handle import LabHandle
from lab.model.config import NODES
from lab.model.contract import FAULT_CHAIN_IN, FAULT_CHAIN_OUT
from lab.observe.state import who_serves
from lab.recovery import heal


def lab_cli(lab: LabHandle, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lab", *args, "--name", lab.cfg.name],
                          capture_output=True, text=True, timeout=600)


def checked(lab: LabHandle, name: str) -> tuple[int, dict[str, dict]]:
    res = lab_cli(lab, "check", name, "--json")
    report = json.loads(res.stdout)
    return res.returncode, {c["name"]: c for s in report["steps"] for c in s["checks"]}


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


def test_ipfail_needs_the_ping_node_and_moves_the_service_when_the_master_loses_its_clients(healed: LabHandle):
    with edited(healed, "ha2", "/^ping/d"):
        code, checks = checked(healed, "ipfail")
        assert code == 1 and not checks["ping-node-ha2"]["ok"]
        assert f"ping {healed.cfg.lan_ip('ha3')}" in checks["ping-node-ha2"]["hint"]
    code, checks = checked(healed, "ipfail")
    assert code == 0, checks


def test_split_brain_injected_by_the_lab_is_found_and_healed_by_hand(healed: LabHandle):
    res = lab_cli(healed, "exercise", "split-brain")
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
        res = lab_cli(healed, "solve", "auto-failback-off")  # the reference solution, then every check
        assert res.returncode == 0, res.stdout + res.stderr
        assert "done  Keep the backup serving after a failover" in res.stdout
        assert who_serves(healed) == healed.cfg.master  # given back afterwards
    finally:
        heartbeat.reconfigure(healed)  # the lab's own ha.cf again: auto_failback on
