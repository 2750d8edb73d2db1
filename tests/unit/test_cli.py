"""The command line: options become a validated config; bad arguments are one clear line."""

import pytest

from lab.cli import main, parser
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
    assert main(["soak", "--faults", "10", "--from", "11", "--name", "nosuchlab"]) == 2
    assert "--from 11: expected a fault number from 1 to --faults 10" in capsys.readouterr().err
    assert main(["soak", "--faults", "10", "--from", "0", "--name", "nosuchlab"]) == 2
    assert "--from 0" in capsys.readouterr().err
