"""Bring your own cluster: `lab up --from DIR` refuses a broken copy of a site's files before
anything is created, and another project (examples/status-page) tests its own heartbeat
files with nothing but the installed wheel and its pytest plugin."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from labtest import TEST_LAB
from lab.engine.labels import APP, LABEL_APP, lab_filter, lab_names
from lab.model.custom import IMAGE_INIT_SCRIPTS, IMAGE_RESOURCE_SCRIPTS
from lab.model.topology import image_name

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "status-page"

pytestmark = pytest.mark.e2e


def lab_objects(docker, name: str) -> list[str]:  # noqa: ANN001
    flt = lab_filter(name)
    return ([c.name for c in docker.containers.list(all=True, filters=flt)]
            + [n.name for n in docker.networks.list(filters=flt)]
            + [v.name for v in docker.volumes.list(filters=flt)])


def test_a_broken_copy_is_refused_with_file_and_line_and_nothing_made(docker, tmp_path: Path) -> None:  # noqa: ANN001
    broken = tmp_path / "cluster"
    shutil.copytree(EXAMPLE / "cluster", broken)
    hacf = (broken / "ha.cf").read_text()
    (broken / "ha.cf").write_text(hacf.replace("keepalive\t200ms", "keepalive\t1").replace("deadtime\t2", "deadtime\t1"))
    hares = (broken / "haresources").read_text()
    (broken / "haresources").write_text(hares.replace("statusfile", "statuspage"))
    name = f"{TEST_LAB}-bad"
    res = subprocess.run([sys.executable, "-m", "lab", "up", "--name", name, "--port", "0", "--from", str(broken)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res.stderr
    assert "ha.cf:7: deadtime 1 must be above 2 x keepalive (2)" in res.stderr, res.stderr
    assert "haresources:4: statuspage: no such resource script" in res.stderr, res.stderr
    assert "nothing was created" in res.stderr
    assert lab_objects(docker, name) == []


def test_the_check_knows_the_resource_scripts_of_the_node_image(docker) -> None:  # noqa: ANN001
    """haresources is checked against a list of the scripts the node image has: the list is the image's."""
    out = docker.containers.run(image_name("node"), ["-c", "ls /etc/ha.d/resource.d; echo --; ls /etc/init.d"],
                                entrypoint="sh", remove=True, labels={LABEL_APP: APP}).decode()
    resource_d, _, init_d = out.partition("--\n")
    assert set(resource_d.split()) == IMAGE_RESOURCE_SCRIPTS
    assert set(init_d.split()) == IMAGE_INIT_SCRIPTS


def test_the_example_project_passes_with_only_the_wheel_and_the_plugin(docker, tmp_path: Path) -> None:  # noqa: ANN001
    # the wheel, built as a release would be (make wheel), installed into a fresh virtual environment
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
                   check=True, timeout=600)
    wheel = next(dist.glob("heartbeat_lab-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, str(wheel), "pytest", "pytest-xdist"], check=True, timeout=900)
    # the project, in a directory of its own, as another project would have it; run on two
    # xdist workers, as a CI job would: each worker its own lab (NAME-gw0, NAME-gw1: its own
    # addresses and port), and one test makes a third. (Without --lab-name each session's
    # NAME is random; here it is one the suite's clean-up knows, should this test be cut short.)
    project = tmp_path / "status-page"
    shutil.copytree(EXAMPLE, project)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS")}
    name = f"{TEST_LAB}-example"
    res = subprocess.run([str(env_dir / "bin" / "pytest"), "-n", "2", "--lab-name", name],
                         cwd=project, env=env, capture_output=True, text=True, timeout=900)
    print(res.stdout[-6000:], res.stderr[-3000:])
    assert res.returncode == 0, res.stdout[-4000:]
    assert "4 passed" in res.stdout
    # the plugin took down every lab it made
    assert {n for n in lab_names(docker) if n.startswith(name)} == set()
    # and the wheel's `lab` works outside this repository, from the install
    res = subprocess.run([str(env_dir / "bin" / "lab"), "scenario", "list"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "hard-kill" in res.stdout, res.stderr
