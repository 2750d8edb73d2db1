"""Where an outage's seconds go: phases cut from a recorded takeover (ha2's syslog after ha1
was killed), and the verdict that says which part of an out-of-bounds step was slow."""

from pathlib import Path

import pytest

from lab.engine.commands import DID_NOT_RUN, _raced_a_stop
from lab.observe.phases import cut
from lab.observe.timeline import events_from_messages
from lab.scenario import overran

LOG = (Path(__file__).parent / "data" / "messages-hard-kill.log").read_text().splitlines()
EVENTS = events_from_messages("ha2", LOG, wall_to_mono=1795667440.0)  # ha1 declared dead at t = 2.180113
TIMES = {"keepalive": 0.2, "deadtime": 2.0, "warntime": 1.0, "initdead": 4.0}


def test_a_recorded_hard_kill_is_cut_into_detection_release_each_agent_and_the_client():
    phases = cut(0.2, None, (0.15, 2.8), EVENTS, server="ha2")
    d = phases.durations()
    assert list(d) == ["detection", "release", "IPaddr2", "Filesystem", "apache2", "client"]
    assert d["detection"] == pytest.approx(1.980113)  # the kill to "ha1: is dead"
    assert d["release"] == pytest.approx(2.352874 - 2.180113)  # to IPaddr2's start
    assert d["IPaddr2"] == pytest.approx(2.549901 - 2.352874)
    assert d["Filesystem"] == pytest.approx(2.659364 - 2.549901)
    assert d["apache2"] == pytest.approx(2.741802 - 2.659364)  # to heartbeat's "takeover complete"
    assert d["client"] == pytest.approx(2.8 - 2.741802)
    # the phases add up to the fault's distance to the first good answer
    assert sum(d.values()) == pytest.approx(2.8 - 0.2)
    assert phases.takeover == pytest.approx(2.8 - 2.180113)
    assert phases.to_dict()["lead_s"] == pytest.approx(-0.05)


def test_events_of_another_node_or_before_the_fault_are_not_the_takeover():
    assert cut(0.2, None, (0.15, 2.8), EVENTS, server="ha1").starts == ()
    late = cut(2.5, None, (2.5, 2.8), EVENTS, server="ha2")  # after ha2 began: only Filesystem and Apache
    assert [a for a, _ in late.starts] == ["Filesystem", "apache2"]
    assert cut(0.2, 2.4, None, EVENTS, server=None).durations()["client"] is None  # never back: no client phase


def step(outage: float, detection: float, takeover: float, phases: dict) -> dict:
    return {"outage_s": outage, "detection_s": detection, "takeover_s": takeover, "phases_s": phases}


def test_a_late_detection_is_heartbeats_and_a_slow_takeover_names_its_slowest_phase():
    late = overran(step(4.6, 2.5, 2.1, {"detection": 2.5}), TIMES)
    assert late.startswith("detection late") and "deadtime 2 s" in late
    slow = overran(step(4.9, 2.05, 2.85, {"detection": 2.05, "release": 0.3, "IPaddr2": 0.3, "Filesystem": 1.9,
                                          "apache2": 0.2, "client": 0.15}), TIMES)
    assert slow.startswith("takeover slow") and "slowest phase Filesystem 1.90 s" in slow
    assert "no reaction" in overran(step(5.0, None, None, {}), TIMES)  # type: ignore[arg-type]


def test_an_exec_that_lost_the_race_with_a_reset_did_not_run():
    assert _raced_a_stop(None, 126, b"OCI runtime exec failed: exec failed: unable to start container process: "
                                    b"error executing setns process: exit status 1: unknown")
    assert not _raced_a_stop(None, 126, b"bash: /x: Permission denied")  # a command's own 126
    assert not _raced_a_stop(None, 1, b"")
    assert DID_NOT_RUN == -1


def test_a_board_action_is_in_flight_until_its_done_line_and_not_past_staleness():
    from lab.roles.board import ACTION_STALE, unfinished_action
    log = ("2026-12-03T10:00:00.000000+00:00 bmc-ha1 reset ha1\n"
           "2026-12-03T10:00:01.200000+00:00 bmc-ha1 done: reset 1 ha1\n"
           "2026-12-03T10:00:05.000000+00:00 bmc-ha1 power off ha1\n")
    t = 1796292005.0  # 2026-12-03T10:00:05Z
    assert unfinished_action(log, t + 0.5) == "bmc-ha1 power off ha1"
    assert unfinished_action(log + "2026-12-03T10:00:05.900000+00:00 bmc-ha1 done: power 0 ha1\n", t + 1) is None
    assert unfinished_action(log, t + ACTION_STALE + 1) is None  # crashed without its done line
    assert unfinished_action("2026-12-03T10:00:06.000000+00:00 bmc-ha1 refused: not mine\n", t) is None
    assert unfinished_action("", t) is None
