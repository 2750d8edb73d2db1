"""A trainee's walk through the article: a lab started at the first stage (machines cabled,
nothing configured), every step done the trainee's way (the article's commands typed in
the containers, files written by hand, never the lab's reference solution), `lab check`
failing with its hints before each step and passing after it, then the failover test and
the end-to-end suite's assertions on the result; and `lab reset` back to a stage."""

from __future__ import annotations

import json

import pytest

from by_hand import trainee
from labtest import NETS, TEST_LAB, lab_cli_on, lab_of_its_own, make_config
from lab import heartbeat
from lab.engine.handle import LabHandle
from lab.model.config import NODES
from lab.model.render import hostname_text, index_text, page_text
from lab.observe.audit import audit
from lab.observe.state import fetch, node_state, status, wait_serving
from lab.workshop.course import check_step
from lab.workshop.stages import FIRST, STAGES, find_stage
from lab.workshop.steps import STEPS

WALK_LAB = f"{TEST_LAB}-walk"
HELD_ALL = {"container": "running", "heartbeat": True, "vip": True, "mounted": True, "apache": True}
HELD_NONE = {"container": "running", "heartbeat": True, "vip": False, "mounted": False, "apache": False}



# What each step's checks say before the trainee has done it, at the stage before it. The
# two steps that are tests of the hardware and of the finished service (the serial cable,
# the browser) have nothing to do before them: they pass as soon as what they test works.
FAILING_BEFORE = {
    "serial-cable": set(),
    "nfs-export": {"nfs-exports-line", "nfs-export-mountable"},
    "fstab": {"fstab-line-ha1", "fstab-line-ha2", "fstab-noauto-ha1", "fstab-noauto-ha2"},
    "sample-pages": {"sample-index", "sample-hostname"},
    "apache-layout": {"share-mode-ha-www", "share-mode-ha-www-html", "index-page-file", "docroot-link-ha1",
                      "docroot-link-ha2", "hostname-page-ha1", "hostname-page-ha2", "hostname-link-on-share"},
    "authkeys": {"authkeys-mode-ha1", "authkeys-mode-ha2", "authkeys-valid-ha1", "authkeys-valid-ha2",
                 "authkeys-same"},
    "ha-cf": {f"hacf-{what}-{n}" for what in ("nodes", "timers", "serial", "lan") for n in NODES},
    "haresources": {"haresources-same", "haresources-line"},
    "start-cluster": {"heartbeat-runs-ha1", "heartbeat-runs-ha2", "master-started-first", "peer-active-ha1",
                      "peer-active-ha2", "master-holds-vip", "master-mounted", "master-apache"},
    "browser-test": set(),
    "failover-test": {"failed-over"},
}


@pytest.fixture(scope="module")
def walk(docker) -> LabHandle:  # noqa: ANN001
    with lab_of_its_own(docker, make_config(WALK_LAB, net=NETS["walk"], stage=FIRST)) as lab:
        yield lab


def test_at_the_first_stage_nothing_is_configured_and_lab_check_names_the_first_step(walk: LabHandle):
    for node in NODES:
        st = node_state(walk, node)
        assert not st["heartbeat"] and not st["vip"] and not st["mounted"] and not st["apache"], st
        assert not walk.run(node, ["test", "-e", "/etc/ha.d/ha.cf"]).ok
        assert not walk.run(node, ["test", "-L", "/var/www/html"]).ok, "the Apache layout is the trainee's to make"
        assert walk.run(node, ["grep", "-c", "nfsha:/ha", "/etc/fstab"]).output.strip() == "0"
    assert not walk.run("nfsha", ["test", "-e", "/etc/exports"]).ok
    assert walk.run("ha1", ["test", "-s", "/root/hahbcode.tar.gz"]).ok, "the article's download is in root's home"
    res = lab_cli_on(walk, "check", "--json")
    report = json.loads(res.stdout)
    assert res.returncode == 1 and report["next"] == "nfs-export"
    assert [s["step"] for s in report["steps"]] == ["serial-cable", "nfs-export"]
    guide = lab_cli_on(walk, "guide")
    assert guide.returncode == 0 and "exportfs -ra" in guide.stdout and str(walk.cfg.lan) in guide.stdout


@pytest.mark.parametrize("step", [s.id for s in STEPS])
def test_each_step_fails_with_hints_before_and_passes_once_done_the_trainees_way(walk: LabHandle, step: str):
    declared = next(s for s in STEPS if s.id == step)
    before = check_step(walk, declared)
    failing = {o.check.name for o in before.outcomes if not o.ok}
    assert failing == FAILING_BEFORE[step], [(o.check.name, o.seen) for o in before.outcomes if not o.ok]
    assert all(o.check.hint for o in before.outcomes if not o.ok)
    for host, commands in trainee(walk, step):
        res = walk.sh(host, commands, timeout=120)
        assert res.ok, f"{step} on {host}: `{commands}` failed: {res.output}"
    if step == "serial-cable":
        for sender, receiver in (("ha2", "ha1"), ("ha1", "ha2")):
            assert heartbeat.serial_test(walk, sender, receiver) == heartbeat.SERIAL_TEST_TEXT
    if step == "failover-test":  # the article: ha2 serves within a minute; then heartbeat start on ha1
        wait_serving(walk, walk.cfg.backup, timeout=walk.cfg.failover_wait)
        walk.sh(walk.cfg.master, "/etc/rc.d/init.d/heartbeat start", check=True)
    res = lab_cli_on(walk, "check", step)
    assert res.returncode == 0, res.stdout


def test_the_walked_cluster_is_the_articles_cluster(walk: LabHandle):
    """The end-to-end suite's assertions, on the cluster the trainee built by hand."""
    wait_serving(walk, walk.cfg.master, timeout=walk.cfg.start_wait)
    for via in ("vip", "local", "ha3"):
        assert page_text(fetch(walk, "index.html", via=via)[1]) == index_text(walk.cfg)
        assert page_text(fetch(walk, "hostname.html", via=via)[1]) == hostname_text(walk.cfg, walk.cfg.master)
    assert node_state(walk, walk.cfg.master) == HELD_ALL
    assert node_state(walk, walk.cfg.backup) == HELD_NONE
    result = audit(walk)
    assert result.ok, result.report()
    assert status(walk)["problems"] == []
    res = lab_cli_on(walk, "check")
    assert res.returncode == 0 and "every step checked is done" in res.stdout, res.stdout


@pytest.mark.parametrize("stage", [s.id for s in STAGES[1:-1]])
def test_lab_reset_returns_the_lab_to_the_beginning_of_a_stage(walk: LabHandle, stage: str):
    res = lab_cli_on(walk, "reset", "--stage", stage)
    assert res.returncode == 0, res.stderr
    first = find_stage(stage).first_step
    report = json.loads(lab_cli_on(walk, "check", "--json").stdout)
    assert report["next"] == first, report["next"]
    assert [s["ok"] for s in report["steps"]] == [True] * (len(report["steps"]) - 1) + [False]
    assert walk.client.containers.get(walk.cfg.container_name("ha1")).labels  # remade with its labels
