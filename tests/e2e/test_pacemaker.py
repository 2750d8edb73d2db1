"""The article's cluster on Pacemaker and Corosync, with fencing through the boards. The
module's lab starts as the article's finished heartbeat cluster (fencing with the boards,
ha.cf's stonith_host lines) and a trainee migrates it (`lab exercise migrate-to-pacemaker`,
walked with the commands the handout gives); then the same containers serve the same pages,
`lab status` reads the cluster's own view, and the scenarios run through the same machinery
as on heartbeat. A lab started with `lab up --stack pacemaker` runs the exercise's reference
solution (`lab solve migrate-to-pacemaker`): the tests after the walk use that when the walk
did not finish, so that they do not depend on it."""

from __future__ import annotations

import json
import time

import pytest

from labtest import (NETS, TEST_LAB, assert_steps_as_expected, assert_writes_as_promised, checked, lab_cli_on,
                     lab_of_its_own, make_config)
from lab import scenario
from lab.faults import inject
from lab.model.config import BMC_USER, FENCE_IPMILAN_POWER_WAIT, IPMI_CALL, NODES, TAKEOVER_BUDGET, bmc_host
from lab.engine.handle import LabHandle
from lab.model import pacemaker as pm
from lab.model.contract import AUTOSTART_MARK
from lab.model.render import hostname_text, index_text, page_text
from lab.observe.probe import Probe
from lab.observe.state import fetch, node_state, who_serves
from lab.roles.pacemaker import PacemakerNode
from lab.waiting import wait_until
from lab.recovery import heal

PCMK_LAB = f"{TEST_LAB}-pcmk"


@pytest.fixture(scope="module")
def pcmk(docker, lab) -> LabHandle:  # noqa: ANN001
    # after the session's lab, whose fixture first clears every test lab an earlier run left
    with lab_of_its_own(docker, make_config(PCMK_LAB, net=NETS["pacemaker"], stonith="ipmi",
                                            mgmt_subnet=f"172.29.{NETS['pacemaker-mgmt']}.0/24")) as lab:
        yield lab


@pytest.fixture
def healed(pcmk: LabHandle) -> LabHandle:
    lab = LabHandle.attach(pcmk.cfg.name, pcmk.client)  # the configuration the migration recorded
    if lab.cfg.stack != "pacemaker" or not PacemakerNode(lab, lab.cfg.master).running():
        solved = lab_cli_on(lab, "solve", "migrate-to-pacemaker")
        assert solved.returncode == 0, solved.stdout + solved.stderr
        lab = LabHandle.attach(pcmk.cfg.name, pcmk.client)
    heal(lab)
    return lab


def corosync_conf_typed(lab: LabHandle) -> str:
    """corosync.conf as a trainee types it from the handout (not the lab's rendering)."""
    nodes = "".join(f"""    node {{
        name: {n}
        nodeid: {i}
        ring0_addr: {lab.cfg.lan_ip(n)}
        ring1_addr: {lab.cfg.serial_ip(n)}
    }}
""" for i, n in enumerate(NODES, 1))
    return f"""totem {{
    version: 2
    cluster_name: {lab.cfg.cluster}
    transport: knet
    token: {round(lab.cfg.times.deadtime * 1000)}
    crypto_cipher: aes256
    crypto_hash: sha256
}}
nodelist {{
{nodes}}}
quorum {{
    provider: corosync_votequorum
    two_node: 1
}}
logging {{
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_syslog: yes
}}
"""


def test_the_migration_exercise_walked_with_a_trainees_commands(pcmk: LabHandle):
    lab = pcmk
    begun = lab_cli_on(lab, "exercise", "migrate-to-pacemaker")
    assert begun.returncode == 0 and "corosync.conf" in begun.stdout, begun.stdout + begun.stderr
    # nothing done yet: heartbeat still runs, and the hints say what to do
    code, checks = checked(lab, "migrate-to-pacemaker")
    assert code == 1
    assert not checks["heartbeat-stopped-ha1"]["ok"] and "/etc/init.d/heartbeat stop" in \
        checks["heartbeat-stopped-ha1"]["hint"]
    assert checks["failover-test"]["seen"].startswith("not run")
    # what the trainee types, node by node
    for node in ("ha2", "ha1"):
        lab.sh(node, "/etc/init.d/heartbeat stop", timeout=120, check=True)
    conf = corosync_conf_typed(lab)
    for node in NODES:
        lab.sh(node, f"cat > /etc/corosync/corosync.conf <<'EOF'\n{conf}EOF", check=True)
    lab.sh("ha1", "corosync-keygen", timeout=60, check=True)
    key = lab.sh("ha1", "base64 -w0 /etc/corosync/authkey", check=True).output.strip()
    lab.sh("ha2", f"echo {key} | base64 -d > /etc/corosync/authkey && chmod 400 /etc/corosync/authkey", check=True)
    for node in NODES:
        lab.sh(node, "/etc/init.d/corosync start && /etc/init.d/pacemaker start", timeout=120, check=True)
    m = pm.monitor_s(lab.cfg)
    # a fence device per board, with what ha.cf's stonith_host lines say (address, user, password)
    fencing = "".join(f"""primitive fence-{n} stonith:fence_ipmilan params ip={lab.cfg.mgmt_ip(bmc_host(n))} \\
    username={BMC_USER} password={lab.cfg.bmc_password} lanplus=0 pcmk_host_list={n} op monitor interval=60s
location fence-{n}-elsewhere fence-{n} -inf: {n}
""" for n in NODES)
    assert all(f"{lab.cfg.mgmt_ip(bmc_host(n))} {BMC_USER} {lab.cfg.bmc_password}" in
               lab.sh("ha1", "grep ^stonith_host /etc/ha.d/ha.cf").output for n in NODES)
    lab.sh("ha1", f"""crm configure <<'EOF'
{fencing}primitive cluster-ip ocf:heartbeat:IPaddr2 params ip={lab.cfg.vip} cidr_netmask={lab.cfg.prefixlen} nic=eth0 \\
    op monitor interval={m}s
primitive share ocf:heartbeat:Filesystem params device=nfsha:/ha directory=/ha fstype={lab.cfg.share_fstype} \\
    options=rw,hard op monitor interval={m}s timeout=40s
primitive web ocf:heartbeat:apache params configfile=/etc/apache2/apache2.conf \\
    statusurl=http://localhost/server-status op monitor interval={m}s
group article cluster-ip share web
location article-prefers-ha1 article 100: ha1
commit
EOF""", timeout=120, check=True)
    for node in NODES:
        lab.sh(node, f"echo pacemaker > {AUTOSTART_MARK}", check=True)
    code, checks = checked(lab, "migrate-to-pacemaker")
    assert code == 0, {k: v for k, v in checks.items() if not v["ok"]}
    assert "the backup served, then the master again" in checks["failover-test"]["seen"]
    st = json.loads(lab_cli_on(lab, "status", "--json").stdout)
    assert st["stack"] == "pacemaker" and st["serving"] == "ha1" and st["pacemaker"]["holder"] == "ha1"
    # every later command reads the lab as Pacemaker's: the exercise recorded it in the configuration
    assert LabHandle.attach(lab.cfg.name, lab.client).cfg.stack == "pacemaker"


def test_the_articles_pages_are_served_by_pacemakers_group_on_the_master(healed: LabHandle):
    code, body = fetch(healed, "index.html")
    assert code == 200 and page_text(body) == index_text(healed.cfg)  # from the shared disk
    code, body = fetch(healed, "hostname.html")
    assert code == 200 and page_text(body) == hostname_text(healed.cfg, "ha1")
    # the nodes run the corosync.conf the trainee typed, the token from heartbeat's deadtime; the
    # lab's own rendering (what `lab up --stack pacemaker` installs) is beside it in /lab/etc
    conf = healed.read_file("ha1", pm.COROSYNC_CONF).decode()
    assert f"token: {int(healed.cfg.times.deadtime * 1000)}" in conf
    assert healed.read_file("ha1", "/lab/etc/corosync.conf").decode() == pm.corosync_conf(healed.cfg)


def test_lab_status_reads_pacemakers_own_view_and_does_not_warn_of_fencing_off_with_the_boards(healed: LabHandle):
    res = lab_cli_on(healed, "status", "--json")
    assert res.returncode == 0, res.stderr
    st = json.loads(res.stdout)
    assert st["stack"] == "pacemaker" and st["serving"] == "ha1"
    view = st["pacemaker"]
    assert view["holder"] == "ha1" and view["quorate"] and view["dc"] in ("ha1", "ha2")
    assert set(view["resources"]) == set(pm.RESOURCES)
    assert {n for n, s in view["nodes"].items() if s["online"]} == {"ha1", "ha2"}
    assert not any("stonith-enabled=false" in w for w in st["warnings"]), st["warnings"]
    assert st["nodes"]["ha1"]["heartbeat"] and st["nodes"]["ha1"]["vip"] and not st["nodes"]["ha2"]["vip"]
    text = lab_cli_on(healed, "status")
    assert "Pacemaker on Corosync" in text.stdout and "group on ha1" in text.stdout


def test_standby_and_back_on_pacemaker(healed: LabHandle, tmp_path):
    result = scenario.run(healed, "standby", report_on_problems=tmp_path)
    assert_steps_as_expected(result)
    assert result["summary"]["served_by"] == ["ha1", "ha2", "ha1"]


def test_a_power_cut_of_the_master_is_fenced_and_failed_over_within_the_token_consensus_and_fence(healed: LabHandle,
                                                                                                   tmp_path):
    result = scenario.run(healed, "hard-kill", report_on_problems=tmp_path, writes=True)
    kill, heal_step = result["steps"]
    low, high = kill["bounds_s"]
    t = healed.cfg.times
    assert (low, high) == (t.deadtime - t.keepalive,
                           pm.consensus_ms(healed.cfg) / 1000 + t.deadtime + TAKEOVER_BUDGET
                           + 5 * IPMI_CALL + 2 * FENCE_IPMILAN_POWER_WAIT)  # fence_ipmilan's reboot: off, on
    assert_steps_as_expected(result)
    assert_writes_as_promised(result)
    assert result["summary"]["served_by"] == ["ha1", "ha2", "ha1"]
    # the fence on the timeline: ha2 asked for ha1's reset, and it was done, before ha2 served
    fences = [e["text"] for e in result["events"] if e["kind"] == "fence"]
    assert "fencing ha1 (reboot)" in fences and "ha1 fenced" in fences, fences


def test_a_hung_master_is_fenced_through_its_board_and_the_backup_takes_over(healed: LabHandle, tmp_path):
    result = scenario.run(healed, "fenced-pause", report_on_problems=tmp_path, writes=True)
    assert_steps_as_expected(result)  # among its holds: ha1's board reset it
    assert_writes_as_promised(result)  # the hung master never wrote again: nothing acknowledged was lost
    assert result["summary"]["served_by"] == ["ha1", "ha2", "ha1"]
    assert any(e["kind"] == "fence" and e["text"] == "ha1 fenced" for e in result["events"]), \
        [e["text"] for e in result["events"]]
    audit = json.loads(lab_cli_on(healed, "audit", "--json").stdout)
    assert any(f.startswith("reboot of ha1") for f in audit["pacemaker"]["fencing"]), audit


def test_apache_killed_on_the_master_is_restarted_by_pacemakers_monitor(healed: LabHandle):
    # heartbeat's haresources mode never notices (test_failover); Pacemaker's monitor does,
    # within one monitor interval, and starts Apache again where the group runs
    inject(healed, "kill-apache", "ha1")
    budget = pm.monitor_s(healed.cfg) + TAKEOVER_BUDGET
    # served again by ha1 (Apache's processes come before its first answer: wait for the answer)
    wait_until("ha1 serving again", lambda: (node_state(healed, "ha1")["apache"] and who_serves(healed) == "ha1",
                                              f"served by {who_serves(healed)}"), timeout=budget, interval=0.1)
    view = PacemakerNode(healed, "ha1").view()
    assert view is not None and any(f.startswith(f"{pm.RESOURCES[2]}_monitor") for f in view.failures), view


def test_the_lan_cut_alone_is_carried_by_the_serial_networks_knet_link(healed: LabHandle):
    with Probe(healed, where="ha3", hz=10) as probe:
        inject(healed, "cut-lan")
        # past the token and consensus: a lost member would have been declared by now
        end = time.monotonic() + (pm.token_ms(healed.cfg) + pm.consensus_ms(healed.cfg)) / 1000 + 2
        wait_until("the token and consensus to pass", lambda: (time.monotonic() >= end, ""), timeout=60, interval=0.2)
    view = PacemakerNode(healed, "ha2").view()
    assert view is not None and {n for n, s in view.nodes.items() if s["online"]} == {"ha1", "ha2"}, view
    assert view.holder == "ha1" and who_serves(healed) == "ha1"
    assert probe.samples and all(s.ok and s.node == "ha1" for s in probe.samples), \
        [(s.result, s.node) for s in probe.samples if not (s.ok and s.node == "ha1")][:5]
