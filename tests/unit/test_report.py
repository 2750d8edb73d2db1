"""The report draws and writes from recorded data, with the numbers in the JSON."""

import json

from lab.observe.probe import Sample, summary
from lab.report import write_report
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
