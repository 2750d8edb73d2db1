"""Reading CTS's own results: the overall and per-test counts it prints, its bad news and
its failures, and the verdict the lab draws from them."""

from __future__ import annotations

from pathlib import Path

from lab.cts import CtsResult, parse

OUTPUT = (Path(__file__).parent / "data" / "cts-output.txt").read_text()


def test_a_failed_run_is_read_as_cts_printed_it() -> None:
    r = parse(OUTPUT, CtsResult(seed="40149", iterations=3, tests=["Flip", "SimulStart", "standby"], exit_code=1))
    assert r.overall == {"success": 2, "failure": 1, "BadNews": 1}
    assert r.per_test["Flip"]["failure"] == 1 and r.per_test["standby"]["calls"] == 1
    assert set(r.per_test) == {"Flip", "SimulStart", "standby"}  # "Test Flip failed [...]" is not a result line
    assert r.failures == ["Flip: up->down failure"]
    assert r.bad_news == ["2026-11-26T14:11:04.123456+00:00 ha2 heartbeat: [811]: ERROR: Both machines own our resources!"]
    assert not r.passed
    assert "FAILED" in r.report() and "bad news: " in r.report()


def test_a_clean_run_passes_only_with_every_iteration_a_success() -> None:
    clean = OUTPUT.replace("{'success': 2, 'failure': 1, 'BadNews': 1}", "{'success': 3, 'failure': 0, 'BadNews': 0}")
    assert parse(clean, CtsResult("1", 3, [], exit_code=0)).passed
    assert not parse(clean, CtsResult("1", 4, [], exit_code=0)).passed  # one iteration unaccounted for
    assert not parse(clean, CtsResult("1", 3, [], exit_code=1)).passed  # CTS's exit status disagrees
    assert not parse(clean.replace("'BadNews': 0}", "'BadNews': 0, 'auditfail': 1}"),
                     CtsResult("1", 3, [], exit_code=0)).passed


def test_a_run_that_never_finished_has_no_verdict_of_success() -> None:
    r = parse("Nov 26 14:10:30\tRunning test standby (ha1) \t[1]\nTraceback (most recent call last):\n",
              CtsResult("1", 20, [], exit_code=1))
    assert not r.passed and r.overall == {}
    assert "did not finish" in r.report()
