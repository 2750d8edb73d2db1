"""The report draws and writes from recorded data, with the numbers in the JSON."""

import json

from lab.observe.probe import Sample, summary
from matplotlib.colors import to_rgb

from lab.report import VERDICT_COLORS, draw_soak, serving_runs, write_report
from lab.observe.timeline import Event, Mark, classify


def test_heartbeat_log_lines_become_timeline_events():
    assert classify("Nov 25 09:19:00 ha2 heartbeat: [228]: WARN: node ha1: is dead") == ("dead", "ha1 declared dead")
    assert classify("ResourceManager(default)[413]:    info: Running /etc/init.d/apache2  start") == (
        "resource", "apache2 start")
    assert classify("heartbeat: [206]: info: Local Resource acquisition completed.")[0] == "acquired"
    assert classify("heartbeat: [1]: ERROR: Both machines own our resources!") == ("alarm", "Both machines own")
    assert classify("glib: ucast: set SO_REUSEADDR") is None


def test_report_writes_png_html_with_svg_and_json(tmp_path):
    samples = [Sample(10 + i * 0.05, "ok", "ha1") for i in range(20)]
    samples += [Sample(11 + i * 0.05, "failed", detail="ConnectionRefusedError") for i in range(30)]
    samples += [Sample(12.5 + i * 0.05, "ok", "ha2") for i in range(20)]
    marks = [Mark(10.9, "kill ha1")]
    events = [Event(12.2, "ha2", "dead", "ha1 declared dead", "node ha1: is dead"),
              Event(12.45, "ha2", "acquired", "acquired", "mach_down takeover complete")]
    result = {"scenario": "hard-kill", "help": "power cut", "timing": "fast", "t0": 10.9,
              "times": {"keepalive": 0.2, "deadtime": 2, "warntime": 1, "initdead": 4},
              "probe": {"where": "ha3", "hz": 20, "url": "http://x/hostname.html"},
              "steps": [{"label": "kill ha1", "t": 10.9, "outage_s": 1.55}], "summary": summary(samples, 10.9)}
    files = write_report(tmp_path, result, samples, events, marks)
    assert (tmp_path / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "report.html").read_text()
    assert "<svg" in page and "kill ha1" in page and "node ha1: is dead" in page
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["summary"]["outage_s"] == 1.55 and data["summary"]["failure_windows"] == 1
    assert len(data["samples"]) == 70 and data["events"][0]["kind"] == "dead"
    assert files["png"].endswith("timeline.png")


def test_runs_of_equal_answers_are_merged_each_ending_where_the_next_begins():
    samples = [Sample(0.0, "ok", "ha1"), Sample(0.05, "ok", "ha1"), Sample(0.1, "failed"), Sample(0.15, "unknown"),
               Sample(0.2, "unknown"), Sample(0.25, "ok", "ha2"), Sample(0.3, "ok", "ha1")]
    assert serving_runs(samples) == [(0.0, 0.1, "ha1"), (0.1, 0.15, "failed"), (0.15, 0.25, "unknown"),
                                     (0.25, 0.3, "ha2"), (0.3, 0.35, "ha1")]


def test_a_soak_of_an_hour_is_drawn_with_a_lane_per_fault_kind_and_its_faults_coloured_by_verdict(tmp_path):
    t0 = 1000.0
    samples = [Sample(t0 + i * 0.05, "ok", "ha1" if (i // 2000) % 2 == 0 else "ha2") for i in range(72000)]
    faults = [{"index": i + 1, "label": label, "hold": 5.0, "t": t0 + 30 * i, "served": "ha2", "outage_s": out,
               "bounds_s": None, "anomalies": [], "expected": expected, "unexpected": unexpected, "heal_s": 4.0,
               "heal_error": "", "log_lines": []}
              for i, (label, out, expected, unexpected) in enumerate([
                  ("kill ha1", 2.5, [], []), ("pause ha2", 0.0, ["double-owner"], []),
                  ("cut-lan", 0.0, [], ["double-owner"]), ("kill-apache ha1", None, ["outage"], [])])]
    marks = [m for f in faults for m in (Mark(f["t"], f["label"]), Mark(f["t"] + 10, "heal"))]
    result = {"scenario": "soak (seed 1, 4 faults)", "help": "soak", "timing": "fast", "t0": t0, "seconds": 3600.0,
              "times": {"keepalive": 0.2, "deadtime": 2, "warntime": 1, "initdead": 4},
              "probe": {"where": "ha3", "hz": 20, "url": "http://x/hostname.html"}, "passed": False,
              "verdict": "1 unexpected anomal(ies), 0 failed heal(s)",
              "unexpected_anomalies": 1, "heals_failed": 0, "faults_run": faults,
              "steps": [{"label": f"{f['index']}. {f['label']}", "outage_s": f["outage_s"],
                         "notes": ", ".join([f"{a} (expected)" for a in f["expected"]]
                                            + [f"{a} UNEXPECTED" for a in f["unexpected"]])} for f in faults],
              "summary": summary(samples, t0)}
    fig = draw_soak(result, samples, marks)
    client, lanes, outages = fig.axes
    assert [t.get_text() for t in lanes.get_yticklabels()] == ["cut-lan", "kill ha1", "kill-apache ha1", "pause ha2"]
    colours = {tuple(c.get_facecolor()[0][:3]) for c in lanes.collections if c.get_hatch() is None}
    assert {to_rgb(VERDICT_COLORS[v]) for v in ("as declared", "expected transient", "UNEXPECTED")} <= colours
    assert outages.get_xlabel() == "min since the soak began"
    assert len(client.collections) == 2  # ha1 and ha2: one bar collection per colour, not one per request
    files = write_report(tmp_path, result, samples, [], marks)
    assert (tmp_path / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and files["html"]
    page = (tmp_path / "report.html").read_text()
    assert "outage per fault" in page and "<td>2. pause ha2</td><td>0.00 s</td><td>double-owner (expected)</td>" in page
    assert "<td>3. cut-lan</td><td>0.00 s</td><td>double-owner UNEXPECTED</td>" in page
    assert "1 unexpected anomal(ies)" in fig._suptitle.get_text()
