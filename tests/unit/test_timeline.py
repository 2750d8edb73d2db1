"""The timeline reads heartbeat's events from rsyslog's RFC 3339 stamps, to the microsecond."""

from pathlib import Path

from lab.observe.timeline import classify, events_from_messages, parse_stamp

LOG = (Path(__file__).parent / "data" / "messages-hard-kill.log").read_text().splitlines()


def test_stamps_are_parsed_to_the_microsecond_with_their_offset():
    assert parse_stamp("2026-11-26T04:30:42.180113+00:00") == 1795667442.180113
    assert parse_stamp("2026-11-26T05:30:42.180113+01:00") == parse_stamp("2026-11-26T04:30:42.180113Z")


def test_events_of_a_recorded_takeover_keep_their_order_and_spacing():
    events = events_from_messages("ha2", LOG, wall_to_mono=1795667440.0)
    kinds = [e.kind for e in events]
    assert kinds == ["dead", "dead", "dead", "acquire", "acquire", "resource", "resource", "resource", "acquired",
                     "acquired"]
    assert [e.text for e in events[:1] + events[5:8]] == ["ha1 declared dead", "IPaddr2 start", "Filesystem start",
                                                           "apache2 start"]
    # on the monotonic clock (wall minus the offset), 0.5 s between "dead" and Apache's start
    assert round(events[0].t, 6) == 2.180113
    assert round(events[7].t - events[0].t, 6) == 0.479251
    assert all(e.node == "ha2" for e in events)


def test_lines_without_a_high_precision_stamp_are_left_out():
    events = events_from_messages("ha2", LOG, wall_to_mono=0.0)
    assert not any("traditional format" in e.line for e in events)
    assert events_from_messages("ha2", ["Nov 26 04:30:42 ha2 heartbeat: [241]: WARN: node ha1: is dead"], 0.0) == []


def test_only_lines_worth_showing_are_classified():
    assert classify("info: Link 172.29.80.30:172.29.80.30 up.") is None
    assert classify("WARN: node ha1: is dead") == ("dead", "ha1 declared dead")
    assert classify("ERROR: Both machines own our resources!") == ("alarm", "Both machines own")


def test_a_fenced_power_cut_on_pacemaker_reads_as_the_same_story_in_the_same_words():
    # ha2's syslog, recorded on a `--stack pacemaker --stonith ipmi` lab: ha1 killed at about 56.0
    from lab.observe.phases import cut

    log = (Path(__file__).parent / "data" / "messages-pacemaker-fenced-kill.log").read_text().splitlines()
    events = events_from_messages("ha2", log, wall_to_mono=parse_stamp("2026-12-06T01:38:55.000000+00:00"))
    assert [(e.kind, e.text) for e in events] == [
        ("dead", "token lost"), ("dead", "ha1 declared dead"), ("fence", "fencing ha1 (reboot)"),
        ("fence", "ha1 fenced"), ("resource", "IPaddr2 start"), ("resource", "Filesystem start"),
        ("resource", "apache2 start")]
    # Corosync's consensus (2.4 s at fast timing) lies between the token's loss and the node's
    assert 2.3 < events[1].t - events[0].t < 2.5
    phases = cut(1.0, None, (1.0, 9.0), events, server="ha2")
    assert [a for a, _ in phases.starts] == ["IPaddr2", "Filesystem", "apache2"]
    assert round(phases.detection, 3) == round(events[0].t - 1.0, 3)
