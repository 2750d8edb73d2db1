"""The article's cluster, brought up once for the session, checked as the article's reader
would check it: the pages at the cluster URL, who serves, what each node holds, the paths
and logs the article names."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys

import pytest
import requests

from lab import heartbeat
from lab.engine.handle import LabHandle
from lab.model.config import NODES
from lab.model.render import haresources, hostname_text, index_text, page_text
from lab.observe.audit import audit
from lab.observe.state import fetch, link_status, node_state, peer_status, published_port, wait_serving, who_serves
from lab.waiting import wait_until
from labtest import lab_cli

VIAS = ("vip", "local", "ha3")  # the host at the VIP, a browser at 127.0.0.1, the client node ha3
HELD_ALL = {"container": "running", "heartbeat": True, "vip": True, "mounted": True, "apache": True}
HELD_NONE = {"container": "running", "heartbeat": True, "vip": False, "mounted": False, "apache": False}


@pytest.mark.parametrize("via", VIAS)
def test_cluster_url_serves_both_pages_with_the_articles_texts(lab: LabHandle, via: str):
    code, body = fetch(lab, "index.html", via=via)
    assert code == 200 and page_text(body) == index_text(lab.cfg)
    code, body = fetch(lab, "hostname.html", via=via)
    assert code == 200 and page_text(body) == hostname_text(lab.cfg, "ha1")


def test_the_published_port_is_bound_on_127_0_0_1_only_and_serves_the_cluster(lab: LabHandle):
    port = published_port(lab)
    assert port, "docker reports no 127.0.0.1 binding of ha3's port 80"
    bindings = lab.container("ha3").attrs["NetworkSettings"]["Ports"]["80/tcp"]
    assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_master_holds_everything_and_the_backup_nothing(lab: LabHandle):
    assert node_state(lab, "ha1") == HELD_ALL
    assert node_state(lab, "ha2") == HELD_NONE


def test_a_script_named_apache2_on_the_backup_is_not_taken_for_apache(lab: LabHandle):
    # heartbeat asks a node `apache2 status` through its resource script, whose process is
    # named apache2 while it runs: the audit once saw the backup hold Apache then (CI run 17)
    fake = "/tmp/lookalike/apache2"
    lab.sh("ha2", f"mkdir -p {fake.rsplit('/', 1)[0]} && printf '#!/bin/sh\\nsleep 60; :\\n' > {fake} "
                  f"&& chmod +x {fake} && nohup {fake} >/dev/null 2>&1 &", check=True)
    try:
        wait_until("the look-alike to run", lambda: (lab.run("ha2", ["pgrep", "-x", "apache2"]).ok, "not yet"),
                   timeout=10)
        assert node_state(lab, "ha2") == HELD_NONE
        result = audit(lab, read_logs=False)
        assert result.ok and result.owner == "ha1", result.report()
    finally:
        lab.run("ha2", ["pkill", "-f", fake])


def test_heartbeat_not_the_entrypoint_owns_the_resources(lab: LabHandle):
    # the resources are heartbeat's: its log shows the takeover, and the docroot lives on /ha
    log = lab.run("ha1", ["cat", "/var/log/ha-log"]).output
    assert "Acquiring resource group: ha1 IPaddr2::" in log
    assert re.search(r"Running /etc/ha\.d/resource\.d/apache2\s+start", log), "heartbeat should start Apache"
    assert lab.run("ha1", ["readlink", "/var/www/html"]).output.strip() == "/ha/www/html"


def test_haresources_names_the_share_as_the_article_does(lab: LabHandle):
    installed = lab.run("ha1", ["cat", "/etc/ha.d/haresources"]).output
    assert installed == haresources(lab.cfg)
    assert f"Filesystem::nfsha:/ha::/ha::{lab.cfg.share_fstype}::rw,hard" in installed
    # heartbeat mounted it under that name
    mounts = lab.run("ha1", ["awk", '$2=="/ha"{print $1, $3}', "/proc/mounts"]).output.split()
    assert mounts[0] == "nfsha:/ha"


def test_heartbeat_logs_to_var_log_messages_with_microsecond_stamps(lab: LabHandle):
    for node in NODES:
        lines = lab.run(node, ["grep", "heartbeat", "/var/log/messages"]).output.splitlines()
        assert lines, f"{node}: no heartbeat line in /var/log/messages"
        for line in lines:
            assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d " + node + " ", line), line
    out = subprocess.run([sys.executable, "-m", "lab", "logs", "ha1", "--messages", "--name", lab.cfg.name],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert re.search(r"\.\d{6}[+-]\d\d:\d\d ha1 heartbeat: \[\d+\]: info: Initial resource acquisition complete", out)


def test_heartbeat_sees_both_links_up(lab: LabHandle):
    for node in NODES:
        for link in ("/dev/ttyS0", "eth0"):
            seen = link_status(lab, node, link)
            assert seen == "up", f"{node}: link {link} to {lab.cfg.peer(node)}: {seen!r}"
        assert peer_status(lab, node) == "active"


def test_status_json_reports_urls_serving_node_and_node_states(lab: LabHandle):
    out = subprocess.run([sys.executable, "-m", "lab", "status", "--json", "--name", lab.cfg.name],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    st = json.loads(out)
    assert st["url"] == f"http://{lab.cfg.vip}/"
    assert st["local_url"] == f"http://127.0.0.1:{published_port(lab)}/"
    assert st["serving"] == "ha1"
    assert st["nodes"] == {"ha1": HELD_ALL, "ha2": HELD_NONE}
    assert st["problems"] == []
    assert st["hostnames"] == {"ha1": "ha1", "ha2": "ha2"} and st["source"] is None  # the article's own files


def test_lab_exec_runs_a_command_on_a_node_and_passes_its_output_and_exit_code_through(lab: LabHandle):
    """What a script or CI job does instead of `lab shell`: no terminal, the command's exit code."""
    res = lab_cli("exec", "--name", lab.cfg.name, "ha2", "--", "sh", "-c", "uname -n; echo oops >&2; exit 3",
                  timeout=60)
    assert res.returncode == 3, res.stderr
    # both streams in one, each line whole; their order across the two is the engine's (Docker
    # reads the command's stdout and stderr pipes apart: run 36 got "oops" first)
    assert sorted(res.stdout.splitlines()) == sorted([lab.cfg.hb_name("ha2"), "oops"]), res.stdout
    res = lab_cli("exec", "--name", lab.cfg.name, "ha1", "--", "cl_status", "hbstatus", timeout=60)
    assert (res.returncode, res.stdout.strip()) == (0, "Heartbeat is running on this machine."), res.stderr


def test_a_proxy_in_the_environment_is_not_used_for_the_labs_own_addresses(lab: LabHandle):
    """Behind a company's proxy (or on a CI runner with one) http_proxy is set and names a
    host that cannot reach the lab's private addresses; `lab status` must still see the
    cluster. Here the proxy is a port nothing listens on, with no NO_PROXY to spare the lab."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # bound, not listening: refuses
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy", "all_proxy")}
        env.update(http_proxy=dead, HTTP_PROXY=dead, ALL_PROXY=dead)
        st = json.loads(lab_cli("status", "--json", "--name", lab.cfg.name, env=env, timeout=60).stdout)
    assert st["serving"] == "ha1" and st["problems"] == []


def test_shared_disk_a_file_written_on_ha1_is_read_identical_on_ha2_after_failover(lab: LabHandle):
    name = f"roundtrip-{secrets.token_hex(4)}.bin"
    path = f"/ha/www/html/{name}"
    # 300 kB of random bytes: many NFS reads and writes
    lab.sh("ha1", f"head -c 300000 /dev/urandom > {path}", check=True)
    digest = lab.run("ha1", ["sha256sum", path], check=True).output.split()[0]
    try:
        heartbeat.stop_heartbeat(lab, "ha1")
        wait_serving(lab, "ha2", timeout=lab.cfg.failover_wait)
        assert node_state(lab, "ha2")["mounted"] and not node_state(lab, "ha1")["mounted"]
        assert lab.run("ha2", ["sha256sum", path], check=True).output.split()[0] == digest
        r = requests.get(f"{lab.cfg.url}{name}", timeout=5)
        assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == digest
    finally:
        heartbeat.start_heartbeat(lab, "ha1")
        wait_serving(lab, "ha1", timeout=lab.cfg.start_wait)
        lab.run("ha1", ["rm", "-f", path])


def test_with_heartbeat_stopped_mount_ha_and_umount_ha_work_by_hand_from_fstab(lab: LabHandle):
    """The article's fstab step: the line is noauto, and `mount /ha` mounts the share."""
    heartbeat.stop_heartbeat(lab, "ha2")
    heartbeat.stop_heartbeat(lab, "ha1")
    try:
        for node in NODES:
            assert not node_state(lab, node)["mounted"]
            lab.run(node, ["mount", "/ha"], check=True)
            assert page_text(lab.run(node, ["cat", "/ha/www/html/index.html"], check=True).output) == index_text(lab.cfg)
            source, fstype = lab.run(node, ["awk", '$2=="/ha"{print $1, $3}', "/proc/mounts"]).output.split()
            assert source == "nfsha:/ha"
            assert fstype in ({"fuse.nfs4fuse"} if lab.cfg.nfs_client == "fuse" else {"nfs", "nfs4"})
            lab.run(node, ["umount", "/ha"], check=True)
            assert not node_state(lab, node)["mounted"]
    finally:
        heartbeat.start_cluster(lab)
    assert who_serves(lab) == "ha1"


def test_the_articles_serial_test_both_ways_and_heartbeat_restarts_over_the_cable(lab: LabHandle):
    # The article tests the cable before heartbeat runs: stop it on both nodes first.
    heartbeat.stop_heartbeat(lab, "ha2")
    heartbeat.stop_heartbeat(lab, "ha1")
    try:
        assert heartbeat.serial_test(lab, "ha2", "ha1") == "Serial Connection test"
        assert heartbeat.serial_test(lab, "ha1", "ha2") == "Serial Connection test"
    finally:
        heartbeat.start_cluster(lab)
    # the cable survived both heartbeats closing and reopening it
    assert link_status(lab, "ha1", "/dev/ttyS0") == "up"


def test_serial_cable_survives_a_restart_of_the_backup_node(lab: LabHandle):
    lab.container("ha2").restart(timeout=20)
    # after a restart the LAN must still be eth0: heartbeat and IPaddr2 are configured for it
    lab_ip = lab.cfg.lan_ip("ha2")
    wait_until("ha2's LAN address on eth0 after the restart",
               lambda: (f" {lab_ip}/" in (out := lab.run("ha2", ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).output),
                        out), timeout=30)
    assert who_serves(lab) == "ha1"
    heartbeat.start_heartbeat(lab, "ha2")

    def serial_link(node: str) -> tuple[bool, str]:
        out = link_status(lab, node, "/dev/ttyS0")
        return out == "up", out

    for node in NODES:
        wait_until(f"{node} to see the serial link up again", lambda n=node: serial_link(n),
                   timeout=lab.cfg.failover_wait)
    heartbeat.wait_joined(lab, "ha2")
    assert who_serves(lab) == "ha1"
    assert node_state(lab, "ha2") == HELD_NONE
