"""The audit's verdicts and the problems `lab status` lists, on recorded node states."""

from lab.observe.audit import Audit, parse_window
from lab.observe.state import problems

ALL = {"container": "running", "heartbeat": True, "vip": True, "mounted": True, "apache": True}
NONE = {"container": "running", "heartbeat": True, "vip": False, "mounted": False, "apache": False}


def test_one_owner_of_everything_is_ok():
    a = Audit({"vip": ["ha1"], "mounted": ["ha1"], "apache": ["ha1"]})
    assert a.ok and a.owner == "ha1" and not a.split_brain
    assert a.report() == "audit ok: ha1 holds the VIP, /ha and Apache; the other node none"


def test_split_brain_is_named_as_such():
    a = Audit({"vip": ["ha1", "ha2"], "mounted": ["ha1", "ha2"], "apache": ["ha1", "ha2"]})
    assert not a.ok and a.split_brain and a.owner is None
    assert "SPLIT BRAIN: both nodes hold the VIP (ha1, ha2)" in a.report()


def test_resources_split_between_the_nodes_are_reported():
    a = Audit({"vip": ["ha1"], "mounted": ["ha2"], "apache": ["ha2"]})
    assert a.owner is None and not a.ok
    assert "the resources are split between the nodes: vip on ha1, mounted on ha2, apache on ha2" in a.report()


def test_a_log_alarm_or_an_unreadable_node_fails_the_audit_even_with_one_owner():
    owners = {"vip": ["ha1"], "mounted": ["ha1"], "apache": ["ha1"]}
    assert not Audit(owners, log_problems=["ha2: ERROR: Both machines own our resources!"]).ok
    assert not Audit(owners, unreachable=["ha2"]).ok
    assert "ha2: state unreadable" in Audit(owners, unreachable=["ha2"]).report()


def test_status_lists_no_problem_for_a_healthy_cluster():
    assert problems({"ha1": ALL, "ha2": NONE}, "ha1") == []


def test_status_names_split_brain_dead_apache_missing_mount_and_a_silent_url():
    assert problems({"ha1": ALL, "ha2": ALL}, "ha2")[0] == "split brain: ha1 and ha2 both hold the VIP"
    dead_apache = problems({"ha1": {**ALL, "apache": False}, "ha2": NONE}, None)
    assert any("ha1 holds the VIP but Apache is not running" in p for p in dead_apache)
    assert "the cluster URL does not answer although ha1 holds the VIP" in dead_apache
    assert "ha1 holds the VIP but /ha is not mounted" in problems({"ha1": {**ALL, "mounted": False}, "ha2": NONE},
                                                                  "ha1")
    assert problems({"ha1": NONE, "ha2": NONE}, None) == ["no node holds the VIP: the cluster URL is down"]
    # at an early workshop stage heartbeat has not been started: no VIP is expected yet
    unstarted = {**NONE, "heartbeat": False}
    assert problems({"ha1": unstarted, "ha2": unstarted}, None) == []


def test_the_audit_window_is_read_from_the_nodes_record_and_starts_at_the_top_without_one():
    record = "fault 120\nheal 340\nopen\n"
    assert parse_window(record, "fault") == 120
    assert parse_window(record, "heal") == 340
    assert parse_window("", "fault") == 0  # no fault yet: the whole log
    assert parse_window("fault 12\nopen\n", "heal") == 0  # a fault but never a heal
