"""Validation: every bad input gets one clear error that says what was expected."""

import pytest

from lab.errors import ConfigError
from lab.model.config import FENCE_IPMILAN_POWER_WAIT, IPMI_CALL, TIMINGS, LabConfig, Timing, check_node, check_timing


def problems(**changes: object) -> str:
    with pytest.raises(ConfigError) as exc:
        LabConfig().with_(**changes).validate()
    return str(exc.value)


def test_defaults_follow_the_article_and_are_valid():
    cfg = LabConfig().validate()
    assert cfg.times == Timing(keepalive=2, deadtime=60, warntime=10, initdead=120)
    assert cfg.master == "ha1" and cfg.auto_failback == "on" and cfg.baud == 19200


def test_fast_profile_is_sub_second_with_deadtime_of_one_to_two_seconds():
    fast = TIMINGS["fast"]
    assert fast.keepalive < 1 and 1 <= fast.deadtime <= 2
    assert check_timing(fast) == []


def test_deadtime_must_be_above_twice_keepalive():
    msgs = check_timing(Timing(keepalive=1, deadtime=2, warntime=1, initdead=10))
    assert any("deadtime 2 must be above 2 x keepalive (2)" in m for m in msgs)


def test_initdead_below_deadtime_is_refused():
    msgs = check_timing(Timing(keepalive=1, deadtime=10, warntime=5, initdead=5))
    assert any("initdead 5 must be at least deadtime (10)" in m for m in msgs)


def test_vip_outside_the_subnet_is_refused():
    msg = problems(vip="10.1.2.3")
    assert "VIP 10.1.2.3: outside the LAN subnet 172.29.80.0/24" in msg


def test_vip_inside_dockers_dynamic_range_is_refused():
    msg = problems(vip="172.29.80.50")
    assert "inside docker's dynamic range 172.29.80.0/25" in msg


def test_vip_that_is_not_an_address_is_refused():
    assert "expected an IPv4 address" in problems(vip="ha")


def test_unknown_master_node_is_refused():
    assert "master node 'ha5': unknown node, expected one of ha1, ha2" in problems(master="ha5")


def test_unknown_node_name_is_refused():
    with pytest.raises(ConfigError, match="unknown node 'ha9'"):
        check_node("ha9")
    assert check_node("nfsha") == "nfsha"


def test_bad_lab_name_timing_auth_and_failback_are_each_named():
    msg = problems(name="Bad Name!", timing="slow", auth="rot13", auto_failback="maybe")
    for expected in ("lab name 'Bad Name!'", "timing 'slow'", "auth 'rot13'", "auto_failback 'maybe'"):
        assert expected in msg


def test_serial_network_must_not_ride_on_the_lan():
    assert "overlaps the LAN" in problems(serial_subnet="172.29.80.128/25")


def test_config_round_trips_through_json():
    cfg = LabConfig(name="x1", timing="fast", auth="md5")
    assert LabConfig.from_json(cfg.to_json()) == cfg


def test_each_lab_gets_its_own_random_key():
    assert LabConfig().auth_key != LabConfig().auth_key


def test_timer_overrides_replace_the_profiles_values_and_are_validated():
    cfg = LabConfig(timing="fast", deadtime=1)
    assert cfg.validate().times == Timing(keepalive=0.2, deadtime=1, warntime=1, initdead=4)
    assert "deadtime 300ms must be above 2 x keepalive (400ms)" in problems(timing="fast", deadtime=0.3, warntime=0.2)


def test_fencing_is_checked_and_the_boards_need_a_network_of_their_own():
    with pytest.raises(ConfigError, match="stonith 'apc': expected one of none, ipmi, meatware"):
        LabConfig(stonith="apc").validate()
    with pytest.raises(ConfigError, match="management subnet 172.29.80.0/24 overlaps the LAN"):
        LabConfig(stonith="ipmi", mgmt_subnet="172.29.80.0/24").validate()
    with pytest.raises(ConfigError, match="board password"):
        LabConfig(stonith="ipmi", bmc_password="has space").validate()
    # without boards the management subnet is not used, so it is not checked
    LabConfig(stonith="none", mgmt_subnet="172.29.80.0/24").validate()
    cfg = LabConfig(stonith="ipmi").validate()
    assert (cfg.mgmt_ip("bmc-ha1"), cfg.mgmt_ip("bmc-ha2"), cfg.mgmt_ip("ha3")) == \
        ("172.29.82.101", "172.29.82.102", "172.29.82.30")
    assert cfg.fenced_takeover[1] > cfg.crash_takeover[1]
    assert cfg.fenced_takeover[1] - cfg.crash_takeover[1] == 2 * IPMI_CALL  # external/ipmi: status, reset
    # Pacemaker's fence_ipmilan reboots by off and on: five calls, and its power_wait after each
    pcmk = cfg.with_(stack="pacemaker")
    assert pcmk.fenced_takeover[1] - pcmk.crash_takeover[1] == 5 * IPMI_CALL + 2 * FENCE_IPMILAN_POWER_WAIT


def test_a_numbered_lab_takes_its_lan_vip_and_serial_subnet_from_one_number_and_validates():
    cfg = LabConfig.numbered("side", 104, stonith="ipmi", mgmt_subnet="172.29.88.0/24")
    assert (cfg.lan_subnet, cfg.vip, cfg.serial_subnet) == ("172.29.104.0/24", "172.29.104.200", "172.29.105.0/24")
    assert (cfg.timing, cfg.local_port, cfg.stonith) == ("fast", 0, "ipmi")
    cfg.validate()
