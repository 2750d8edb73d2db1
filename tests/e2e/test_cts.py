"""Linux-HA's own Cluster Test Suite, run from ha3 against the suite's lab: CTS's verdict,
not the lab's, decides."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from lab import cts, heartbeat
from lab.exerciser import logs_forwarded
from lab.model.contract import CLUSTER_LOG
from lab.model.config import CLIENT, NODES
from lab.model.contract import HA_LOG
from lab.observe.audit import line_count, lines_since
from lab.observe.state import wait_serving, who_serves
from lab.recovery import heal
from lab.waiting import wait_until

# CTS draws its tests at random from this seed: these 11 iterations run each of the 11
# tests that apply to a haresources cluster once (the test checks that they did); about 5 min,
# so in `make test-slow` (and `make bench-cts` runs 20)
SEED = "40149"
# `make test` runs three of them: a failover and back (Flip), a node's heartbeat restarted
# (Restart) and the time the peer takes to declare a killed node dead (DetectionTime)
SHORT = ("Flip", "Restart", "DetectionTime")


def test_ha3_reaches_the_nodes_as_root_and_reads_their_syslog(lab) -> None:  # noqa: ANN001
    for node in NODES:
        res = lab.sh(CLIENT, f"ssh {node} 'id -u; hostname'")
        assert res.ok and res.output.split() == ["0", node], res.output
    key = lab.read_file(CLIENT, "/root/.ssh/id_ed25519.pub").decode()
    assert f"heartbeat-lab {lab.cfg.name} exerciser" in key  # made for this lab, not baked into the image
    mark = f"cts-test-{lab.cfg.name}"
    lab.sh(NODES[1], f"logger -p local0.info {mark}", check=True)
    logs_forwarded(lab)
    lines = [ln for ln in lab.read_file(CLIENT, CLUSTER_LOG).decode().splitlines() if mark in ln]
    assert lines and f" {NODES[1]} " in lines[-1], lines


def test_cts_runs_three_of_its_tests_from_ha3_and_every_one_passes_without_bad_news(lab, tmp_path) -> None:  # noqa: ANN001
    result = cts.run(lab, tests=list(SHORT), iterations=len(SHORT), seed=SEED, report_dir=tmp_path)
    print("\n" + result.report())
    calls = {name: stats.get("calls", 0) for name, stats in result.per_test.items()}
    assert sum(calls.values()) == len(SHORT) and set(calls) <= set(SHORT), calls  # CTS drew from these only
    for name, stats in result.per_test.items():
        assert stats["success"] == stats["calls"], (name, stats)
    assert result.overall.get("BadNews") == 0, result.bad_news
    assert result.overall.get("success") == len(SHORT), result.overall
    assert result.passed, result.report()
    assert "Overall Results:" in (tmp_path / "cts.log").read_text()
    assert who_serves(lab) == lab.cfg.master


@pytest.mark.slow  # about 5 min: in make test-slow
def test_cts_runs_every_applicable_test_and_reports_no_bad_news(lab, tmp_path) -> None:  # noqa: ANN001
    tests = cts.applicable(lab)
    result = cts.run(lab, iterations=len(tests), seed=SEED, report_dir=tmp_path)
    print("\n" + result.report())
    ran = {name for name, stats in result.per_test.items() if stats.get("calls", 0) > 0}
    assert ran == set(tests), f"seed {SEED} was expected to draw every test once; CTS ran {sorted(ran)}"
    for name, stats in result.per_test.items():
        assert stats["success"] == stats["calls"], (name, stats)
    assert result.overall.get("BadNews") == 0, result.bad_news
    assert result.passed, result.report()
    # the report folder holds CTS's own log and the nodes' syslog of the run
    saved = json.loads((tmp_path / "cts.json").read_text())
    assert saved["passed"] and saved["overall"] == result.overall
    assert "Overall Results:" in (tmp_path / "cts.log").read_text()
    assert "Initial resource acquisition complete" in (tmp_path / "cluster.log").read_text()
    # and the lab is back as it was: the master serves
    assert who_serves(lab) == lab.cfg.master


def test_cts_refuses_an_unknown_test_before_touching_the_cluster(lab) -> None:  # noqa: ANN001
    proc = subprocess.run([sys.executable, "-m", "lab", "cts", "--name", lab.cfg.name, "--tests", "Flip,Nope"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "unknown CTS test(s) Nope" in proc.stderr and "Flip" in proc.stderr
    assert "Stonith" not in cts.applicable(lab)  # no boards on this lab: no Stonith test


def test_a_node_started_alone_does_not_hear_its_stopped_peer_and_stops_once_joined(lab) -> None:  # noqa: ANN001
    """Found by CTS (StartOnebyOne, SpecialTest1): the pty behind /dev/ttyS0 queued what the
    peer sent while no heartbeat read it, and a later start read a stopped peer's last
    "active" heartbeats. The cable now flushes what queued before heartbeat starts. Then the
    sequence of the stop that hung: the master started alone, joined by its peer, stopped."""
    master, backup = lab.cfg.master, lab.cfg.backup
    try:
        heartbeat.stop_heartbeat(lab, master)  # the backup takes over and sends heartbeats ...
        heartbeat.stop_heartbeat(lab, backup)  # ... that nobody on the master reads, then stops
        mark = line_count(lab, master, HA_LOG)
        heartbeat.start_heartbeat(lab, master)
        wait_until(f"{master} to finish its start-up round alone",
                   lambda: ("Initial resource acquisition complete" in lines_since(lab, master, HA_LOG, mark), "not yet"),
                   timeout=lab.cfg.start_wait)
        log = lines_since(lab, master, HA_LOG, mark)
        assert f"Status update for node {backup}: status active" not in log, log
        assert f"Link {backup}:/dev/ttyS0 up" not in log, log
        # "complete" is logged as the takeover starts: the resource scripts run after it
        wait_serving(lab, master, timeout=lab.cfg.failover_wait)
        heartbeat.start_heartbeat(lab, backup)
        heartbeat.wait_joined(lab, backup)
        t0 = time.monotonic()
        heartbeat.stop_heartbeat(lab, master)
        took = time.monotonic() - t0
        assert took < lab.cfg.failover_wait, f"heartbeat stop on {master} took {took:.1f} s"
        wait_serving(lab, backup, timeout=lab.cfg.handover_limit)
    finally:
        heal(lab)
