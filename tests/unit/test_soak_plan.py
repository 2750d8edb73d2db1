"""The soak's sequence, its expectations and its judgement, without containers."""

from lab import faults
from lab.model.config import NODES, LabConfig
from lab.model.pacemaker import monitor_s
from lab.soak import (DOUBLE_OWNER, EXPECT, MONITORED, NO_PING_FAILOVER, OUTAGE, WRONG_SERVER, Action, StepResult, catalogue, expectation,
                      hold_bounds, judge, per_kind, plan)

CFG = LabConfig().with_(timing="fast")
PCMK = CFG.with_(stack="pacemaker")


def test_the_same_seed_draws_the_same_sequence_and_another_seed_another():
    assert plan(CFG, 40, "7") == plan(CFG, 40, "7")
    assert plan(CFG, 40, "7") != plan(CFG, 40, "8")
    assert [a.index for a in plan(CFG, 5, "7")] == [1, 2, 3, 4, 5]
    assert plan(CFG, 3, "7") == plan(CFG, 40, "7")[:3]  # so `--faults K` replays the first K steps
    # and `--start J --faults K` faults J to K, numbered as in the whole sequence
    assert [a.index for a in plan(CFG, 40, "7")[37 - 1:]] == [37, 38, 39, 40]


def test_the_sequence_draws_from_the_whole_catalogue_on_both_nodes_with_holds_from_the_timers():
    low, high = hold_bounds(CFG)
    assert low == CFG.times.deadtime + 2 and high > low
    drawn = plan(CFG, 400, "1")
    assert {(a.fault, a.node) for a in drawn} == set(catalogue(CFG))
    assert all(low <= a.hold <= high for a in drawn)
    assert {"pause", "kill", "isolate"} <= {a.fault for a in drawn if a.node == NODES[1]}


def test_every_fault_of_the_catalogue_declares_what_it_does():
    names = {name for name, _ in catalogue(CFG)}
    assert names == set(faults.FAULTS) - {"cut-mgmt"}  # a new fault must say what it does
    for name, node in catalogue(CFG):
        assert expectation(CFG, Action(1, name, node, 5.0)).why


def test_a_resumed_backup_owning_the_resources_beside_the_master_is_an_expected_transient():
    pause_backup = Action(1, "pause", CFG.backup, 5.0)
    anomalies, expected, unexpected, _ = judge(CFG, pause_backup, CFG.master, 0.0, True, ["ha1: Both machines own"])
    assert anomalies == [DOUBLE_OWNER] and expected == [DOUBLE_OWNER] and unexpected == []


def test_a_double_owner_after_a_lan_cut_or_an_outage_beyond_the_bound_is_unexpected():
    cut = Action(1, "cut-lan", None, 5.0)
    assert judge(CFG, cut, CFG.master, 0.0, True, ["ha2: Both machines own"])[2] == [DOUBLE_OWNER]
    assert judge(CFG, cut, CFG.master, 0.6, True, [])[2] == [OUTAGE]
    kill = Action(1, "kill", CFG.master, 5.0)
    assert judge(CFG, kill, CFG.backup, 3.0, True, [])[0] == []  # within deadtime + 2 s
    assert judge(CFG, kill, CFG.backup, 9.0, True, [])[2] == [OUTAGE]
    assert judge(CFG, kill, CFG.master, None, False, [])[2] == [WRONG_SERVER, OUTAGE]
    assert judge(CFG, kill, None, None, False, [])[2] == [OUTAGE]  # nobody answering is an outage


def test_the_nfs_server_stopped_may_hang_hostname_html_until_the_heal_but_another_server_is_unexpected():
    stop = Action(1, "stop-nfs", None, 5.0)
    assert judge(CFG, stop, CFG.master, 0.0, True, [])[0] == []
    anomalies, expected, unexpected, _ = judge(CFG, stop, None, None, False, [])
    assert anomalies == expected == [OUTAGE] and unexpected == []
    assert judge(CFG, stop, CFG.backup, 0.0, True, [])[2] == [WRONG_SERVER]


def test_apache_killed_on_the_master_is_an_outage_until_the_heal_and_that_is_expected():
    act = Action(1, "kill-apache", CFG.master, 5.0)
    anomalies, expected, unexpected, _ = judge(CFG, act, None, None, False, [])
    assert expected == [OUTAGE] and unexpected == []


def test_on_pacemaker_apache_killed_is_restarted_by_the_monitor_and_the_master_serves_again_within_it():
    act = Action(1, "kill-apache", PCMK.master, 5.0)
    bound = monitor_s(PCMK)
    assert judge(PCMK, act, PCMK.master, bound * 0.9, True, [])[0] == []
    # the heartbeat lab's expectation (nobody until the heal) would call this a wrong server
    assert judge(CFG, act, CFG.master, bound * 0.9, True, [])[2] == [WRONG_SERVER]
    # not restarted by the end of the hold, or far later than the monitor's interval: unexpected
    assert judge(PCMK, act, None, None, False, [])[2] == [OUTAGE]
    assert judge(PCMK, act, PCMK.master, bound + 30, True, [])[2] == [OUTAGE]
    # the backup runs no Apache on either stack
    assert expectation(PCMK, Action(1, "kill-apache", PCMK.backup, 5.0)) == expectation(CFG, Action(1, "kill-apache", CFG.backup, 5.0))


def test_on_pacemaker_an_isolated_master_keeps_its_resources_until_the_heal():
    act = Action(1, "isolate", PCMK.master, 5.0)
    anomalies, expected, unexpected, _ = judge(PCMK, act, None, None, False, [])
    assert anomalies == expected == [OUTAGE] and unexpected == []
    assert judge(PCMK, act, PCMK.backup, 3.0, True, [])[2] == [WRONG_SERVER]
    assert expectation(CFG, act).serves == "backup"  # heartbeat's ipfail hands over


def test_per_kind_counts_runs_outages_anomalies_and_heals():
    def step(i: int, label: str, out: float | None, heal: float, unexpected=(), error="") -> StepResult:
        return StepResult(i, label, 5.0, 0.0, "ha1", out, None, list(unexpected), [], list(unexpected), heal, error)
    kinds = per_kind([step(1, "kill ha1", 2.0, 3.0), step(2, "kill ha1", 4.0, 5.0, [OUTAGE]),
                      step(3, "cut-lan", 0.0, 1.0), step(4, "kill ha1", None, 9.0, error="no")])
    k = kinds["kill ha1"]
    assert k["runs"] == 3 and k["outage_s"]["min"] == 2.0 and k["outage_s"]["max"] == 4.0
    assert k["no_recovery_until_heal"] == 1 and k["unexpected"] == {OUTAGE: 1} and k["heals_failed"] == 1
    assert k["heal_s"]["max"] == 5.0  # a failed heal's time is not a heal time
    assert kinds["cut-lan"]["runs"] == 1


def test_every_expectation_is_for_a_fault_that_exists():
    assert {name for name, _ in EXPECT} <= set(faults.FAULTS)
    assert set(MONITORED) | set(NO_PING_FAILOVER) <= set(EXPECT)  # alternatives to a declared expectation
    for name, node in catalogue(PCMK):
        assert expectation(PCMK, Action(1, name, node, 5.0)).why
