"""A command in a container that stopped between the caller's look and the exec (a board's
power off during a heal): the command did not run; it is not an engine failure."""

from __future__ import annotations

import docker.errors
import pytest

from lab.engine.commands import run
from lab.errors import CommandError


class Response:
    def __init__(self, status_code: int):
        self.status_code = status_code
        self.reason = "Conflict"
        self.url = "http+docker://localhost/v1.41/containers/2abfbe5b/exec"


class Stopped:
    name = "hatest-ha2"

    def __init__(self, status: int, message: str):
        self.status, self.message = status, message

    def exec_run(self, cmd, user, demux):  # noqa: ANN001, ANN201
        raise docker.errors.APIError("409 Client Error", response=Response(self.status), explanation=self.message)


def test_a_container_stopped_under_a_command_gives_a_failed_result_and_check_says_so():
    gone = Stopped(409, "Container 2abfbe5b is not running")
    res = run(gone, ["pgrep", "-f", "heartbeat"])
    assert not res.ok and res.output == "container hatest-ha2 is not running"
    with pytest.raises(CommandError, match="is not running"):
        run(gone, ["true"], check=True)


def test_other_engine_errors_still_raise():
    with pytest.raises(docker.errors.APIError):
        run(Stopped(409, "Container 2abfbe5b is paused, unpause the container before exec"), ["true"])
    with pytest.raises(docker.errors.APIError):
        run(Stopped(500, "is not running"), ["true"])
