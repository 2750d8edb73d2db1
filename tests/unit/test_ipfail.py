"""What ipfail still means to do, read from a recorded debug log (ha1's, across an isolate,
a heartbeat restart of its peer and a serial cut) and from the lines its give-up writes."""

from pathlib import Path

from lab.observe.ipfail import ASLEEP, HELD, TIMER, pending

LOG = (Path(__file__).parent / "data" / "ha-debug-ipfail.log").read_text()


def line(pid: int, text: str, at: str = "16:40:00") -> str:
    level = "debug" if text.startswith(("Message [", "Other side")) else "info"
    return f"Dec 03 {at} ha1 ipfail: [{pid}]: {level}: {text}\n"


def test_a_recorded_log_where_every_give_up_was_sent_leaves_nothing_pending():
    assert "giveup() called" in LOG and "Delayed giveup in" in LOG
    assert pending(LOG) == (None, "")
    assert pending("") == (None, "")


def test_an_armed_timer_is_pending_until_it_fires_or_is_aborted():
    armed = LOG + line(436, "Delayed giveup in 0 seconds.", "16:40:01")
    assert pending(armed) == (TIMER, "Dec 03 16:40:01")
    assert pending(armed + line(436, "Aborted delayed giveup (4)"))[0] is None


def test_a_give_up_fired_in_a_transition_is_held_until_the_peer_is_stable_then_ipfail_sleeps_and_asks():
    held = LOG + line(436, "Delayed giveup in 0 seconds.") + line(436, "giveup() called (timeout worked)", "16:40:02")
    assert pending(held) == (HELD, "Dec 03 16:40:02")
    # an aborted timer later does not clear need_standby
    again = held + line(436, "Delayed giveup in 0 seconds.") + line(436, "Aborted delayed giveup (5)")
    assert pending(again)[0] == HELD
    asleep = again + line(436, "Other side is now stable.", "16:41:00")
    assert pending(asleep) == (ASLEEP, "Dec 03 16:41:00")
    assert pending(asleep + line(436, "Asking other side for ping node count.", "16:41:10"))[0] is None


def test_only_the_running_ipfail_counts_a_respawned_one_starts_with_nothing_held():
    held = LOG + line(436, "giveup() called (timeout worked)")
    assert pending(held)[0] == HELD
    assert pending(held + line(5439, "Starting node walk"))[0] is None
