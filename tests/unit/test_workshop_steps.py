"""The workshop's declarations and the ha.cf reader, without containers."""

from pathlib import Path

import pytest

from lab.errors import ConfigError
from lab.model import hacf
from lab.model.config import LabConfig
from lab.model.render import ha_cf
from lab.workshop.course import find_steps, guide_text
from lab.workshop.handout import handout
from lab.workshop.steps import STEPS

CFG = LabConfig(nfs_client="fuse")
LISTING_6 = """#	File to write debug messages to
debugfile /var/log/ha-debug
logfile	/var/log/ha-log
keepalive 2
deadtime 60
warntime 10
initdead 120
baud	19200
serial	/dev/ttyS0
auto_failback on
node	ha1.haw2.ibm.com
node	ha2.haw2.ibm.com
respawn hacluster /usr/lib/heartbeat/ipfail
"""


def test_ha_cf_reader_reads_the_articles_listing():
    assert hacf.timers(LISTING_6) == {"keepalive": 2, "deadtime": 60, "warntime": 10, "initdead": 120}
    assert hacf.values(LISTING_6, "node") == ["ha1.haw2.ibm.com", "ha2.haw2.ibm.com"]
    assert hacf.media(LISTING_6) == {"serial": ["/dev/ttyS0"], "ethernet": []}


def test_ha_cf_reader_reads_what_the_lab_renders_with_milliseconds():
    text = ha_cf(LabConfig(timing="fast"))
    assert hacf.timers(text) == {"keepalive": 0.2, "deadtime": 2, "warntime": 1, "initdead": 4}
    assert hacf.media(text)["ethernet"] == ["ucast eth0 172.29.80.11", "ucast eth0 172.29.80.12"]
    assert hacf.seconds("500 ms") == 0.5
    with pytest.raises(ValueError, match="not a time"):
        hacf.seconds("soon")


def test_every_step_has_checks_with_unique_names_and_hints():
    names = [c.name for s in STEPS for c in s.checks(CFG)]
    assert len(names) == len(set(names)), "check names must be unique"
    for step in STEPS:
        checks = step.checks(CFG)
        assert checks, step.id
        assert all(c.hint and c.what for c in checks), step.id


def test_the_steps_follow_the_article_in_order():
    assert [s.id for s in STEPS] == ["serial-cable", "nfs-export", "fstab", "sample-pages", "apache-layout",
                                     "authkeys", "ha-cf", "haresources", "start-cluster", "browser-test",
                                     "failover-test"]


def test_the_mistakes_trainees_make_each_have_a_named_check():
    names = {c.name for s in STEPS for c in s.checks(CFG)}
    for expected in ("authkeys-mode-ha1", "authkeys-same", "haresources-same", "hacf-nodes-ha2", "hacf-timers-ha1",
                     "serial-carries-bytes", "hacf-lan-ha1", "docroot-link-ha2", "hostname-link-on-share",
                     "backup-no-apache", "fstab-noauto-ha1", "backup-not-mounted", "haresources-line",
                     "master-started-first"):
        assert expected in names


def test_guide_names_the_step_the_article_and_what_check_verifies():
    text = guide_text(find_steps(["authkeys"])[0], CFG)
    assert text.startswith("Step 6/11: Write /etc/ha.d/authkeys  [authkeys]")
    assert "Listing 5" in text and "- authkeys on ha1 is mode 600" in text


def test_unknown_steps_are_refused():
    with pytest.raises(ConfigError, match="unknown step 'tea-break'"):
        find_steps(["authkeys", "tea-break"])


def test_the_committed_handout_is_what_the_declarations_generate():
    committed = (Path(__file__).resolve().parents[2] / "docs" / "workshop.md").read_text()
    assert committed == handout(), "docs/workshop.md is stale: run `make handout` and commit it"
