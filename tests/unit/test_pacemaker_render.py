"""The article's cluster rendered for Pacemaker and Corosync from the lab's one typed
configuration: heartbeat's timers mapped onto Corosync's token, the haresources line as a
resource group, auto_failback as stickiness, fencing through the boards or off."""

from __future__ import annotations

import re

import pytest

from lab.errors import ConfigError
from lab.model import pacemaker as pm
from lab.model.config import LabConfig


def cfg(**changes) -> LabConfig:
    return LabConfig.numbered("pm", 120, stack="pacemaker").with_(nfs_client="fuse", **changes)


def totem(text: str, key: str) -> int:
    return int(re.search(rf"^\s+{key}: (\d+)$", text, re.M).group(1))


@pytest.mark.parametrize("timing", ["fast", "article"])
def test_the_token_is_deadtime_and_is_resent_every_keepalive(timing):
    c = cfg(timing=timing)
    conf = pm.corosync_conf(c)
    token, retransmits = totem(conf, "token"), totem(conf, "token_retransmits_before_loss_const")
    assert token == c.times.deadtime * 1000
    resend = token / (retransmits + 0.2)  # Corosync's token_retransmit
    assert abs(resend - c.times.keepalive * 1000) <= 0.1 * c.times.keepalive * 1000
    assert totem(conf, "consensus") == 1.2 * token


def test_corosync_has_two_links_the_lan_and_the_serial_network_and_two_node_quorum():
    c = cfg()
    conf = pm.corosync_conf(c)
    for node in ("ha1", "ha2"):
        block = re.search(rf"node \{{\s+name: {node}\s+nodeid: (\d)\s+ring0_addr: (\S+)\s+ring1_addr: (\S+)", conf)
        assert block, conf
        assert block.group(2) == c.lan_ip(node) and block.group(3) == c.serial_ip(node)
    assert "transport: knet" in conf and "two_node: 1" in conf
    assert conf.count("linknumber:") == 2


def test_the_nodes_carry_their_hostnames_in_the_nodelist():
    conf = pm.corosync_conf(cfg(node_names=("alpha", "beta")))
    assert "name: alpha" in conf and "name: beta" in conf


def test_the_authkey_is_what_corosync_keygen_writes_and_belongs_to_the_lab():
    a, b = cfg(auth_key="a" * 32), cfg(auth_key="b" * 32)
    assert len(pm.corosync_authkey(a)) == 256
    assert pm.corosync_authkey(a) == pm.corosync_authkey(a) != pm.corosync_authkey(b)


def test_the_haresources_line_becomes_a_group_in_the_articles_order_with_monitors():
    c = cfg()
    crm = pm.crm_script(c)
    assert f"group {pm.GROUP} cluster-ip share web" in crm
    assert f"ip={c.vip} cidr_netmask=24 nic=eth0" in crm
    assert 'device="nfsha:/ha" directory="/ha" fstype="fuse.nfs4fuse" options="rw,hard"' in crm
    assert crm.count("op monitor interval=") == 3
    assert f"location {pm.GROUP}-prefers-ha1 {pm.GROUP} {pm.PREFERENCE}: ha1" in crm
    assert "stonith-enabled=false" in crm and "fence_ipmilan" not in crm


def test_monitors_run_every_warntime_but_never_below_two_seconds():
    assert "interval=10s" in pm.crm_script(cfg(timing="article"))  # warntime 10 s
    assert "interval=2s" in pm.crm_script(cfg(timing="fast"))  # warntime 1 s: Pacemaker's floor


def test_auto_failback_on_moves_the_group_back_and_off_keeps_it_where_it_runs():
    stick = (lambda c: int(re.search(r"resource-stickiness=(\d+)", pm.crm_script(c)).group(1)))
    assert stick(cfg(auto_failback="on")) == 0
    assert stick(cfg(auto_failback="off")) > pm.PREFERENCE


def test_with_boards_each_node_is_fenced_by_its_board_from_the_other_node():
    c = cfg(stonith="ipmi")
    crm = pm.crm_script(c)
    assert "stonith-enabled=true" in crm
    for node in ("ha1", "ha2"):
        assert f"ip={c.mgmt_ip('bmc-' + node)} username=admin password={c.bmc_password} lanplus=0 " \
               f"pcmk_host_list={node}" in crm
        assert f"location fence-{node}-not-on-{node} fence-{node} -inf: {node}" in crm


@pytest.mark.parametrize("changes, words", [
    ({"stonith": "meatware"}, "meatware"),
    ({"stage": "heartbeat"}, "stage 'heartbeat'"),
    ({"source": "/tmp/mine"}, "--from /tmp/mine"),
    ({"stack": "openais"}, "stack 'openais'"),
])
def test_what_a_pacemaker_lab_cannot_be_is_refused_before_anything_is_made(changes, words):
    with pytest.raises(ConfigError, match=re.escape(words)):
        cfg(**changes).validate()
