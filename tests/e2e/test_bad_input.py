"""Bad input and failed start-ups: one clear error, and nothing left half-made."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labtest import NETS, TEST_LAB, make_config
from lab import heartbeat
from lab.engine.labels import lab_filter
from lab.errors import LabError
from lab.observe.state import who_serves
from lab.provision import up


def lab_objects(docker, name: str) -> list[str]:  # noqa: ANN001
    flt = lab_filter(name)
    return ([c.name for c in docker.containers.list(all=True, filters=flt)]
            + [n.name for n in docker.networks.list(filters=flt)]
            + [v.name for v in docker.volumes.list(filters=flt)])


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--vip", "10.9.9.9"], "outside the LAN subnet"),
        (["--vip", "172.29.94.20"], "inside docker's dynamic range"),
        (["--serial-subnet", "172.29.94.0/25"], "overlaps the LAN"),
        (["--name", "Bad_Name"], "lab name 'Bad_Name'"),
    ],
)
def test_lab_up_with_bad_input_fails_before_creating_anything(docker, args, expected):  # noqa: ANN001
    name = f"{TEST_LAB}-bad"
    argv = [sys.executable, "-m", "lab", "up", "--name", name, "--subnet", "172.29.94.0/24",
            "--vip", "172.29.94.200", "--port", "0", *args]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res.stderr
    assert expected in res.stderr
    assert lab_objects(docker, name) == []


def test_unknown_node_on_the_command_line_is_refused(lab):  # noqa: ANN001
    res = subprocess.run([sys.executable, "-m", "lab", "shell", "ha7", "--name", lab.cfg.name],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "invalid choice: 'ha7'" in res.stderr


def test_a_lab_name_in_use_is_refused_and_the_running_lab_is_untouched(lab, docker):  # noqa: ANN001
    before = sorted(lab_objects(docker, lab.cfg.name))
    with pytest.raises(LabError, match=f"lab name '{lab.cfg.name}' is in use"):
        up(make_config(net=NETS["bad-input"]), client=docker)
    assert sorted(lab_objects(docker, lab.cfg.name)) == before
    assert who_serves(lab) == "ha1"


def test_docker_unreachable_is_one_clear_error():
    res = subprocess.run([sys.executable, "-m", "lab", "up", "--name", f"{TEST_LAB}-bad"],
                         capture_output=True, text=True, timeout=60,
                         env={"DOCKER_HOST": "unix:///nonexistent/docker.sock", "PATH": "/usr/bin:/bin"})
    assert res.returncode == 1
    assert "Docker is unreachable" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("fault", [RuntimeError("injected failure"), KeyboardInterrupt()])
def test_a_failed_or_interrupted_up_removes_what_it_made_and_names_the_step(docker, monkeypatch, fault, lab):  # noqa: ANN001
    name = f"{TEST_LAB}-fail"
    seen: list[list[str]] = []

    def broken_start(lab, node):  # noqa: ANN001
        seen.append(lab_objects(docker, name))  # what existed when the step failed
        raise fault

    monkeypatch.setattr(heartbeat, "start_heartbeat", broken_start)
    with pytest.raises(LabError) as exc:
        up(make_config(name=name, net=NETS["bad-input-twice"]), client=docker, say=lambda msg: None)
    # the whole error on a failure (run 43 failed an earlier step, and pytest cut its report short)
    assert "the article's step 'start-cluster': Start heartbeat, master first" in str(exc.value), str(exc.value)
    if isinstance(fault, KeyboardInterrupt):
        assert "interrupted" in str(exc.value)
    assert len(seen[0]) >= 6, f"the failure should have come after containers were made, saw {seen[0]}"
    assert lab_objects(docker, name) == []
