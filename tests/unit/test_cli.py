"""The command line: options become a validated config; bad arguments are one clear line."""

import pytest

from lab.cli import main, parser
from lab.cli.reference import walk
from lab.cli.options import config_from
from lab.errors import ConfigError
from lab.model.config import TAKEOVER_BUDGET
from lab.faults import FAULTS, check_fault


def test_up_options_become_the_config_with_overrides_and_the_nfs_client_resolved():
    a = parser().parse_args(["up", "--name", "w1", "--timing", "fast", "--deadtime", "1", "--port", "0",
                             "--subnet", "10.77.0.0/24", "--vip", "10.77.0.200", "--serial-subnet", "10.77.1.0/24",
                             "--auth", "md5", "--auto-failback", "off", "--nfs-client", "fuse"])
    cfg = config_from(a)
    assert (cfg.name, cfg.timing, cfg.local_port, cfg.auth, cfg.auto_failback) == ("w1", "fast", 0, "md5", "off")
    assert cfg.times.deadtime == 1 and cfg.times.keepalive == 0.2
    assert cfg.nfs_client == "fuse" and cfg.lan_subnet == "10.77.0.0/24"


def test_defaults_are_the_articles_cluster():
    cfg = config_from(parser().parse_args(["up", "--nfs-client", "fuse"]))
    assert (cfg.name, cfg.timing, cfg.vip, cfg.local_port) == ("halab", "article", "172.29.80.200", 8080)


def test_a_bad_option_is_one_line_with_exit_2(capsys):
    assert main(["up", "--vip", "10.0.0.1", "--nfs-client", "fuse"]) == 2
    err = capsys.readouterr().err
    assert "VIP 10.0.0.1: outside the LAN subnet" in err and "Traceback" not in err


def test_fault_arguments_are_checked_before_any_lab_is_touched(capsys):
    assert check_fault("kill", "ha2") is FAULTS["kill"]
    with pytest.raises(ConfigError, match="fault 'kill' needs a node: ha1 or ha2"):
        check_fault("kill", None)
    with pytest.raises(ConfigError, match="fault 'cut-lan' takes no node"):
        check_fault("cut-lan", "ha1")
    with pytest.raises(ConfigError, match="unknown fault 'flood'"):
        check_fault("flood", None)
    # on the command line: exit 2 and one line, with no Docker needed
    assert main(["fail", "cut-lan", "ha1", "--name", "nosuchlab"]) == 2
    assert "fault 'cut-lan' takes no node" in capsys.readouterr().err


def test_up_from_a_directory_takes_its_names_timers_and_addresses(tmp_path, capsys):
    from lab.cli.options import with_custom
    (tmp_path / "ha.cf").write_text("keepalive 500ms\ndeadtime 3\nwarntime 2\ninitdead 6\nbcast eth1\nnode a1 a2\n")
    (tmp_path / "haresources").write_text("a2 10.77.5.210 apache2\n")
    a = parser().parse_args(["up", "--from", str(tmp_path), "--nfs-client", "fuse", "--port", "0"])
    cfg, auto, about = with_custom(config_from(a), a)
    assert cfg.node_names == ("a1", "a2") and cfg.master == "ha2" and cfg.source == str(tmp_path.resolve())
    assert (cfg.times.keepalive, cfg.times.deadtime, cfg.crash_takeover) == (0.5, 3, (2.5, 3 + TAKEOVER_BUDGET))
    # the address decides the LAN and the serial network beside it: none of them is picked from the pool
    assert (cfg.lan_subnet, cfg.serial_subnet, cfg.vip) == ("10.77.5.0/24", "10.77.6.0/24", "10.77.5.210")
    assert auto == frozenset({"mgmt_subnet"})
    assert "ha.cf:5: bcast eth1 -> ucast on eth0" in about
    # the timers are ha.cf's: a timer option beside --from is refused, before anything
    assert main(["up", "--from", str(tmp_path), "--deadtime", "30", "--nfs-client", "fuse"]) == 2
    assert "--deadtime with --from: the timers are ha.cf's" in capsys.readouterr().err


def test_a_soak_from_a_fault_beyond_its_last_is_refused_before_any_lab_is_touched(capsys):
    assert main(["soak", "--faults", "10", "--start", "11", "--name", "nosuchlab"]) == 2
    assert "--start 11: expected a fault number from 1 to --faults 10" in capsys.readouterr().err
    assert main(["soak", "--faults", "10", "--start", "0", "--name", "nosuchlab"]) == 2
    assert "--start 0" in capsys.readouterr().err


def test_the_commands_a_lab_prints_name_that_lab_unless_it_is_the_default(monkeypatch):
    from lab.cli import cluster

    monkeypatch.delenv("LAB_NAME", raising=False)
    monkeypatch.setattr(cluster.shutil, "which", lambda _: "/usr/local/bin/lab")
    rows = [("lab status", "who serves"), ("lab logs ha1 -f", "the log"), ("make lab-down", "remove it")]
    lines = cluster.commands("b", rows).splitlines()
    assert [ln.split("  ")[1].strip() for ln in lines] == ["lab status --name b", "lab logs --name b ha1 -f",
                                                         "make lab-down LAB_NAME=b"]
    assert "--name" not in cluster.commands("halab", rows)  # the default lab: as typed
    monkeypatch.setenv("LAB_NAME", "b")  # or the one $LAB_NAME names
    assert "--name" not in cluster.commands("b", rows)
    # `lab` not on the PATH: the output says how to get it there or what to type instead
    monkeypatch.setattr(cluster.shutil, "which", lambda _: None)
    assert "`sudo make install`" in cluster.commands("b", rows)


def test_every_option_and_argument_of_every_command_says_what_it_is_for():
    import argparse

    missing = [f"lab {' '.join(path)} {a.option_strings[-1] if a.option_strings else a.dest}"
               for path, p in walk(parser()) for a in p._actions
               if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction, argparse._VersionAction))
               and not a.help]
    assert missing == []


def test_one_name_for_one_thing_across_commands():
    """--json wherever a command prints a result; --class for a class; --via for where probes run."""
    words = {" ".join(path): {s for a in p._actions for s in a.option_strings} for path, p in walk(parser())}
    for cmd in ("status", "ls", "check", "solve", "audit", "scenario", "soak", "cts", "class up", "class status"):
        assert "--json" in words[cmd], cmd
    for cmd in ("class up", "class status", "class reset", "class serve", "class roster", "class key", "class down"):
        assert "--class" in words[cmd] and "--prefix" not in words[cmd], cmd
    for cmd in ("scenario", "probe"):
        assert "--via" in words[cmd] and "--from" not in words[cmd], cmd
    assert "--from" not in words["soak"]  # up's --from is a folder; the soak starts at --start J
    for cmd in ("down", "class down", "class reset"):
        assert "--yes" in words[cmd], cmd


def test_lab_version_and_refused_combinations(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("lab ")
    assert main(["scenario", "list", "--writes", "--report", "x"]) == 2
    assert "scenario list takes no --report, --writes" in capsys.readouterr().err
    assert main(["exec", "ha1", "--name", "nosuchlab"]) == 2  # no command: refused before looking for the lab
    assert "expected a command after the node" in capsys.readouterr().err


def test_removing_every_lab_asks_first_and_without_a_terminal_wants_yes(monkeypatch, capsys):
    from lab.cli import options

    monkeypatch.setattr(options.sys.stdin, "isatty", lambda: False)
    with pytest.raises(Exception, match="add --yes to go ahead"):
        options.confirm("remove every lab", yes=False)
    options.confirm("remove every lab", yes=True)  # --yes: no question
    monkeypatch.setattr(options.sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda _: "n")
    with pytest.raises(Exception, match="not confirmed: nothing was done"):
        options.confirm("remove every lab", yes=False)
    monkeypatch.setattr("builtins.input", lambda _: "y")
    options.confirm("remove every lab", yes=False)
