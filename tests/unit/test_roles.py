"""The roles' commands (lab/roles/): each builder's command and its parser, on output
recorded from a real lab (tests/unit/data/roles/)."""

from __future__ import annotations

from pathlib import Path

from lab.model.config import LabConfig
from lab.model.contract import APACHE_RUNNING, HEARTBEAT_PROCESS, SHARE_MOUNT
from lab.roles import client, node

DATA = Path(__file__).parent / "data" / "roles"
CFG = LabConfig.numbered("rec", 80).resolved()


def recorded(name: str) -> str:
    return (DATA / name).read_bytes().decode()  # as recorded: curl -i's \r\n kept


def test_what_each_node_holds_is_read_from_its_one_exec():
    assert node.parse_holds(recorded("holds-ha1.txt")) == {"heartbeat": True, "vip": True, "mounted": True,
                                                           "apache": True}
    assert node.parse_holds(recorded("holds-ha2.txt")) == {"heartbeat": True, "vip": False, "mounted": False,
                                                           "apache": False}


def test_an_answer_cut_short_by_a_node_going_down_is_no_answer():
    whole = recorded("holds-ha1.txt")
    assert node.parse_holds(whole[: whole.index("mounted")]) is None
    assert node.parse_holds("") is None


def test_the_holds_script_asks_for_the_labs_own_vip_and_the_contracts_names():
    script = node.holds_script(CFG.vip)
    assert f" {CFG.vip}/" in script and f'"{SHARE_MOUNT}"' in script
    assert f"pgrep -f '{HEARTBEAT_PROCESS}'" in script and APACHE_RUNNING in script


def test_cl_status_is_asked_about_the_peer_by_its_heartbeat_name():
    assert node.peer_status_argv(CFG, "ha1") == ["cl_status", "nodestatus", "ha2"]
    assert node.link_status_argv(CFG, "ha2", "eth0") == ["cl_status", "hblinkstatus", "ha1", "eth0"]
    assert recorded("peer-status-ha1.txt").strip() == "active"
    assert recorded("link-status-ha1-eth0.txt").strip() == "up"


def test_no_fence_since_heartbeat_started_is_none_and_a_fence_line_is_kept_whole():
    assert node.parse_last_fence(recorded("last-fence-ha1.txt")) is None
    line = "Dec 04 23:41:20 ha2 heartbeat: [812]: info: Resetting node ha1 with [IPMI STONITH device]\n"
    assert node.parse_last_fence(line) == line.strip()


def test_a_page_fetched_from_ha3_is_its_code_and_body():
    code, body = client.parse_get(recorded("get-hostname.txt"))
    assert code == 200 and "served from a node ha1" in body and not body.endswith("200")
    code, body = client.parse_get(recorded("get-missing.txt"))
    assert code == 404 and "Not Found" in body
    assert client.parse_get(recorded("get-no-answer.txt")) == (0, "")
    assert client.parse_get("") == (0, "")


def test_a_whole_response_for_the_class_proxy():
    status, headers, body = client.parse_response(recorded("response-index.txt"))
    assert status == 200 and headers["Server"].startswith("Apache/") and int(headers["Content-Length"]) == len(body)
    assert client.parse_response(recorded("response-no-answer.txt")) is None


def test_the_fetch_commands_name_the_url_and_a_timeout():
    assert client.get_argv("http://172.29.80.200/hostname.html", 3) == [
        "curl", "-s", "-m", "3", "-w", "\n%{http_code}", "http://172.29.80.200/hostname.html"]
    assert "-I" in client.response_argv("http://x/", 8, head=True)


def test_the_heals_one_exec_look_reads_every_answer_and_ipfails_lines():
    seen, debug = node.parse_at_rest(recorded("at-rest-ha1.txt"))
    assert {k: seen[k] for k in ("booted", "heartbeat", "vip", "mounted", "apache", "busy", "peer", "lan", "serial",
                                 "rules", "round")} == {
        "booted": "1", "heartbeat": "1", "vip": "1", "mounted": "1", "apache": "1", "busy": "0", "peer": "active",
        "lan": "up", "serial": "up", "rules": "0", "round": "1"}
    assert seen["ran"].isdigit() and seen["rsc"] in ("all", "local")
    assert "ipfail: [" in debug and "--ipfail--" not in debug
    backup, _ = node.parse_at_rest(recorded("at-rest-ha2.txt"))
    assert (backup["vip"], backup["mounted"], backup["apache"]) == ("0", "0", "0")


def test_the_fault_chains_rules_are_read_back_as_drops():
    assert node.parse_drops(recorded("fault-rules-none.txt")) == []
    drops = node.parse_drops(recorded("fault-rules-two.txt"))
    assert drops == [("in", "172.29.80.30/32"), ("in", "172.29.81.12/32"), ("out", "172.29.80.30/32")]
    assert node.drop_script("10.0.0.0/24", outgoing=False).count("iptables -A") == 1


def test_when_heartbeat_started_and_declared_its_peer_dead():
    started, declared = node.parse_started_and_declared_dead(recorded("started-declared-ha1.txt"))
    assert started and started[:4].isdigit() and "T" in started and declared is None
    assert node.parse_started_and_declared_dead("2026-12-05T00:10:13.1+00:00 2026-12-05T00:11:02.5+00:00") == (
        "2026-12-05T00:10:13.1+00:00", "2026-12-05T00:11:02.5+00:00")
    assert node.parse_started_and_declared_dead("") == (None, None)


def test_counts_and_running_times_read_as_numbers():
    assert node.parse_count(recorded("line-count-ha-log.txt")) > 10
    assert "No such file" in recorded("line-count-missing.txt") and node.parse_count(recorded("line-count-missing.txt")) == 0
    assert node.parse_count("bash: line 1: warning\n1234\n") == 1234
    assert node.parse_running_for(recorded("running-for-ha1.txt")) >= 0
    assert node.parse_running_for("") is None
    assert node.lines_since_argv("/var/log/ha-log", 41) == ["tail", "-n", "+42", "/var/log/ha-log"]


def test_a_boards_power_status_and_its_log():
    from lab.roles import board

    assert board.parse_power(0, recorded("power-on.txt")) == "on"
    assert board.parse_power(1, "Error: Unable to establish IPMI v2 / RMCP+ session\n") == \
        "no answer (Error: Unable to establish IPMI v2 / RMCP+ session)"
    assert board.parse_power(124, "") == "no answer (exit 124)"
    assert board.unfinished_action(recorded("board-log-ha1.txt"), now=4e9) is None


def test_what_any_container_answers_is_read_as_the_tools_print_it():
    from lab.roles import host

    assert host.parse_mode("600\n") == 0o600 and host.parse_mode("775") == 0o775
    assert host.parse_sum("9f86d08188  /etc/ha.d/authkeys\n") == "9f86d08188"
    up = recorded("at-rest-ha1.txt")  # not ip's output: a has_address false positive would need " IP/"
    assert not host.has_address(up, CFG.vip)
    listing = "2: eth0    inet 172.29.80.11/24 brd 172.29.80.255 scope global eth0\\       valid_lft forever"
    assert host.has_address(listing, "172.29.80.11") and not host.has_address(listing, "172.29.80.1")
    assert host.process_argv("apache2") == ["pgrep", "-x", "apache2"]
    assert host.mount_argv("/ha")[-1] == "/proc/mounts"


def test_the_export_test_counts_the_entries_or_says_it_could_not_mount():
    assert node.parse_mount_test(True, "3\n") == 3
    assert node.parse_mount_test(False, "mount: /run/lab-check-export: special device nfsha:/ha does not exist.\n") is None
    assert node.parse_mount_test(True, "") is None
    assert "-o ro nfsha:/ha /run/x" in node.mount_test_script("nfs", "nfsha:/ha", "/run/x")
