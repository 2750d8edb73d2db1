"""The rendered files are the article's listings, with the lab's values."""

import io
import os
import stat
import tarfile

import pytest

from lab.model.config import LabConfig
from lab.model.render import (authkeys, fstab, hahbcode_archive, ha_cf, haresources, hostname_text, index_text, page_text, render_tree,
                              serving_node)

KERNEL, FUSE = LabConfig(nfs_client="kernel"), LabConfig(nfs_client="fuse")

ARTICLE_DIRECTIVES = ["debugfile", "logfile", "logfacility", "keepalive", "deadtime", "warntime", "initdead",
                      "baud", "serial", "auto_failback", "node", "node", "respawn"]


def directives(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, val = line.split(None, 1)
            out.append((key, val.strip()))
    return out


def test_ha_cf_has_the_articles_directives_in_order_with_article_timing():
    d = directives(ha_cf(LabConfig()))
    keys = [k for k, _ in d]
    assert [k for k in keys if k in ARTICLE_DIRECTIVES] == ARTICLE_DIRECTIVES
    values = dict(d)
    assert values["keepalive"] == "2" and values["deadtime"] == "60"
    assert values["warntime"] == "10" and values["initdead"] == "120"
    assert values["baud"] == "19200" and values["serial"] == "/dev/ttyS0"
    assert values["auto_failback"] == "on" and values["crm"] == "no"
    assert [v for k, v in d if k == "node"] == ["ha1", "ha2"]
    assert values["respawn"] == "hacluster /usr/libexec/heartbeat/ipfail"


def test_ha_cf_adds_an_ethernet_medium_and_puts_udpport_and_baud_before_the_media():
    d = directives(ha_cf(LabConfig()))
    keys = [k for k, _ in d]
    assert [v for k, v in d if k == "ucast"] == ["eth0 172.29.80.11", "eth0 172.29.80.12"]
    first_medium = min(keys.index("serial"), keys.index("ucast"))
    assert keys.index("udpport") < first_medium and keys.index("baud") < first_medium


def test_fast_timing_uses_milliseconds():
    values = dict(directives(ha_cf(LabConfig(timing="fast"))))
    assert values["keepalive"] == "200ms" and values["deadtime"] == "2"


def test_haresources_is_the_articles_line_with_the_vip_and_names_the_share_nfsha_ha_in_both_client_modes():
    assert haresources(KERNEL).splitlines()[-1] == (
        "ha1 IPaddr2::172.29.80.200/24/eth0 Filesystem::nfsha:/ha::/ha::nfs::rw,hard apache2"
    )
    assert haresources(FUSE).splitlines()[-1] == (
        "ha1 IPaddr2::172.29.80.200/24/eth0 Filesystem::nfsha:/ha::/ha::fuse.nfs4fuse::rw,hard apache2"
    )


def test_fstab_carries_the_articles_listing_2_line():
    assert directives(fstab(KERNEL)) == [("nfsha:/ha", "/ha\tnfs\tnoauto,rw,hard 0 0")]
    assert fstab(FUSE).splitlines()[-1].split() == ["nfsha:/ha", "/ha", "fuse.nfs4fuse", "noauto,rw,hard", "0", "0"]


def test_files_that_depend_on_the_nfs_client_refuse_an_unresolved_config():
    with pytest.raises(ValueError, match="not resolved"):
        haresources(LabConfig(nfs_client="auto"))


def test_authkeys_sha1_with_the_labs_key_and_crc_without_one():
    cfg = LabConfig(auth_key="0123456789abcdef")
    assert authkeys(cfg) == "auth 1\n1 sha1 0123456789abcdef\n"
    assert authkeys(cfg.with_(auth="md5")) == "auth 1\n1 md5 0123456789abcdef\n"
    assert authkeys(cfg.with_(auth="crc")) == "auth 1\n1 crc\n"


def test_pages_say_the_articles_texts():
    cfg = LabConfig()
    assert index_text(cfg) == "Hello!!! I am being served from a High Availability Cluster ha"
    assert hostname_text(cfg, "ha2") == (
        "Hello!!! I am being served from a node ha2 in a High Availability Cluster ha"
    )
    assert serving_node("<html><body>\n" + hostname_text(cfg, "ha2") + "\n</body></html>") == "ha2"
    assert serving_node("<html>It works!</html>") is None
    assert page_text("<p>a\n <b>b</b></p>") == "a b"


def test_render_tree_lays_out_the_articles_files(tmp_path):
    cfg = LabConfig(timing="fast", nfs_client="fuse")
    out = render_tree(cfg, tmp_path)
    for node in ("ha1", "ha2"):
        etc = out[node] / "etc"
        assert stat.S_IMODE(os.stat(etc / "authkeys").st_mode) == 0o600
        assert (etc / "ha.cf").read_text() == ha_cf(cfg)
        assert (etc / "haresources").read_text() == haresources(cfg)
        assert (etc / "fstab").read_text() == fstab(cfg)
        assert page_text((etc / "hostname.html").read_text()) == hostname_text(cfg, node)
    nfs = out["nfsha"] / "etc"
    assert page_text((nfs / "index.html").read_text()) == index_text(cfg)
    assert (nfs / "exports").read_text() == "/ha\t172.29.80.0/24(rw,sync,no_root_squash)\n"
    ganesha = (nfs / "ganesha.conf").read_text()
    # no export of its own: exportfs renders /etc/exports into the included file
    assert "Protocols = 4;" in ganesha and "EXPORT {" not in ganesha
    assert '%include "/etc/ganesha/exports.conf"' in ganesha
    for host in ("ha1", "ha2", "nfsha"):
        assert (out[host] / "download" / "hahbcode.tar.gz").read_bytes() == hahbcode_archive()


def test_the_sample_archive_holds_the_articles_pages_with_the_articles_names():
    with tarfile.open(fileobj=io.BytesIO(hahbcode_archive())) as tar:
        assert tar.getnames() == ["hahbcode", "hahbcode/www", "hahbcode/www/index.html", "hahbcode/www/hostname.html"]
        text = {m.name: page_text(tar.extractfile(m).read().decode()) for m in tar.getmembers() if m.isfile()}
    # the article's step 2 of the browser test, before the trainee edits the names
    assert text["hahbcode/www/index.html"] == "Hello!!! I am being served from a High Availability Cluster ha.haw2.ibm.com"
    assert text["hahbcode/www/hostname.html"] == (
        "Hello!!! I am being served from a node ha1.haw2.ibm.com in a High Availability Cluster ha.haw2.ibm.com")
    assert hahbcode_archive() == hahbcode_archive()  # reproducible: no time stamps


def test_ha_cf_fences_each_peer_through_its_board_or_waits_for_an_operator():
    cfg = LabConfig(stonith="ipmi", bmc_password="s3cret", nfs_client="fuse")
    lines = [ln for ln in ha_cf(cfg).splitlines() if ln.startswith("stonith_host")]
    # each node resets the other through the other's board (external/ipmi: hostname ipaddr userid passwd interface)
    assert lines == ["stonith_host ha1 external/ipmi ha2 172.29.82.102 admin s3cret lan",
                     "stonith_host ha2 external/ipmi ha1 172.29.82.101 admin s3cret lan"]
    assert "stonith_host * meatware ha1 ha2" in ha_cf(cfg.with_(stonith="meatware"))
    assert "stonith" not in ha_cf(cfg.with_(stonith="none")).replace("# ", "")


def test_a_site_s_files_replace_the_rendered_ones_and_fencing_stays_the_lab_s(tmp_path):
    from lab.model import custom
    site = tmp_path / "site"
    (site / "resource.d").mkdir(parents=True)
    (site / "www").mkdir()
    (site / "ha.cf").write_text("keepalive 1\ndeadtime 5\nserial /dev/ttyS1\nnode web1 web2\ncrm no\n")
    (site / "haresources").write_text("web1 172.29.80.201 Filesystem::nfsha:/ha::/ha::nfs::rw,hard probe apache2\n")
    (site / "resource.d" / "probe").write_text("#!/bin/sh\necho running\n")
    os.chmod(site / "resource.d" / "probe", 0o755)
    (site / "www" / "status.txt").write_text("ok\n")
    cfg = LabConfig(timing="fast", nfs_client="fuse", stonith="ipmi")
    own = custom.load(site, cfg)
    cfg = own.config(cfg)
    out = render_tree(cfg, tmp_path / "out", own)
    hacf = (out["ha1"] / "etc" / "ha.cf").read_text()
    assert hacf.startswith("keepalive 1\ndeadtime 5\n# lab: was `serial /dev/ttyS1`\nserial\t/dev/ttyS0\n")
    # the lab's fencing, by the node names heartbeat knows
    assert "stonith_host web1 external/ipmi web2 172.29.82.102 admin" in hacf
    assert (out["ha2"] / "etc" / "resource.d" / "probe").stat().st_mode & 0o111
    assert (out["nfsha"] / "etc" / "www" / "status.txt").read_text() == "ok\n"
    assert page_text((out["ha2"] / "etc" / "hostname.html").read_text()) == hostname_text(cfg, "ha2")
    assert "served from a node web2 in" in hostname_text(cfg, "ha2")
    assert serving_node((out["ha2"] / "etc" / "hostname.html").read_text()) == "web2" and cfg.role_of("web2") == "ha2"
