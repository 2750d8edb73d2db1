"""One end-to-end run of the hard-kill scenario with the probe on, its report, and its
timeline placed by heartbeat's microsecond syslog stamps."""

import json

from labtest import assert_steps_as_expected, assert_writes_as_promised
from lab.engine.handle import LabHandle
from lab.observe.state import who_serves
from lab.scenario import run


def test_hard_kill_scenario_measures_the_outage_and_writes_a_readable_report(lab: LabHandle, tmp_path):
    result = run(lab, "hard-kill", where="ha3", report_dir=tmp_path, writes=True)
    kill, heal = result["steps"]
    assert kill["label"] == "kill ha1" and heal["label"] == "heal"
    # a power cut is noticed deadtime after the last heartbeat heard (up to one keepalive before
    # the kill); the takeover then ends within the stated budget
    assert tuple(kill["bounds_s"]) == lab.cfg.crash_takeover
    assert_steps_as_expected(result)
    assert_writes_as_promised(result)
    s = result["summary"]
    assert s["rate_hz"] >= 19 and s["served_by"] == ["ha1", "ha2", "ha1"] and s["node_changes"] == 2
    assert s["failure_windows"] >= 2
    data = json.loads((tmp_path / "report.json").read_text())
    assert (tmp_path / "timeline.png").stat().st_size > 10_000
    assert "<svg" in (tmp_path / "report.html").read_text()
    assert "client writes" in (tmp_path / "report.html").read_text() and data["writes"]["check"]["valid"]
    assert who_serves(lab) == "ha1"

    # the timeline: ha2 declares ha1 dead after the kill and before ha2's first good answer,
    # to within the probe's interval
    interval = 1 / result["probe"]["hz"]
    kill_t = data["marks"][0]["t"]
    dead = [e for e in data["events"] if e["node"] == "ha2" and e["kind"] == "dead" and "ha1 declared dead" in e["text"]]
    assert dead, f"ha2's log should show ha1 declared dead; events: {[(e['node'], e['text']) for e in data['events']]}"
    first_ha2 = min(x["t"] for x in data["samples"] if x["result"] == "ok" and x["node"] == "ha2")
    assert kill_t < dead[0]["t"] < first_ha2 + interval, (kill_t, dead[0]["t"], first_ha2)
    # ha2's takeover steps within that second each have their own instant
    ha2 = [e for e in data["events"] if e["node"] == "ha2" and kill_t < e["t"] < first_ha2 + interval]
    assert len(ha2) >= 3 and len({e["t"] for e in ha2}) == len(ha2), ha2
    # at the failback, ha2 has released the resources before ha1's first good answer
    heal_t = data["marks"][1]["t"]
    released = [e["t"] for e in data["events"] if e["node"] == "ha2" and e["kind"] == "released" and e["t"] > heal_t]
    back = min(x["t"] for x in data["samples"] if x["t"] > heal_t and x["result"] == "ok" and x["node"] == "ha1")
    assert released and released[0] < back + interval, (released, back)
