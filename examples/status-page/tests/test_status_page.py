"""The web1/web2 cluster of cluster/ (its own ha.cf, haresources and a resource script
that keeps status.txt), tested with nothing but the heartbeat-lab plugin's fixtures."""

from __future__ import annotations

import time

import pytest

from lab.model.config import TAKEOVER_BUDGET

STATUS = "status.txt"


def status(ha_lab) -> str:  # noqa: ANN001
    code, body = ha_lab.fetch(STATUS)
    assert code == 200, f"GET /{STATUS}: HTTP {code}"
    return body.strip()


def test_the_cluster_runs_our_files(ha_lab) -> None:  # noqa: ANN001
    # ha.cf's node names are the nodes' hostnames; haresources' node serves
    assert (ha_lab.hostname("ha1"), ha_lab.hostname("ha2")) == ("web1", "web2")
    assert ha_lab.sh("ha1", "uname -n")[1].strip() == "web1"
    assert ha_lab.who_serves() == "ha1"
    assert "see status.txt" in ha_lab.fetch("index.html")[1]  # our www/index.html, from the shared disk
    assert status(ha_lab).startswith("active on web1 since ")
    # the lab says what it changed to run the files: the serial port, the interface, httpd
    assert "serial /dev/ttyS1 -> serial /dev/ttyS0" in ha_lab.about and "httpd -> apache2" in ha_lab.about


def test_a_graceful_failover_moves_the_status_file(ha_lab, ha_faults, ha_probe, ha_audit) -> None:  # noqa: ANN001
    t = time.monotonic()
    ha_faults.fail("stop-heartbeat", "ha1")
    ha_lab.wait_serving("ha2")
    assert status(ha_lab).startswith("active on web2 since ")
    ha_faults.heal()  # heartbeat started again on web1: auto_failback gives the group back
    assert ha_lab.who_serves() == "ha1"
    assert status(ha_lab).startswith("active on web1 since ")
    assert ha_probe.served_by(since=t) == ["ha1", "ha2", "ha1"]
    assert ha_audit(since="fault").ok  # never both owners at once, nobody left owning nothing


def test_a_crash_of_web1_within_the_bounds_of_our_timers(ha_scenario) -> None:  # noqa: ANN001
    result = ha_scenario("hard-kill")
    assert result["passed"], "\n".join(result["problems"])
    crash = result["steps"][0]
    low, high = crash["bounds_s"]  # from ha.cf's deadtime (2 s) and keepalive (200 ms), and the lab's takeover budget
    assert (low, high) == (pytest.approx(1.8), pytest.approx(2.0 + TAKEOVER_BUDGET)) and low <= crash["outage_s"] <= high


def test_a_lab_of_its_own_for_one_test(ha_lab, ha_lab_factory) -> None:  # noqa: ANN001
    # a second cluster with other options, made for this test and removed after it: here the
    # article's machines cabled and nothing configured (the workshop's first stage)
    bare = ha_lab_factory(stage="serial")
    assert bare.cfg.name != ha_lab.cfg.name and bare.cfg.stage == "serial"
    assert bare.sh("ha1", "test -e /etc/ha.d/ha.cf")[0] != 0  # nothing configured there yet
    assert ha_lab.who_serves() == "ha1"  # the session's cluster goes on serving beside it
