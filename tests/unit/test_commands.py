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


class StreamingApi:
    """The engine's exec API as a long command streams: chunks cut anywhere, even inside a
    multi-byte character, and a last line without its newline."""

    def __init__(self, chunks: list[bytes], code: int):
        self.chunks, self.code = chunks, code

    def exec_create(self, container_id, argv, workdir=None):  # noqa: ANN001, ANN201
        return {"Id": "e1"}

    def exec_start(self, exec_id, stream):  # noqa: ANN001, ANN201
        yield from self.chunks

    def exec_inspect(self, exec_id):  # noqa: ANN001, ANN201
        return {"ExitCode": self.code}


def test_lines_come_whole_whatever_the_chunks_and_the_exit_code_after():
    from types import SimpleNamespace

    from lab.engine.commands import Lines

    text = '{"t": 1.5, "node": "ha1"}\n{"t": 2.0, "node": "hä2"}\ncut'.encode()
    chunks = [text[:7], text[7:33], text[33:48], text[48:]]  # 48 falls inside ä
    container = SimpleNamespace(id="c1", client=SimpleNamespace(api=StreamingApi(chunks, 3)))
    stream = Lines(container, ["python3", "-u", "agent.py"])
    assert list(stream) == ['{"t": 1.5, "node": "ha1"}', '{"t": 2.0, "node": "hä2"}', "cut"]
    assert stream.exit_code == 3
