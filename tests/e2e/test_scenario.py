"""One end-to-end run of a scenario with the probe on, and its report."""

import json

from lab.cluster import Lab
from lab.scenario import run


def test_hard_kill_scenario_measures_the_outage_and_writes_a_readable_report(lab: Lab, tmp_path):
    result = run(lab, "hard-kill", where="ha3", report_dir=tmp_path)
    kill, heal = result["steps"]
    assert kill["label"] == "kill ha1" and heal["label"] == "heal"
    # a power cut is noticed deadtime after the last heartbeat heard (up to one keepalive before
    # the kill), and the takeover ends within the failover bound
    t = lab.cfg.times
    assert t.deadtime - t.keepalive <= kill["outage_s"] <= lab.failover_bound()
    assert heal["outage_s"] is not None
    s = result["summary"]
    assert s["rate_hz"] >= 19 and s["served_by"] == ["ha1", "ha2", "ha1"] and s["node_changes"] == 2
    assert s["failure_windows"] >= 2
    data = json.loads((tmp_path / "report.json").read_text())
    kinds = {(e["node"], e["kind"]) for e in data["events"]}
    assert ("ha2", "dead") in kinds, "ha2's log should show ha1 declared dead"
    assert (tmp_path / "timeline.png").stat().st_size > 10_000
    assert "<svg" in (tmp_path / "report.html").read_text()
    assert lab.who_serves() == "ha1"
