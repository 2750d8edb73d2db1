"""The article's steps checked against a finished lab: every check passes once the
article's failover test has been done, and each mistake trainees make, made by hand inside
the containers, fails its named check with its hint; undone, the check passes again."""

from __future__ import annotations

import json

import pytest

from labtest import lab_cli_on
from lab import heartbeat
from lab.engine.handle import LabHandle
from lab.model.contract import HA_LOG
from lab.observe.state import wait_serving
from lab.recovery import heal
from lab.waiting import wait_until
from lab.workshop.checks import evaluate
from lab.workshop.steps import STEPS



def check(lab: LabHandle, name: str):  # noqa: ANN201
    return evaluate(lab, next(c for s in STEPS for c in s.checks(lab.cfg) if c.name == name))


@pytest.fixture(scope="module")
def finished(lab: LabHandle) -> LabHandle:
    """The article done to the end: the cluster healed, then its failover test by hand."""
    heal(lab)
    heartbeat.stop_heartbeat(lab, lab.cfg.master)  # /etc/rc.d/init.d/heartbeat stop, as the article types it
    wait_serving(lab, lab.cfg.backup, timeout=lab.cfg.failover_wait)
    heartbeat.start_heartbeat(lab, lab.cfg.master)
    wait_serving(lab, lab.cfg.master, timeout=lab.cfg.start_wait)
    heartbeat.wait_joined(lab, lab.cfg.master)
    return lab


def test_lab_check_on_the_finished_cluster_passes_every_step(finished: LabHandle):
    res = lab_cli_on(finished, "check", "--json")
    report = json.loads(res.stdout)
    failed = [(s["step"], c["name"], c["seen"]) for s in report["steps"] for c in s["checks"] if not c["ok"]]
    assert res.returncode == 0 and report["ok"] and not failed, failed
    assert [s["step"] for s in report["steps"]] == [s.id for s in STEPS]
    assert report["next"] is None
    guide = lab_cli_on(finished, "guide")
    assert guide.returncode == 0 and "every step of the article is done" in guide.stdout


def test_lab_guide_prints_a_named_step_from_its_declaration(finished: LabHandle):
    res = lab_cli_on(finished, "guide", "authkeys")
    assert res.returncode == 0
    assert "Step 6/11: Write /etc/ha.d/authkeys" in res.stdout and "chmod 600" in res.stdout


# Each mistake: (the check that must catch it, the command that makes it on a node, the hint's words).
MISTAKES = [
    ("authkeys-mode-ha2", "ha2", "chmod 644 /etc/ha.d/authkeys", "chmod 600"),
    ("authkeys-same", "ha2", "sed -i 's/^1 \\(sha1\\|md5\\) .*/1 md5 someotherkey99/' /etc/ha.d/authkeys",
     "must match"),
    ("haresources-same", "ha2", "sed -i 's/ apache2$/ httpd/' /etc/ha.d/haresources", "identical"),
    ("hacf-nodes-ha2", "ha2", "sed -i 's/^node\\tha1$/node\\tha1.haw2.ibm.com/' /etc/ha.d/ha.cf", "uname -n"),
    ("hacf-timers-ha1", "ha1", "sed -i 's/^initdead .*/initdead 1/' /etc/ha.d/ha.cf", "initdead"),
    ("hacf-serial-ha1", "ha1", "sed -i 's|^serial\\t/dev/ttyS0|serial\\t/dev/ttyS1|' /etc/ha.d/ha.cf", "serial"),
    ("hacf-lan-ha2", "ha2", "sed -i '/^ucast /d' /etc/ha.d/ha.cf", "ucast eth0"),
    ("fstab-noauto-ha1", "ha1", "sed -i 's/noauto,//' /etc/fstab", "noauto"),
    ("docroot-link-ha2", "ha2", "rm /var/www/html && mkdir /var/www/html", "ln -s /ha/www/html"),
    ("backup-no-apache", "ha2", "apache2ctl start", "heartbeat alone"),
    ("backup-not-mounted", "ha2", "mount /ha", "one node at a time"),
    ("haresources-line", "ha1", "sed -i 's/IPaddr2::[0-9.]*/IPaddr2::10.9.9.9/' /etc/ha.d/haresources",
     "VIP in the LAN"),
    ("hostname-page-ha2", "ha2", "rm /var/www/htmllocal/hostname.html", "cp /ha/hahbcode/www/hostname.html"),
    ("hostname-link-on-share", "nfsha", "rm /ha/www/html/hostname.html", "ln -s /var/www/htmllocal/hostname.html"),
    ("index-page-file", "nfsha", "sed -i 's/Cluster ha$/Cluster ha.haw2.ibm.com/' /ha/www/html/index.html",
     "replace ha.haw2.ibm.com"),
    ("nfs-exports-line", "nfsha", "sed -i 's/no_root_squash/root_squash/' /etc/exports", "no_root_squash"),
]
RESTORE = {  # what undoes a mistake that is not a file edit
    "docroot-link-ha2": "rmdir /var/www/html && ln -s /ha/www/html /var/www/html",
    "backup-no-apache": "/etc/ha.d/resource.d/apache2 stop",
    "backup-not-mounted": "umount /ha",
    "hostname-link-on-share": "ln -s /var/www/htmllocal/hostname.html /ha/www/html/hostname.html",
}
NODE_FILES = ("/etc/ha.d/authkeys", "/etc/ha.d/haresources", "/etc/ha.d/ha.cf", "/etc/fstab",
              "/var/www/htmllocal/hostname.html")
FILES = {"ha1": NODE_FILES, "ha2": NODE_FILES, "nfsha": ("/etc/exports", "/ha/www/html/index.html")}


@pytest.mark.parametrize("name, node, command, hint", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_trainees_mistake_fails_its_named_check_with_a_hint(finished: LabHandle, name: str, node: str,
                                                               command: str, hint: str):
    assert check(finished, name).ok, f"{name} should pass before the mistake"
    saved = {f: finished.read_file(node, f) for f in FILES[node]}
    modes = {f: finished.run(node, ["stat", "-c", "%a", f]).output.strip() for f in FILES[node]}
    try:
        finished.sh(node, command, check=True)
        outcome = check(finished, name)
        assert not outcome.ok, f"{name} passed after `{command}` on {node}: {outcome.seen}"
        assert hint in outcome.check.hint, outcome.check.hint
        res = lab_cli_on(finished, "check", next(s.id for s in STEPS if any(c.name == name for c in s.checks(finished.cfg))))
        assert res.returncode == 1 and f"FAIL  {outcome.check.what}" in res.stdout and "hint:" in res.stdout
    finally:
        if name in RESTORE:
            finished.sh(node, RESTORE[name])
        for f, data in saved.items():
            finished.put_file(node, f, data, int(modes[f], 8))
    assert check(finished, name).ok, f"{name} should pass again once the mistake is undone"


def test_heartbeat_started_on_the_backup_first_is_caught_and_lab_solve_puts_it_right(finished: LabHandle):
    cfg = finished.cfg
    for node in (cfg.backup, cfg.master):
        heartbeat.stop_heartbeat(finished, node)
    heartbeat.start_heartbeat(finished, cfg.backup)  # the mistake: the backup first

    def declared_dead() -> tuple[bool, str]:  # alone, after initdead, it declares the master dead
        log = finished.read_file(cfg.backup, HA_LOG).decode(errors="replace")
        run = log[log.rfind("Configuration validated. Starting heartbeat"):]
        return f"node {cfg.master}: is dead" in run, run.strip().splitlines()[-1:]

    wait_until(f"{cfg.backup}, started alone, to declare {cfg.master} dead", declared_dead, timeout=cfg.start_wait)
    heartbeat.start_heartbeat(finished, cfg.master)
    outcome = check(finished, "master-started-first")
    assert not outcome.ok and "dead" in outcome.seen, outcome.seen
    res = lab_cli_on(finished, "check", "start-cluster")
    assert res.returncode == 1 and "start it on the master, then the backup" in res.stdout
    res = lab_cli_on(finished, "solve", "start-cluster")  # catch up: heartbeat stopped, started in the article's order
    assert res.returncode == 0, res.stdout + res.stderr
    assert check(finished, "master-started-first").ok
    wait_serving(finished, cfg.master, timeout=cfg.start_wait)
