"""Fencing: a lab whose nodes have management boards (`lab up --stonith ipmi`). The boards
answer IPMI from ha3 and the nodes, act on their own node's container and nothing else, and
heartbeat resets a dead peer through its board before taking over; a fence that fails means
no takeover. The same lab, reconfigured, shows meatware's wait for an operator."""

from __future__ import annotations

import json

import pytest

from labtest import NETS, TEST_LAB, assert_steps_as_expected, assert_writes_as_promised, lab_of_its_own, make_config
from lab import heartbeat, scenario
from lab.roles import board
from lab.engine.handle import LabHandle
from lab.errors import ConfigError
from lab.observe.state import last_fence, status, who_serves
from lab.recovery import heal
from lab.waiting import wait_until

FENCE_LAB = f"{TEST_LAB}-fence"


@pytest.fixture(scope="module")
def fenced(docker, lab) -> LabHandle:  # noqa: ANN001
    # after the session's lab, whose fixture first clears every test lab an earlier run left
    with lab_of_its_own(docker, make_config(FENCE_LAB, net=NETS["fencing"], stonith="ipmi",
                                            mgmt_subnet=f"172.29.{NETS['fencing-mgmt']}.0/24")) as lab:
        yield lab


@pytest.fixture
def healed(fenced: LabHandle) -> LabHandle:
    heal(fenced)
    return fenced


def test_ipmitool_reaches_each_board_from_ha3_and_from_the_nodes(healed: LabHandle):
    for node in ("ha1", "ha2"):
        for via in ("ha3", "ha1", "ha2"):
            res = board.ipmitool(healed, node, "chassis", "power", "status", via=via)
            assert res.ok and res.output.strip() == "Chassis Power is on", (node, via, res.output)
    # the plain IPMI 1.5 interface answers too; a wrong password is refused
    lan = healed.run("ha3", ["ipmitool", "-I", "lan", "-H", "bmc-ha2", "-U", "admin", "-P", healed.cfg.bmc_password,
                             "chassis", "power", "status"])
    assert lan.ok and "Chassis Power is on" in lan.output, lan.output
    bad = healed.run("ha3", ["ipmitool", "-I", "lanplus", "-C", "3", "-H", "bmc-ha2", "-U", "admin", "-P", "wrong",
                             "chassis", "power", "status"])
    assert not bad.ok, bad.output


def test_a_board_powers_its_node_off_and_on_and_lab_status_shows_it(healed: LabHandle):
    res = board.ipmitool(healed, "ha2", "chassis", "power", "off")
    assert res.ok, res.output
    healed.wait_container("ha2", "exited")
    assert board.power_state(healed, "ha2") == "off"
    assert board.power_state(healed, "ha1") == "on"
    res = board.ipmitool(healed, "ha2", "chassis", "power", "on")
    assert res.ok, res.output
    healed.wait_container("ha2", "running")
    assert board.power_state(healed, "ha2") == "on"
    assert "power off ha2" in board.board_log(healed, "ha2") and "power on ha2" in board.board_log(healed, "ha2")
    # ha1 saw ha2 die and fenced it too (a power on, for a node that is off): let that and
    # ha2's boot (heartbeat starts at boot) finish before the next test heals
    wait_until("ha1 to finish fencing ha2", lambda: (
        (line := last_fence(healed, "ha1")) is None or "now reset" in line, line), healed.cfg.failover_wait)
    heartbeat.wait_joined(healed, "ha2")


def test_a_board_refuses_every_container_but_its_own_node(healed: LabHandle, lab: LabHandle):
    # another node of the same lab, another container of the same lab, a node of another lab
    for env, args in ((None, ("ha2", "get", "power")),
                      (f"BMC_TARGET={healed.cfg.container_name('ha3')}", ("ha1", "get", "power")),
                      (f"BMC_TARGET={lab.cfg.container_name('ha1')}", ("ha1", "set", "power", "0"))):
        cmd = f"{env + ' ' if env else ''}chassis {' '.join(args)} 2>&1"
        res = healed.sh("bmc-ha1", cmd, timeout=30)
        assert res.code == 2 and "refused" in res.output, (cmd, res.code, res.output)
    assert lab.container_status("ha1") == "running"  # the other lab's node was not touched
    assert board.chassis(healed, "ha1", "ha1", "get", "power").output.strip() == "power:1"


def test_a_dead_master_is_reset_through_its_board_before_the_backup_takes_over(healed: LabHandle, tmp_path):
    result = scenario.run(healed, "fenced-kill", report_dir=tmp_path, writes=True)
    assert tuple(result["steps"][0]["bounds_s"]) == healed.cfg.fenced_takeover
    assert_steps_as_expected(result)
    assert_writes_as_promised(result)
    data = json.loads((tmp_path / "report.json").read_text())
    kill_t = data["marks"][0]["t"]
    first_ha2 = min(x["t"] for x in data["samples"] if x["result"] == "ok" and x["node"] == "ha2")
    dead = [e["t"] for e in data["events"] if e["node"] == "ha2" and e["text"] == "ha1 declared dead"]
    reset = [e["t"] for e in data["events"] if e["node"] == "bmc-ha1" and e["kind"] == "fence"]
    # on the timeline: the kill, ha1 declared dead, its board's reset, then ha2's first answer
    assert dead and reset and kill_t < dead[0] < reset[0] < first_ha2, (kill_t, dead, reset, first_ha2)
    assert who_serves(healed) == "ha1"


def test_a_hung_master_is_reset_by_its_board_and_no_acknowledged_write_is_lost(healed: LabHandle, evidence):  # noqa: ANN001
    result = scenario.run(healed, "fenced-pause", writes=True, report_on_problems=evidence)
    assert_steps_as_expected(result)
    assert_writes_as_promised(result)
    assert who_serves(healed) == "ha1"


def test_with_the_management_network_cut_a_dead_master_is_not_taken_over_until_the_fence_succeeds(
        healed: LabHandle, evidence):  # noqa: ANN001
    result = scenario.run(healed, "fence-fails", report_on_problems=evidence)
    assert_steps_as_expected(result)
    waiting = result["steps"][1]
    assert all(h["ok"] for h in waiting["holds"]), waiting
    assert who_serves(healed) == "ha1"


def test_split_brain_with_fencing_ends_with_one_owner(healed: LabHandle, evidence):  # noqa: ANN001
    result = scenario.run(healed, "fenced-split-brain", writes=True, report_on_problems=evidence)
    assert_steps_as_expected(result)
    assert_writes_as_promised(result)
    assert who_serves(healed) == "ha1"


def test_fencing_scenarios_refuse_a_lab_without_the_fencing_they_need(lab: LabHandle):
    with pytest.raises(ConfigError, match="needs a lab with fencing 'ipmi'"):
        scenario.run(lab, "fenced-kill")


def test_meatware_makes_the_takeover_wait_for_the_operator(healed: LabHandle):
    # the module's last test: the lab is removed after it, so it stays on meatware
    heartbeat.reconfigure(healed, stonith="meatware")
    with pytest.raises(ConfigError, match="only the meatware scenario"):
        scenario.run(healed, "hard-kill")
    result = scenario.run(healed, "meatware")
    assert_steps_as_expected(result)
    wait_until("ha1 to serve again", lambda: (who_serves(healed) == "ha1", who_serves(healed)), 60)
    assert not status(healed)["problems"]
