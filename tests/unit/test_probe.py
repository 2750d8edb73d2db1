"""The probe's classification, on a real socket on 127.0.0.1, and its arithmetic on recorded data."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lab.observe.probe import Sample, failure_windows, node_changes, outage, summary
from lab.observe.probe_agent import request

PAGE = b"<html><body>Hello!!! I am being served from a node ha2 in a High Availability Cluster ha</body></html>"


def samples(spec: str, step: float = 0.1) -> list[Sample]:
    """'11..?22' -> ha1, ha1, failed, failed, unknown, ha2, ha2 at t = 0, 0.1, ..."""
    out = []
    for i, c in enumerate(spec):
        t = round(i * step, 3)
        out.append(Sample(t, "failed") if c == "." else Sample(t, "unknown") if c == "?" else Sample(t, "ok", f"ha{c}"))
    return out


def test_outage_is_first_good_after_the_fault_minus_last_good_before():
    assert outage(samples("111...22"), since=0.25) == pytest.approx(0.4)


def test_answers_just_after_the_fault_do_not_hide_the_outage():
    # the old node still answers for a moment after the fault was injected
    assert outage(samples("1111....2"), since=0.05) == pytest.approx(0.5)


def test_timeouts_count_as_not_ok():
    assert outage(samples("11??.2"), since=0.1) == pytest.approx(0.4)


def test_no_failed_request_is_no_outage_and_no_return_is_none():
    assert outage(samples("111222"), since=0.2) == 0.0
    assert outage(samples("111...."), since=0.2) is None


def test_failure_windows_failed_time_and_node_changes():
    rec = samples("11..22?.1111")  # out at 0.2-0.3, back on ha2 at 0.4; out at 0.6-0.7, back on ha1 at 0.8
    assert failure_windows(rec) == [pytest.approx((0.1, 0.4)), pytest.approx((0.5, 0.8))]
    assert node_changes(rec) == 2
    s = summary(rec, since=0.15)
    assert s["failure_windows"] == 2 and s["failed_time_s"] == pytest.approx(0.6)
    assert s["outage_s"] == pytest.approx(0.3) and s["served_by"] == ["ha1", "ha2", "ha1"]
    assert (s["ok"], s["failed"], s["unknown"]) == (8, 3, 1)


# ---- classification against real sockets on 127.0.0.1 ----------------------------------------------
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        status, body = {"/ok": (200, PAGE), "/err": (503, b"down"), "/other": (200, b"It works!")}[self.path]
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # noqa: ANN002
        pass


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def test_200_with_the_page_is_ok_and_names_the_node(server):
    r = request(f"{server}/ok", 0.5, 1.0)
    assert (r["result"], r["node"]) == ("ok", "ha2")


def test_http_error_and_wrong_body_are_failed(server):
    assert request(f"{server}/err", 0.5, 1.0)["result"] == "failed"
    assert request(f"{server}/other", 0.5, 1.0)["detail"] == "wrong body"


def test_refused_is_failed_and_silence_is_unknown():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert request(f"http://127.0.0.1:{port}/", 0.5, 0.5)["detail"] == "ConnectionRefusedError"
    with socket.socket() as silent:  # accepts (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        r = request(f"http://127.0.0.1:{silent.getsockname()[1]}/", 0.5, 0.3)
    assert (r["result"], r["detail"]) == ("unknown", "timeout")


def test_a_step_that_never_got_there_tells_what_the_probe_saw_and_what_the_logs_said():
    from lab.observe.probe import Sample
    from lab.observe.timeline import Event
    from lab.scenario import story

    samples = [Sample(10.0, "ok", "ha1"), Sample(10.5, "failed"), Sample(11.0, "failed"), Sample(14.0, "ok", "ha1")]
    events = [Event(12.0, "ha2", "dead", "ha1 declared dead", ""), Event(13.0, "bmc-ha1", "fence", "reset", "")]
    text = story(samples, events, t0=10.0)
    assert text.splitlines()[0] == "the probe: ha1 from +0.00 s -> failed from +0.50 s -> ha1 from +4.00 s"
    assert "+   2.00 s ha2: ha1 declared dead" in text and "+   3.00 s bmc-ha1: reset" in text
