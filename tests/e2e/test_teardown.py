"""Runs last: `lab down` leaves nothing with the lab's labels behind."""

import subprocess
import sys

import pytest

from lab.engine.labels import lab_filter


@pytest.mark.teardown
def test_lab_down_removes_everything_with_the_labs_labels(lab, docker):  # noqa: ANN001
    flt = lab_filter(lab.cfg.name)
    assert docker.containers.list(all=True, filters=flt), "the session's lab should be up before this test"
    subprocess.run([sys.executable, "-m", "lab", "down", "--name", lab.cfg.name], check=True, timeout=120,
                   capture_output=True)
    assert docker.containers.list(all=True, filters=flt) == []
    assert docker.networks.list(filters=flt) == []
    assert docker.volumes.list(filters=flt) == []
