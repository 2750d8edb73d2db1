"""The class's front door without containers: credentials, the slowing of wrong answers, who
may open what, the class's record and its progress over time, the roster."""

import csv
import io
import json
import stat

import pytest

from lab.errors import ConfigError
from lab.frontdoor.access import REACHABLE, Who, container_for, may_act, may_open, parse_ssh_user
from lab.frontdoor.keys import Limiter, check_password, hash_password, new_credential, same_credential
from lab.frontdoor.record import INSTRUCTOR, TRAINEE, ClassRecord, Progress, class_dir
from lab.frontdoor.roster import render
from lab.frontdoor.server import Listen, tls_context
from lab.model.config import LabConfig


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("LAB_STATE_HOME", str(tmp_path))
    return tmp_path


def test_a_credential_is_128_random_bits_typed_in_groups_and_never_the_same_twice():
    made = {new_credential() for _ in range(200)}
    assert len(made) == 200
    one = made.pop()
    letters = one.replace("-", "")
    assert len(letters) == 26 and set(letters) <= set("abcdefghijklmnopqrstuvwxyz234567")  # 26 base32 characters carry the 128 bits
    assert all(len(g) == 4 for g in one.split("-")[:-1])
    assert same_credential(one.upper().replace("-", "- "), one)  # as a person may type it
    assert not same_credential(one[:-1], one) and not same_credential("", one)


def test_the_instructors_password_is_kept_as_a_salted_scrypt_hash_only():
    stored = hash_password("correct horse battery")
    assert "correct" not in stored and stored.startswith("scrypt$")
    assert check_password("correct horse battery", stored)
    assert not check_password("correct horse batterx", stored)
    assert hash_password("same") != hash_password("same")  # salted
    assert not check_password("x", "garbage")


def test_wrong_answers_are_free_three_times_then_each_next_try_waits_twice_as_long_up_to_a_minute():
    now = [100.0]
    lim = Limiter(clock=lambda: now[0])
    for _ in range(3):
        assert lim.wait("1.2.3.4/trainee01") == 0
        lim.failed("1.2.3.4/trainee01")
    assert lim.wait("1.2.3.4/trainee01") == 1.0
    assert lim.wait("1.2.3.4/trainee02") == 0  # another login from the same address is not slowed
    now[0] += 1.0
    assert lim.wait("1.2.3.4/trainee01") == 0
    lim.failed("1.2.3.4/trainee01")
    assert lim.wait("1.2.3.4/trainee01") == 2.0
    for _ in range(20):
        lim.failed("1.2.3.4/trainee01")
    assert lim.wait("1.2.3.4/trainee01") == 60.0
    lim.succeeded("1.2.3.4/trainee01")
    assert lim.wait("1.2.3.4/trainee01") == 0


def test_a_trainee_opens_only_their_own_lab_and_only_its_four_containers_the_instructor_every_lab():
    me, boss = Who(TRAINEE, "trainee05"), Who(INSTRUCTOR)
    assert may_open(me, "trainee05") and not may_open(me, "trainee06") and not may_open(None, "trainee05")
    assert may_open(boss, "trainee06")
    assert may_act(boss) and not may_act(me) and not may_act(None)
    assert container_for(me, "trainee05", "nfsha") == ("trainee05", "nfsha")
    with pytest.raises(PermissionError, match="may not open lab 'trainee06'"):
        container_for(me, "trainee06", "ha1")
    for outside in ("bmc-ha1", "ha1-bmc", "host", "../ha1", "docker"):
        with pytest.raises(PermissionError):
            container_for(me, "trainee05", outside)
    assert set(REACHABLE) == {"ha1", "ha2", "nfsha", "ha3"}


def test_the_session_cookie_says_who_and_nothing_else_parses_as_someone():
    for who in (Who(TRAINEE, "trainee05"), Who(INSTRUCTOR)):
        assert Who.from_cookie(who.cookie()) == who
    for bad in (None, "", "trainee:", "root", "instructor:x"):
        assert Who.from_cookie(bad) is None


def test_an_ssh_user_is_a_lab_and_maybe_a_node_of_it():
    assert parse_ssh_user("trainee05") == ("trainee05", None)
    assert parse_ssh_user("trainee05+ha1") == ("trainee05", "ha1")
    for bad in ("trainee05+bmc", "root@x", "Trainee05", "+ha1", "a b"):
        with pytest.raises(ConfigError):
            parse_ssh_user(bad)


def test_the_record_is_private_to_the_instructor_and_holds_one_credential_per_lab(state):
    rec = ClassRecord.new("tr", ["tr01", "tr02"], hash_password("instructor pass")).save()
    mode = stat.S_IMODE(rec.path.stat().st_mode)
    assert mode == 0o600 and stat.S_IMODE(class_dir("tr").stat().st_mode) == 0o700
    again = ClassRecord.load("tr")
    assert again == rec and len(set(again.credentials.values())) == 2
    assert all("tr0" not in c for c in again.credentials.values())  # never derived from the name
    with pytest.raises(ConfigError, match="no roster"):
        ClassRecord.load("nosuchclass")


def test_progress_records_each_steps_first_pass_the_time_spent_and_who_made_it_pass(state):
    p = Progress("tr")
    p.begin("tr01", at=1000.0)
    assert p.observe("tr01", ["serial-cable"], at=1060.0) == ["serial-cable"]
    assert p.observe("tr01", ["serial-cable"], at=1100.0) == []  # first pass only
    p.solved_by_instructor("tr01", ["nfs-export"])
    p.observe("tr01", ["serial-cable", "nfs-export"], at=1300.0)
    p.save()
    back = Progress.load("tr")
    t = back.timeline("tr01", ["serial-cable", "nfs-export", "nfs-mount"], now=1500.0)
    assert [x["step"] for x in t] == ["serial-cable", "nfs-export", "nfs-mount"]
    assert t[0] == {"step": "serial-cable", "passed_at": 1060.0, "by": TRAINEE, "seconds": 60.0}
    assert t[1]["by"] == INSTRUCTOR and t[1]["seconds"] == 240.0
    assert t[2]["current"] and t[2]["seconds"] == 200.0  # stuck on it since nfs-export passed
    back.begin("tr01", at=2000.0)  # a reset: the clock starts again
    assert back.timeline("tr01", ["serial-cable"], now=2010.0) == [
        {"step": "serial-cable", "passed_at": None, "by": None, "seconds": 10.0, "current": True}]


def test_the_roster_gives_each_trainee_their_url_credential_ssh_command_and_cluster_address(state):
    rec = ClassRecord.new("tr", ["tr01", "tr02"], hash_password("x" * 12))
    rec.served = {"url": "https://class.example:8443/", "ssh_host": "class.example", "ssh_port": 2222,
                  "ssh_fingerprint": "SHA256:abc"}
    cfgs = {"tr01": LabConfig(name="tr01", lan_subnet="172.29.80.0/24", vip="172.29.80.200")}
    rows = list(csv.DictReader(io.StringIO(render(rec, cfgs, "csv"))))
    assert rows[0]["url"] == "https://class.example:8443/lab/tr01/" and rows[0]["password"] == rec.credentials["tr01"]
    assert rows[0]["ssh"] == "ssh -p 2222 tr01@class.example" and rows[0]["cluster_address"] == "172.29.80.200"
    data = json.loads(render(rec, cfgs, "json"))
    assert [t["lab"] for t in data["trainees"]] == ["tr01", "tr02"]
    html = render(rec, cfgs, "html")
    assert html.count('class="card"') == 2 and rec.credentials["tr02"] in html and "page-break" in html


def test_listen_addresses_and_tls_files_are_checked_before_anything_is_served(tmp_path):
    assert Listen.parse("0.0.0.0:8443") == Listen("0.0.0.0", 8443) and not Listen("0.0.0.0", 1).loopback
    assert Listen.parse("127.0.0.1:0").loopback and Listen.parse("[::1]:80").loopback
    for bad in ("8443", "host:", "host:99999", "host:http"):
        with pytest.raises(ConfigError, match="expected HOST:PORT"):
            Listen.parse(bad)
    assert tls_context(None, None) is None
    with pytest.raises(ConfigError, match="go together"):
        tls_context("cert.pem", None)
    with pytest.raises(ConfigError, match="no such file"):
        tls_context(str(tmp_path / "a.pem"), str(tmp_path / "b.pem"))


def test_the_rosters_host_for_a_wildcard_listen_is_one_a_trainee_elsewhere_can_reach(monkeypatch):
    from lab.frontdoor import server

    assert server.public_host(server.Listen.parse("0.0.0.0:8443"), "class.example.org") == "class.example.org"
    assert server.public_host(server.Listen.parse("192.0.2.7:8443"), None) == "192.0.2.7"
    # a host name that resolves to loopback only (hosts files often say so) is no use to a trainee
    monkeypatch.setattr(server.socket, "getfqdn", lambda: "localhost")
    monkeypatch.setattr(server, "route_address", lambda: "192.0.2.2")
    assert server.public_host(server.Listen.parse("0.0.0.0:8443"), None) == "192.0.2.2"


def test_a_lab_being_reset_stays_on_the_dashboard_while_it_is_removed_and_made_again(state, monkeypatch):  # noqa: ANN001
    from lab import classroom
    from lab.frontdoor import service as service_module

    class Member:
        def __init__(self, name: str) -> None:
            self.cfg = LabConfig(name=name)

    listed = [Member("c01"), Member("c02")]
    monkeypatch.setattr(classroom, "members", lambda where, klass: list(listed))
    record = ClassRecord.new("c", ["c01", "c02"], hash_password("instructor-password"))
    svc = service_module.ClassService([], "c", record, say=lambda msg: None)
    assert svc.names() == ["c01", "c02"]
    svc.busy["c02"] = "reset"
    listed.pop()  # the reset has removed c02 and not yet made it again
    svc.refresh_members()
    assert svc.names() == ["c01", "c02"]
    svc.busy.clear()  # once no action holds it, a lab that is gone leaves the class
    svc.refresh_members()
    assert svc.names() == ["c01"]
