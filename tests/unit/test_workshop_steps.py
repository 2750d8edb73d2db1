"""The workshop's declarations and the ha.cf reader, without containers."""

import re
import subprocess
from pathlib import Path

import pytest

from lab.errors import ConfigError
from lab.model import hacf
from lab.model.config import LabConfig
from lab.model.render import ha_cf, render_tree
from lab.workshop.course import find_steps, guide_text
from lab.workshop.handout import handout
from lab.workshop.exercises import EXERCISES
from lab.workshop.solutions import write_scripts
from lab.workshop.stages import FINAL, STAGES, find_stage, steps_through
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
    names = [c.name for s in (*STEPS, *EXERCISES) for c in s.checks(CFG)]
    assert len(names) == len(set(names)), "check names must be unique"
    for step in (*STEPS, *EXERCISES):
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


def test_stages_follow_the_articles_sections_and_split_the_steps():
    assert [s.id for s in STAGES] == ["serial", "nfs", "apache", "heartbeat", "start", "failover"]
    assert STAGES[0].steps_before == () and FINAL == LabConfig().stage == "failover"
    # every stage begins where the one before it ended
    firsts = [s.first_step for s in STAGES]
    assert firsts == sorted(firsts, key=[s.id for s in STEPS].index)
    with pytest.raises(ConfigError, match="unknown stage 'nfs-server': expected one of serial, nfs"):
        find_stage("nfs-server")
    assert [s.id for s in steps_through("fstab")] == ["serial-cable", "nfs-export", "fstab"]


def test_every_step_has_a_reference_solution_and_its_scripts_go_into_the_rendered_tree(tmp_path):
    rendered = render_tree(CFG, tmp_path)
    write_scripts(CFG, [(s.id, s.solve) for s in STEPS], rendered)
    for step in STEPS:
        assert step.solve.scripts(CFG) or step.solve.act, f"{step.id} has no reference solution"
    assert sorted(p.name for p in (rendered["nfsha"] / "solve").iterdir()) == [
        "02-nfs-export.sh", "04-sample-pages.sh", "05-apache-layout.sh"]
    assert sorted(p.name for p in (rendered["ha1"] / "solve").iterdir()) == [
        "03-fstab.sh", "05-apache-layout.sh", "06-authkeys.sh", "07-ha-cf.sh", "08-haresources.sh"]
    assert "install -m 600 /lab/etc/authkeys /etc/ha.d/authkeys" in (rendered["ha2"] / "solve" / "06-authkeys.sh").read_text()


EXPORTFS = Path(__file__).resolve().parents[2] / "images" / "nfs" / "exportfs"


def run_exportfs(tmp_path: Path, exports: str, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "exports").write_text(exports)
    # the image's contract, with the output in tmp_path and a ganesha that does not exist (never
    # signal the ganesha of a lab running on this host)
    contract = EXPORTFS.with_name("contract.env").read_text()
    contract = re.sub(r"(?m)^GANESHA_EXPORTS=.*$", f"GANESHA_EXPORTS={tmp_path / 'out.conf'}", contract)
    contract = re.sub(r"(?m)^GANESHA_PROCESS=.*$", "GANESHA_PROCESS=no-ganesha-here", contract)
    (tmp_path / "contract.env").write_text(contract)
    env = {"PATH": "/usr/bin:/bin", "EXPORTS": str(tmp_path / "exports"), "LAB_CONTRACT": str(tmp_path / "contract.env")}
    return subprocess.run(["bash", str(EXPORTFS), *args], capture_output=True, text=True, env=env, timeout=10)


def test_exportfs_renders_the_articles_exports_line_for_ganesha(tmp_path):
    share = tmp_path / "ha"
    share.mkdir()
    res = run_exportfs(tmp_path, f"# the article's Listing 1\n{share} 172.29.80.0/24(rw,sync,no_root_squash) *(ro)\n",
                       "-rav")
    assert res.returncode == 0, res.stderr
    conf = (tmp_path / "out.conf").read_text()
    assert f"Path = {share};" in conf and f"Pseudo = {share};" in conf
    assert "Clients = 172.29.80.0/24;" in conf and "Access_Type = RW;" in conf and "Squash = No_Root_Squash;" in conf
    assert "Clients = *;" in conf and "Access_Type = RO;" in conf and "Squash = Root_Squash;" in conf
    assert f"exporting {share}\t172.29.80.0/24" in res.stdout
    assert run_exportfs(tmp_path, "", "-ua").returncode == 0
    assert "EXPORT" not in (tmp_path / "out.conf").read_text()


def test_exportfs_refuses_a_missing_directory_and_leaves_the_exports_as_they_were(tmp_path):
    (tmp_path / "out.conf").write_text("# before\n")
    res = run_exportfs(tmp_path, "/nonexistent/ha *(rw)\n", "-ra")
    assert res.returncode == 1 and "does not exist on nfsha (mkdir /nonexistent/ha first)" in res.stderr
    assert (tmp_path / "out.conf").read_text() == "# before\n"


def test_the_exercises_checks_that_break_the_cluster_come_after_the_checks_of_its_files():
    assert [e.id for e in EXERCISES] == ["fast-takeover", "ipfail", "split-brain", "auto-failback-off",
                                           "migrate-to-pacemaker"]
    for ex in EXERCISES:
        checks = ex.checks(CFG)
        breaking = [i for i, c in enumerate(checks) if c.breaks]
        assert breaking in ([], [len(checks) - 1]), ex.id
        assert [s.id for s in steps_through(ex.id)] == [*(s.id for s in STEPS), ex.id]


def test_a_patient_check_retries_what_may_still_settle_and_stops_at_a_settled_failure():
    from lab.workshop.checks import Check, Settled, evaluate
    calls = []

    def settling(lab):  # noqa: ANN001
        calls.append(1)
        return len(calls) >= 3, f"try {len(calls)}"
    outcome = evaluate(None, Check("s", "settles", settling, "wait", wait=5), interval=0.01)
    assert outcome.ok and outcome.seen == "try 3"

    def settled(lab):  # noqa: ANN001
        calls.append(1)
        raise Settled("declared dead")
    calls.clear()
    outcome = evaluate(None, Check("d", "settled", settled, "restart", wait=60), interval=0.01)
    assert not outcome.ok and outcome.seen == "declared dead" and len(calls) == 1
