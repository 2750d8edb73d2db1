"""heartbeat's three files read in one place (lab.model.hacf): what `lab up --from`, the
workshop's checks and the exercises all rely on."""

from __future__ import annotations

from lab.model import hacf
from lab.model.config import LabConfig
from lab.model.render import authkeys, ha_cf, haresources


def test_the_lab_s_own_files_read_back_as_rendered():
    cfg = LabConfig(timing="fast").resolved()
    assert hacf.timers(ha_cf(cfg)) == {"keepalive": 0.2, "deadtime": 2.0, "warntime": 1.0, "initdead": 4.0}
    [(_, words)] = hacf.resource_groups(haresources(cfg))
    assert words[0] == cfg.master and words[-1] == "apache2"
    read = hacf.authkeys(authkeys(cfg))
    assert read.problems == [] and read.method == cfg.auth and read.key == cfg.auth_key


def test_directives_keep_line_numbers_and_ignore_comments_tabs_and_case():
    text = "# a comment\nKeepalive\t500ms\n\ndeadtime 2  # two seconds\n"
    assert hacf.directive_lines(text) == [(2, "Keepalive", "500ms"), (4, "deadtime", "2")]
    assert hacf.timers(text) == {"keepalive": 0.5, "deadtime": 2.0}


def test_a_resource_group_continues_over_a_backslash():
    text = "ha1 IPaddr2::10.0.0.5/24/eth0 \\\n    Filesystem::nfsha:/ha::/ha::nfs::rw,hard \\\n  apache2\n# none\n"
    assert hacf.resource_groups(text) == [(1, ["ha1", "IPaddr2::10.0.0.5/24/eth0",
                                              "Filesystem::nfsha:/ha::/ha::nfs::rw,hard", "apache2"])]


def test_authkeys_says_each_reason_heartbeat_would_refuse_it():
    assert hacf.authkeys("1 sha1 x\n").problems == [(None, "no `auth N` line: heartbeat does not know which key to use")]
    assert hacf.authkeys("auth 2\n1 sha1 x\n").problems == [(1, "auth 2: no key line `2 METHOD KEY`")]
    assert hacf.authkeys("auth 1\n1 sha256 x\n").problems == [(2, "method sha256: expected sha1, md5 or crc")]
    assert hacf.authkeys("auth 1\n1 md5\n").problems == [(2, "md5 needs a key: `1 md5 SECRET`")]
    crc = hacf.authkeys("auth 1\n1 crc\n")
    assert crc.problems == [] and crc.method == "crc" and crc.key == ""
