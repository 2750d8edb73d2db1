"""The article's failover test, then every failure a two-node heartbeat cluster is meant to
survive, each with its expected outcome asserted and the audit after it. The session's lab
is healed back to its known-good state (both nodes up, ha1 active, no faults) before each."""

from __future__ import annotations

import time

import pytest
import requests

from lab.audit import audit, log_marks
from lab.cluster import Lab
from lab.faults import heal, inject
from lab.probe import Probe
from lab.render import hostname_text, index_text, page_text
from lab.scenario import split_brain
from lab.waiting import wait_until

OUTAGES: dict[str, float | None] = {}  # scenario -> client-visible outage, printed at the end


@pytest.fixture
def healthy(lab: Lab):
    """The lab in its known-good state; yields the ha-log marks the audit reads from."""
    heal(lab)
    assert lab.who_serves() == "ha1"
    yield log_marks(lab)


@pytest.fixture(scope="module", autouse=True)
def outage_table():
    yield
    if OUTAGES:
        print("\nclient-visible outage per scenario:")
        for name, secs in OUTAGES.items():
            print(f"  {name:45} {'no recovery' if secs is None else f'{secs:.2f} s'}")


def probe(lab: Lab) -> Probe:
    """Watch the cluster URL from the client node ha3, 20 requests a second."""
    return Probe(lab, where="ha3", hz=20)


def assert_serves_both_pages(lab: Lab, node: str) -> None:
    code, body = lab.fetch("index.html")
    assert code == 200 and page_text(body) == index_text(lab.cfg)
    code, body = lab.fetch("hostname.html")
    assert code == 200 and page_text(body) == hostname_text(lab.cfg, node)


def assert_audit_clean(lab: Lab, marks: dict[str, int], owner: str) -> None:
    result = audit(lab, since=marks)
    assert result.ok, result.report()
    assert result.owner == owner, result.report()


def link_status(lab: Lab, node: str, link: str) -> str:
    return lab.run(node, ["cl_status", "hblinkstatus", lab.cfg.peer(node), link], timeout=10).output.strip()


def wait_link(lab: Lab, node: str, link: str, status: str) -> None:
    wait_until(f"{node} to see link {lab.cfg.peer(node)}:{link} {status}",
               lambda: ((s := link_status(lab, node, link)) == status, s),
               timeout=lab.failover_bound())


def record(name: str, p: Probe, since: float, lab: Lab, node: str) -> float:
    """Wait until `node` answers the probe, then note the outage since `since`."""
    wait_until(f"{node} to answer the probe",
               lambda: (any(s.node == node and s.t >= since for s in p.samples), p.samples[-1:]),
               timeout=lab.failover_bound())
    OUTAGES[name] = p.outage(since)
    return OUTAGES[name]


# ---- the article's procedure -----------------------------------------------------------------
def test_article_procedure_stop_heartbeat_on_master_then_start_it_again(lab: Lab, healthy):
    assert_serves_both_pages(lab, "ha1")
    with probe(lab) as p:
        t0 = time.monotonic()
        inject(lab, "stop-heartbeat", "ha1")
        lab.wait_serving("ha2", timeout=lab.failover_bound())
        assert time.monotonic() - t0 < 60, "the article: ha2 serves within one minute"
        record("article: heartbeat stop on ha1", p, t0, lab, "ha2")
        assert_serves_both_pages(lab, "ha2")
        assert lab.node_state("ha1") == {"container": "running", "heartbeat": False, "vip": False,
                                         "mounted": False, "apache": False}
        t1 = time.monotonic()
        lab.start_heartbeat("ha1")
        lab.wait_serving("ha1", timeout=lab.failover_bound() + lab.cfg.times.initdead)
        record("article: heartbeat start on ha1 (failback)", p, t1, lab, "ha1")
    assert_serves_both_pages(lab, "ha1")
    assert_audit_clean(lab, healthy, "ha1")


def test_auto_failback_off_keeps_ha2_serving_after_ha1_returns(lab: Lab, healthy):
    lab.reconfigure(auto_failback="off")
    try:
        marks = log_marks(lab)
        inject(lab, "stop-heartbeat", "ha1")
        lab.wait_serving("ha2", timeout=lab.failover_bound())
        lab.start_heartbeat("ha1")
        # ha1 is back in the cluster and has settled: it says it has no resources to acquire
        wait_until("ha1 to join and settle",
                   lambda: ((log := lab.ha_log("ha1", lines=40)).count("Initial resource acquisition complete") > 0
                            and "remote resource transition completed" in log, "not yet"),
                   timeout=lab.failover_bound() + lab.cfg.times.initdead)
        assert lab.run("ha2", ["cl_status", "nodestatus", "ha1"]).output.strip() == "active"
        assert lab.who_serves() == "ha2"
        assert_audit_clean(lab, marks, "ha2")
    finally:
        lab.reconfigure(auto_failback="on")


# ---- node failures --------------------------------------------------------------------------------
def test_hard_kill_of_the_active_node_then_it_rejoins_and_takes_back(lab: Lab, healthy):
    with probe(lab) as p:
        t0 = time.monotonic()
        inject(lab, "kill", "ha1")
        lab.wait_serving("ha2", timeout=lab.failover_bound())
        out = record("hard kill of ha1", p, t0, lab, "ha2")
        assert out is not None and out <= lab.failover_bound()
        assert_serves_both_pages(lab, "ha2")
        # power back: heartbeat starts at boot and, auto_failback on, ha1 takes its resources back
        t1 = time.monotonic()
        lab.container("ha1").start()
        lab.wait_node_ready("ha1")
        lab.wait_serving("ha1", timeout=lab.failover_bound() + lab.cfg.times.initdead)
        record("ha1 powered on again (failback)", p, t1, lab, "ha1")
    assert_audit_clean(lab, healthy, "ha1")


def test_pause_of_the_active_node_ha2_takes_over_and_resume_leaves_one_owner(lab: Lab, healthy):
    with probe(lab) as p:
        t0 = time.monotonic()
        inject(lab, "pause", "ha1")
        lab.wait_serving("ha2", timeout=lab.failover_bound())
        record("pause of ha1 (hung node)", p, t0, lab, "ha2")
        assert lab.node_state("ha2")["vip"]
        lab.container("ha1").unpause()

        def one_owner() -> tuple[bool, str]:
            a = audit(lab)
            return a.owner is not None and not a.split_brain, a.report()

        wait_until("one owner after ha1 resumes", one_owner, timeout=3 * lab.failover_bound())
    result = audit(lab)
    assert result.owner is not None and not result.split_brain, result.report()
    assert lab.who_serves() == result.owner


# ---- the two media -----------------------------------------------------------------------------------
def test_lan_cut_alone_does_not_fail_over_the_serial_cable_carries_the_heartbeat(lab: Lab, healthy):
    inject(lab, "cut-lan")
    for node in ("ha1", "ha2"):
        wait_link(lab, node, "eth0", "dead")
    assert link_status(lab, "ha1", "/dev/ttyS0") == "up"
    assert lab.run("ha2", ["cl_status", "nodestatus", "ha1"]).output.strip() == "active"
    assert lab.who_serves() == "ha1"
    assert_audit_clean(lab, healthy, "ha1")


def test_serial_cut_alone_does_not_fail_over(lab: Lab, healthy):
    inject(lab, "cut-serial")
    for node in ("ha1", "ha2"):
        wait_link(lab, node, "/dev/ttyS0", "dead")
    assert link_status(lab, "ha1", "eth0") == "up"
    assert lab.who_serves() == "ha1"
    assert_audit_clean(lab, healthy, "ha1")


def test_lan_and_serial_cut_is_split_brain_and_heal_leaves_one_owner(lab: Lab, healthy):
    inject(lab, "cut-lan")
    inject(lab, "cut-serial")

    wait_until("both nodes to hold the VIP (split brain)", lambda: split_brain(lab), timeout=lab.failover_bound())
    report = audit(lab).report()
    assert "SPLIT BRAIN: both nodes hold the VIP (ha1, ha2)" in report
    assert lab.status()["problems"][0] == "split brain: ha1 and ha2 both hold the VIP"
    heal(lab)
    result = audit(lab)
    assert result.owner == "ha1" and not result.split_brain, result.report()


def test_active_node_cut_off_from_clients_ipfail_moves_the_resources(lab: Lab, healthy):
    with probe(lab) as p:
        t0 = time.monotonic()
        inject(lab, "isolate", "ha1")
        lab.wait_serving("ha2", timeout=2 * lab.failover_bound())
        record("ha1 cut off the LAN (ipfail)", p, t0, lab, "ha2")
    # ha1 still talks to ha2 over the serial cable and gave its resources up
    assert link_status(lab, "ha1", "/dev/ttyS0") == "up"
    assert lab.node_state("ha1")["vip"] is False
    assert "ipfail" in lab.ha_log("ha1", lines=200)
    result = audit(lab, since=healthy)
    assert result.owner == "ha2", result.report()


# ---- administrative moves ----------------------------------------------------------------------------
def test_hb_standby_and_hb_takeover_move_the_resources(lab: Lab, healthy):
    with probe(lab) as p:
        t0 = time.monotonic()
        inject(lab, "standby", "ha1")
        lab.wait_serving("ha2", timeout=lab.failover_bound())
        record("hb_standby on ha1", p, t0, lab, "ha2")
        assert_audit_clean(lab, healthy, "ha2")
        t1 = time.monotonic()
        inject(lab, "takeover", "ha1")
        lab.wait_serving("ha1", timeout=lab.failover_bound())
        record("hb_takeover on ha1", p, t1, lab, "ha1")
    assert_audit_clean(lab, healthy, "ha1")


# ---- resources failing under heartbeat --------------------------------------------------------------
def test_apache_killed_heartbeat_still_counts_ha1_active_while_the_url_fails(lab: Lab, healthy):
    inject(lab, "kill-apache", "ha1")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{lab.cfg.url}index.html", timeout=2)
    # haresources mode monitors nothing: ha1 keeps the VIP and the mount, ha2 stays idle
    assert lab.node_state("ha1") == {"container": "running", "heartbeat": True, "vip": True, "mounted": True,
                                     "apache": False}
    assert lab.run("ha2", ["cl_status", "nodestatus", "ha1"]).output.strip() == "active"
    assert lab.node_state("ha2")["vip"] is False
    problems = lab.status()["problems"]
    assert any("ha1 holds the VIP but Apache is not running" in p for p in problems), problems


def test_nfs_server_stopped_the_shared_page_hangs_and_comes_back_with_the_server(lab: Lab, healthy):
    inject(lab, "stop-nfs")
    # a hard mount: readers wait for the server instead of failing
    with pytest.raises(requests.Timeout):
        requests.get(f"{lab.cfg.url}index.html", timeout=3)
    assert lab.node_state("ha1")["mounted"]
    lab.container("nfsha").start()
    lab.wait_nfs()

    def index_back() -> tuple[bool, str]:
        r = requests.get(f"{lab.cfg.url}index.html", timeout=3)
        return r.status_code == 200 and page_text(r.text) == index_text(lab.cfg), f"{r.status_code}"

    wait_until("index.html to serve again after nfsha restarts", index_back, timeout=60)
    assert_serves_both_pages(lab, "ha1")


# ---- the article's own timers ---------------------------------------------------------------------
@pytest.mark.slow
def test_article_timing_ha2_serves_about_a_minute_after_a_hard_kill(lab: Lab, healthy):
    lab.reconfigure(timing="article")
    try:
        with probe(lab) as p:
            t0 = time.monotonic()
            inject(lab, "kill", "ha1")
            lab.wait_serving("ha2", timeout=lab.failover_bound())
            took = time.monotonic() - t0
            record("hard kill of ha1, article timing (deadtime 60)", p, t0, lab, "ha2")
        # heartbeat declares ha1 dead deadtime (60 s) after the last heartbeat it heard, which
        # came up to one keepalive (2 s) before the kill, then takes over in a few seconds
        t = lab.cfg.times
        assert t.deadtime - t.keepalive <= took <= t.deadtime + 10, took
    finally:
        # ha1 powers on and rejoins before heartbeat is restarted with the fast timers: a
        # heartbeat stopped during its first initdead (120 s here) would hang its init script
        heal(lab)
        lab.reconfigure(timing="fast")
