"""The migration exercise's readers of what a trainee made: corosync.conf as typed; the CIB
as `cibadmin --query` printed it on a lab started with `--stack pacemaker` (the exercise's
reference solution) and Corosync's link statistics there, both recorded."""

from __future__ import annotations

from pathlib import Path

from lab.model import pacemaker as pm
from lab.model.config import LabConfig
from lab.workshop.migration import cib_problems, corosync_conf_problems, links_seen

DATA = Path(__file__).parent / "data"
CFG = LabConfig.numbered("hbtest-pcmk", 100, nfs_client="fuse").resolved()  # the lab the data came from


def test_the_labs_own_corosync_conf_passes_and_a_trainees_slips_are_named():
    assert corosync_conf_problems(pm.corosync_conf(CFG), CFG) == []
    typed = pm.corosync_conf(CFG).replace(f"ring1_addr: {CFG.serial_ip('ha2')}", "ring1_addr: 10.9.9.9")
    typed = typed.replace("two_node: 1", "# two_node: 1")
    typed = typed.replace(f"token: {pm.token_ms(CFG)}", f"token: {pm.token_ms(CFG) + 1000}")
    problems = corosync_conf_problems(typed, CFG)
    assert problems == [f"node ha2: ring1_addr is 10.9.9.9, expected {CFG.serial_ip('ha2')} (the serial network)",
                        "no `two_node: 1` in the quorum block (a two-node cluster keeps quorum with one node)",
                        f"token {pm.token_ms(CFG) + 1000} ms is slower than heartbeat's deadtime "
                        f"({pm.token_ms(CFG)} ms)"]
    assert corosync_conf_problems("", CFG)[:2] == ["no node block with `name: ha1` in the nodelist",
                                                   "no node block with `name: ha2` in the nodelist"]


def test_the_reference_solutions_cib_is_the_articles_group_with_the_master_preferred():
    cib = (DATA / "cib_pacemaker_lab.xml").read_text()
    assert cib_problems(cib, CFG) == []
    # the same CIB read for a lab with boards: fencing must be configured there
    boards = CFG.with_(stonith="ipmi")
    assert cib_problems(cib, boards) == ["0 fence device(s): this lab has a board per node, expected one "
                                         "stonith:fence_ipmilan per node"]


def test_a_cib_with_the_group_out_of_order_no_monitor_and_a_sticky_default_fails_with_reasons():
    cib = (DATA / "cib_pacemaker_lab.xml").read_text()
    # Apache before the share, as if haresources had them the other way round
    start = cib.index('<primitive id="share"')
    end = cib.index("</primitive>", start) + len("</primitive>")
    share = cib[start:end]
    swapped = cib[:start] + cib[end:]
    at = swapped.index("</group>")
    swapped = swapped[:at] + share + swapped[at:]
    problems = cib_problems(swapped, CFG)
    assert problems[0].startswith("group 'article' holds ocf:heartbeat:IPaddr2, ocf:heartbeat:apache, "
                                  "ocf:heartbeat:Filesystem; expected"), problems
    unmonitored = cib.replace('name="monitor"', 'name="start"')
    assert any("has no monitor operation" in p for p in cib_problems(unmonitored, CFG))
    sticky = cib.replace('name="resource-stickiness" value="0"', 'name="resource-stickiness" value="INFINITY"')
    assert sticky != cib
    assert any("would stay on the backup" in p for p in cib_problems(sticky, CFG))
    assert cib_problems("not xml", CFG)[0].startswith("the CIB is not XML")


def test_corosyncs_link_statistics_name_the_links_to_the_peer():
    cmap = (DATA / "corosync_cmap_knet_links.txt").read_text()
    assert links_seen(cmap, local=1) == {0: True, 1: True}
    down = cmap.replace("stats.knet.node2.link1.connected (u8) = 1", "stats.knet.node2.link1.connected (u8) = 0")
    assert links_seen(down, local=1) == {0: True, 1: False}
