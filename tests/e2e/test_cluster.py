"""The article's cluster, brought up once for the session, checked as the article's reader
would check it: the pages at the cluster URL, who serves, what each node holds."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import subprocess
import sys

import pytest
import requests

from lab.cluster import Lab
from lab.config import NODES
from lab.render import hostname_text, index_text, page_text
from lab.waiting import wait_until

VIAS = ("vip", "local", "ha3")  # the host at the VIP, a browser at 127.0.0.1, the client node ha3


@pytest.mark.parametrize("via", VIAS)
def test_cluster_url_serves_both_pages_with_the_articles_texts(lab: Lab, via: str):
    code, body = lab.fetch("index.html", via=via)
    assert code == 200 and page_text(body) == index_text(lab.cfg)
    code, body = lab.fetch("hostname.html", via=via)
    assert code == 200 and page_text(body) == hostname_text(lab.cfg, "ha1")


def test_local_url_is_on_127_0_0_1(lab: Lab):
    assert lab.local_url().startswith("http://127.0.0.1:")


def test_master_holds_everything_and_the_backup_nothing(lab: Lab):
    assert lab.node_state("ha1") == {"container": "running", "heartbeat": True, "vip": True, "mounted": True,
                                     "apache": True}
    assert lab.node_state("ha2") == {"container": "running", "heartbeat": True, "vip": False, "mounted": False,
                                     "apache": False}


def test_heartbeat_not_the_entrypoint_owns_the_resources(lab: Lab):
    # the resources are heartbeat's: its log shows the takeover, and the docroot lives on /ha
    log = lab.ha_log("ha1")
    assert "Acquiring resource group: ha1 IPaddr2::" in log
    assert re.search(r"Running /etc/ha\.d/resource\.d/apache2\s+start", log), "heartbeat should start Apache"
    assert lab.run("ha1", ["readlink", "/var/www/html"]).output.strip() == "/ha/www/html"


def test_heartbeat_sees_both_links_up(lab: Lab):
    for node in NODES:
        peer = lab.cfg.peer(node)
        for link in ("/dev/ttyS0", "eth0"):
            res = lab.run(node, ["cl_status", "hblinkstatus", peer, link], timeout=10)
            assert res.output.strip() == "up", f"{node}: link {link} to {peer}: {res.output!r}"
        assert lab.run(node, ["cl_status", "nodestatus", peer]).output.strip() == "active"


def test_status_json_reports_urls_serving_node_and_node_states(lab: Lab):
    out = subprocess.run([sys.executable, "-m", "lab", "status", "--json", "--name", lab.cfg.name],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    st = json.loads(out)
    assert st["url"] == f"http://{lab.cfg.vip}/"
    assert st["local_url"] == lab.local_url()
    assert st["serving"] == "ha1"
    assert st["nodes"]["ha1"] == {"container": "running", "heartbeat": True, "vip": True, "mounted": True,
                                  "apache": True}
    assert st["nodes"]["ha2"]["vip"] is False and st["nodes"]["ha2"]["apache"] is False


def test_shared_disk_a_file_written_on_ha1_is_read_identical_on_ha2_after_failover(lab: Lab):
    name = f"roundtrip-{secrets.token_hex(4)}.bin"
    path = f"/ha/www/html/{name}"
    # 300 kB of random bytes: many NFS reads and writes
    lab.sh("ha1", f"head -c 300000 /dev/urandom > {path}", check=True)
    digest = lab.run("ha1", ["sha256sum", path], check=True).output.split()[0]
    try:
        lab.stop_heartbeat("ha1")
        lab.wait_serving("ha2", timeout=lab.failover_bound())
        assert lab.node_state("ha2")["mounted"] and not lab.node_state("ha1")["mounted"]
        assert lab.run("ha2", ["sha256sum", path], check=True).output.split()[0] == digest
        r = requests.get(f"{lab.cfg.url}{name}", timeout=5)
        assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == digest
    finally:
        lab.start_heartbeat("ha1")
        lab.wait_serving("ha1", timeout=lab.failover_bound())
        lab.run("ha1", ["rm", "-f", path])


def test_the_articles_serial_test_both_ways_and_heartbeat_restarts_over_the_cable(lab: Lab):
    # The article tests the cable before heartbeat runs: stop it on both nodes first.
    lab.stop_heartbeat("ha2")
    lab.stop_heartbeat("ha1")
    try:
        assert lab.serial_test("ha2", "ha1") == "Serial Connection test"
        assert lab.serial_test("ha1", "ha2") == "Serial Connection test"
    finally:
        lab.start_heartbeat("ha1")
        lab.start_heartbeat("ha2")
        lab.wait_serving("ha1", timeout=lab.failover_bound() + lab.cfg.times.initdead)
    # the cable survived both heartbeats closing and reopening it
    res = lab.run("ha1", ["cl_status", "hblinkstatus", "ha2", "/dev/ttyS0"])
    assert res.output.strip() == "up"


def test_serial_cable_survives_a_restart_of_the_backup_node(lab: Lab):
    lab.container("ha2").restart(timeout=20)
    # after a restart the LAN must still be eth0: heartbeat and IPaddr2 are configured for it
    lab_ip = lab.cfg.lan_ip("ha2")
    wait_until("ha2's LAN address on eth0 after the restart",
               lambda: (f" {lab_ip}/" in (out := lab.run("ha2", ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).output),
                        out), timeout=30)
    assert lab.who_serves() == "ha1"
    lab.start_heartbeat("ha2")

    def serial_link(node: str) -> tuple[bool, str]:
        out = lab.run(node, ["cl_status", "hblinkstatus", lab.cfg.peer(node), "/dev/ttyS0"]).output.strip()
        return out == "up", out

    for node in ("ha1", "ha2"):
        wait_until(f"{node} to see the serial link up again", lambda n=node: serial_link(n), timeout=lab.failover_bound())
    assert lab.who_serves() == "ha1"
    assert lab.node_state("ha2")["vip"] is False
