"""Pacemaker's own view, read from `crm_mon --output-as=xml` as recorded on a lab's ha1
(Pacemaker 2.1.5): who runs the article's group, the nodes, failed actions."""

from __future__ import annotations

from pathlib import Path

from lab.roles.pacemaker import parse_crm_mon

DATA = Path(__file__).parent / "data"


def test_the_group_on_ha1_with_both_nodes_online():
    view = parse_crm_mon((DATA / "crm_mon_group_on_ha1.xml").read_text())
    assert view.holder == "ha1" and view.dc == "ha2" and view.quorate
    assert view.resources == {"cluster-ip": "ha1", "share": "ha1", "web": "ha1"}
    assert view.nodes["ha1"] == {"online": True, "standby": False, "unclean": False}
    assert view.nodes["ha2"]["online"] and not view.failures and not view.fencing


def test_apache_killed_on_ha1_is_a_failed_monitor_that_pacemaker_recovered():
    # recorded 6 s after `pkill -KILL apache2` on ha1: the monitor failed, Pacemaker restarted it there
    view = parse_crm_mon((DATA / "crm_mon_apache_failed.xml").read_text())
    assert view.holder == "ha1"
    assert len(view.failures) == 1 and view.failures[0].startswith("web_monitor_2000 on ha1: not running")


def test_a_group_split_over_nodes_or_stopped_has_no_holder():
    text = (DATA / "crm_mon_group_on_ha1.xml").read_text()
    moved = text.replace('<node name="ha1" id="1" cached="true"/>\n      </resource>\n      <resource id="web"',
                         '<node name="ha2" id="2" cached="true"/>\n      </resource>\n      <resource id="web"', 1)
    assert moved != text and parse_crm_mon(moved).holder is None
    stopped = text.replace('id="web" resource_agent="ocf:heartbeat:apache" role="Started" active="true"',
                           'id="web" resource_agent="ocf:heartbeat:apache" role="Stopped" active="false"')
    view = parse_crm_mon(stopped)
    assert view.resources["web"] is None and view.holder is None


def test_the_fence_history_after_fenced_power_cuts():
    # recorded on ha2 after bench-stacks' fenced hard-kills of ha1 (fence_ipmilan through ha1's board)
    view = parse_crm_mon((DATA / "crm_mon_after_fenced_kill.xml").read_text())
    assert len(view.fencing) == 2
    assert all(line.startswith("reboot of ha1 by ha2: success") for line in view.fencing), view.fencing
