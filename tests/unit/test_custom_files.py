"""`lab up --from DIR`: heartbeat's own files checked before anything is created (each problem
with its file and line), and adapted to the lab's containers (each change listed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab.errors import ConfigError
from lab.model import custom
from lab.model.allocate import default_vip
from lab.model.config import LabConfig

HA_CF = """\
# production ha.cf of two web servers
logfile /var/log/ha-log
logfacility local0
keepalive 200ms
deadtime 2
warntime 1
initdead 4
udpport 694
bcast eth1
serial /dev/ttyS1
auto_failback on
node web1
node web2
ping 10.0.0.1
respawn hacluster /usr/lib/heartbeat/ipfail
apiauth ipfail gid=haclient uid=hacluster
crm no
"""
HARESOURCES = "web1 172.29.112.200 Filesystem::nfsha:/ha::/ha::nfs::rw,hard statusfile httpd\n"
STATUS = "#!/bin/sh\necho running\n"


def lab_cfg(**changes: object) -> LabConfig:
    return LabConfig(timing="fast", nfs_client="fuse").with_(**changes)


def write(folder: Path, files: dict[str, str], modes: dict[str, int] | None = None) -> Path:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.chmod(path, (modes or {}).get(rel, 0o600 if rel == "authkeys" else 0o755 if rel.startswith("resource.d")
                                         else 0o644))
    return folder


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write(tmp_path, {"ha.cf": HA_CF, "haresources": HARESOURCES, "resource.d/statusfile": STATUS,
                            "authkeys": "auth 2\n2 sha1 s3cret-key-of-the-site\n", "www/index.html": "<p>hi</p>\n"})


def test_a_production_directory_is_adapted_and_every_change_listed(good: Path) -> None:
    c = custom.load(good, lab_cfg())
    cfg = c.config(lab_cfg())
    # the node names become the hostnames; haresources' node is the master
    assert cfg.node_names == ("web1", "web2") and cfg.master == "ha1"
    assert cfg.hb_name("ha2") == "web2" and cfg.role_of("web1") == "ha1" and cfg.role_of("other") is None
    # the LAN is placed around the cluster address, the timers are ha.cf's
    assert (cfg.lan_subnet, cfg.serial_subnet, cfg.vip) == ("172.29.112.0/24", "172.29.113.0/24", "172.29.112.200")
    assert (cfg.times.keepalive, cfg.times.deadtime, cfg.times.warntime, cfg.times.initdead) == (0.2, 2, 1, 4)
    assert (cfg.auth, cfg.auth_key) == ("sha1", "s3cret-key-of-the-site")
    cfg.validate()
    hacf = c.files["ha.cf"][0].decode()
    assert "serial\t/dev/ttyS0" in hacf and "ucast eth0 172.29.112.11\nucast eth0 172.29.112.12" in hacf
    assert "ping\t172.29.112.30" in hacf and "respawn hacluster /usr/libexec/heartbeat/ipfail" in hacf
    assert "node web1" in hacf and "# lab: was `bcast eth1`" in hacf
    hares = c.files["haresources"][0].decode()
    assert hares.splitlines()[-1] == ("web1 IPaddr2::172.29.112.200/24/eth0 "
                                      "Filesystem::nfsha:/ha::/ha::fuse.nfs4fuse::rw,hard statusfile apache2")
    assert c.files["resource.d/statusfile"] == (STATUS.encode(), 0o755)
    assert c.files["authkeys"][1] == 0o600 and "www/index.html" in c.files
    changed = {(d.file, d.line) for d in c.differences}
    assert {("ha.cf", 9), ("ha.cf", 10), ("ha.cf", 14), ("ha.cf", 15), ("haresources", 1)} <= changed
    text = custom.describe(c)
    assert "ha.cf:10: serial /dev/ttyS1 -> serial /dev/ttyS0" in text and "httpd -> apache2" in text


def test_what_the_directory_lacks_comes_from_the_lab(tmp_path: Path) -> None:
    c = custom.load(write(tmp_path, {"haresources": "ha1 172.29.80.210 apache2\n"}), lab_cfg())
    cfg = c.config(lab_cfg())
    assert cfg.node_names == ("ha1", "ha2") and cfg.vip == "172.29.80.210" and cfg.lan_subnet == "172.29.80.0/24"
    assert set(c.files) == {"haresources"} and c.given == ("haresources",)


def problems(folder: Path, cfg: LabConfig | None = None, place: bool = True) -> str:
    with pytest.raises(ConfigError) as exc:
        custom.load(folder, cfg or lab_cfg(), place=place)
    return str(exc.value)


def test_the_broken_copy_is_refused_with_file_and_line(good: Path) -> None:
    (good / "ha.cf").write_text(HA_CF.replace("keepalive 200ms", "keepalive 1").replace("deadtime 2", "deadtime 1"))
    (good / "haresources").write_text(HARESOURCES.replace("statusfile", "statuspage"))
    text = problems(good)
    assert "nothing was created" in text
    assert "ha.cf:5: deadtime 1 must be above 2 x keepalive (2)" in text
    assert "haresources:1: statuspage: no such resource script" in text and "add resource.d/statuspage" in text


@pytest.mark.parametrize(("files", "expected"), [
    ({"ha.cf": HA_CF.replace("keepalive 200ms", "keepalvie 200ms")},
     "ha.cf:4: unknown directive 'keepalvie'"),
    ({"ha.cf": HA_CF.replace("initdead 4", "initdead 1")}, "ha.cf:7: initdead 1 must be at least deadtime (2)"),
    ({"ha.cf": HA_CF.replace("node web2\n", "")}, "ha.cf:12: node lines name web1: the lab has two cluster nodes"),
    ({"ha.cf": HA_CF.replace("node web2", "node nfsha")}, "ha.cf:13: node nfsha: the lab's nfsha is another machine"),
    ({"ha.cf": HA_CF.replace("crm no", "crm yes")}, "ha.cf:17: crm yes: the lab runs heartbeat in haresources mode"),
    ({"ha.cf": HA_CF + "stonith_host * external/ipmi web2 10.0.0.9 admin pw lan\n"}, "ha.cf:18: stonith_host"),
    ({"haresources": HARESOURCES.replace("web1", "web3")}, "haresources:1: node web3: not a node of ha.cf"),
    ({"haresources": HARESOURCES.replace("172.29.112.200", "172.29.112.20")}, "is in the lower half of the LAN"),
    ({"haresources": HARESOURCES.replace(" httpd", "")}, "haresources:1: the group with the cluster's address starts "
                                                        "no web server"),
    ({"haresources": HARESOURCES.replace("nfsha:/ha::/ha::nfs", "/dev/sdb1::/ha::ext3")},
     "the lab's one shared disk is nfsha:/ha over NFS"),
    ({"authkeys": "auth 1\n1 sha1\n"}, "authkeys:2: sha1 needs a key"),
    ({"authkeys": "auth 3\n1 md5 abcdefgh\n"}, "authkeys:1: auth 3: no key line"),
    ({"www/hostname.html": "x"}, "www/hostname.html: hostname.html is the lab's own page"),
    ({"haresource": "x"}, "haresource: not a file the lab reads (did you mean haresources?)"),
])
def test_each_problem_names_its_file_and_line(good: Path, files: dict[str, str], expected: str) -> None:
    write(good, files)
    assert expected in problems(good)


def test_modes_heartbeat_would_refuse(good: Path) -> None:
    os.chmod(good / "authkeys", 0o644)
    os.chmod(good / "resource.d" / "statusfile", 0o644)
    text = problems(good)
    assert "authkeys: mode 644: heartbeat refuses an authkeys file others can read" in text
    assert "resource.d/statusfile: not executable" in text


def test_an_address_outside_a_given_lan_is_refused(good: Path) -> None:
    text = problems(good, lab_cfg(lan_subnet="172.29.90.0/24", vip="172.29.90.200"), place=False)
    assert "haresources:1: 172.29.112.200 is outside the lab's LAN 172.29.90.0/24 (--subnet)" in text


def test_not_a_directory(tmp_path: Path) -> None:
    assert "expected a directory" in problems(tmp_path / "nowhere")


def test_every_group_of_a_longer_haresources_is_rewritten_in_place(good: Path) -> None:
    (good / "haresources").write_text("# two groups\nweb1 172.29.112.200 \\\n  statusfile httpd\n"
                                      "web2 Delay::1::0 httpd\n")
    lines = custom.load(good, lab_cfg()).files["haresources"][0].decode().splitlines()
    assert lines == ["# two groups", "# lab: was `web1 172.29.112.200 \\`", "# lab: was `  statusfile httpd`",
                     "web1 IPaddr2::172.29.112.200/24/eth0 statusfile apache2", "# lab: was `web2 Delay::1::0 httpd`",
                     "web2 Delay::1::0 apache2"]


def test_the_sites_address_moves_to_the_labs_own_lan_only_when_that_lan_was_taken(good: Path) -> None:
    """The pytest plugin's labs of one DIR on one engine: the second runs the cluster at an
    address of its own, and says so; the address stays the site's wherever its LAN is free."""
    moved = lab_cfg(lan_subnet="172.29.96.0/24", vip="172.29.96.200", site_vip="172.29.112.200")
    own = custom.load(good, moved, place=False)
    assert own.files["haresources"][0].decode().splitlines()[-1].startswith("web1 IPaddr2::172.29.96.200/24/eth0 Filesystem::")
    assert any("172.29.112.200 -> IPaddr2::172.29.96.200/24/eth0: this lab's own address" in n.text
               for n in own.differences)
    kept = lab_cfg(lan_subnet="172.29.112.0/24", vip="172.29.112.200", site_vip="172.29.112.200")
    assert "IPaddr2::172.29.112.200/24/eth0" in custom.load(good, kept, place=False).files["haresources"][0].decode()


def test_the_labs_of_one_site_pick_a_free_lan_under_the_lock_when_the_sites_is_taken(monkeypatch) -> None:  # noqa: ANN001
    from lab import machines

    class Engine:  # what machines.allocated reads of an engine: its networks (one holds the site's LAN)
        class networks:  # noqa: N801
            @staticmethod
            def list() -> list:
                class Net:
                    attrs = {"IPAM": {"Config": [{"Subnet": "172.29.112.0/24"}]}, "Labels": {}}
                return [Net()]

        api = None

    site = lab_cfg(lan_subnet="172.29.112.0/24", vip="172.29.112.200", serial_subnet="172.29.113.0/24",
                   site_vip="172.29.112.200")
    monkeypatch.setenv("LAB_SUBNET_POOL", "172.29.80.0/20")
    monkeypatch.setattr(machines, "socket_path", lambda client: None)  # no host routes to add
    moved = machines.allocated(Engine(), site, frozenset({"local_port"}))
    assert moved.vip != site.vip and moved.site_vip == site.vip
    assert moved.vip == default_vip(moved.lan_subnet) and moved.lan_subnet != "172.29.112.0/24"
