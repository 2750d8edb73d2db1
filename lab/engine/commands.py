"""One way to run a command in a lab container (and to put or read a file), used everywhere."""

from __future__ import annotations

import io
import tarfile
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Iterator

import docker.errors
from docker.models.containers import Container

from ..errors import CommandError


# the code of a command that never ran: its container stopped or was being reset (a board's
# power action, a kill) between the caller's look and the exec
DID_NOT_RUN = -1


@dataclass(frozen=True)
class Result:
    code: int
    output: str

    @property
    def ok(self) -> bool:
        return self.code == 0

    @property
    def ran(self) -> bool:
        return self.code != DID_NOT_RUN


def _raced_a_stop(exc: docker.errors.APIError | None, code: int | None, out: bytes) -> bool:
    """The exec lost a race with the container's end. Docker says so in two ways: a 409 "is
    not running" before the exec starts, or, when the container dies while the runtime joins
    its namespaces, exit 126 with "OCI runtime exec failed ... setns" (seen when a board
    reset a node under the heal's send_arp)."""
    if exc is not None:
        return exc.status_code == 409 and "is not running" in str(exc)
    return code == 126 and b"OCI runtime exec failed" in out


def run(container: Container, argv: list[str], timeout: float | None = 30, check: bool = False,
        user: str = "") -> Result:
    """Run argv in the container; stdout and stderr together. `timeout` (seconds) kills the
    command inside the container, so a command stuck on a hard NFS mount cannot hang the lab."""
    cmd = ["timeout", "-k", "2", f"{timeout:g}", *argv] if timeout else argv
    try:
        code, out = container.exec_run(cmd, user=user, demux=False)
        out = out or b""
        if _raced_a_stop(None, code, out):
            res = Result(DID_NOT_RUN, f"container {container.name} stopped as the command began: "
                                      f"{out.decode(errors='replace').strip()}")
        else:
            res = Result(code if code is not None else DID_NOT_RUN, out.decode(errors="replace"))
    except docker.errors.APIError as exc:
        # stopped between the caller's look and the exec: the command did not run, which an
        # observation reads as "no", and check=True reports
        if not _raced_a_stop(exc, None, b""):
            raise
        res = Result(DID_NOT_RUN, f"container {container.name} is not running")
    if check and not res.ok:
        raise CommandError(
            f"in {container.name}: `{' '.join(argv)}` exited {res.code} (expected 0); output:\n{res.output.strip()}"
        )
    return res


def sh(container: Container, script: str, timeout: float | None = 30, check: bool = False) -> Result:
    """Run a shell script (for pipes and redirections, e.g. the article's `cat < /dev/ttyS0`)."""
    return run(container, ["bash", "-c", script], timeout=timeout, check=check)


def put_file(container: Container, path: str, data: bytes, mode: int = 0o644) -> None:
    """Write a file into the container's own filesystem (not through a mount made inside it,
    such as /ha: docker writes beside those)."""
    p = PurePosixPath(path)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(p.name)
        info.size, info.mode, info.mtime = len(data), mode, int(time.time())
        tar.addfile(info, io.BytesIO(data))
    if not container.put_archive(str(p.parent), buf.getvalue()):
        raise CommandError(f"could not write {path} into {container.name}")


def read_file(container: Container, path: str) -> bytes:
    """A file of the container's own filesystem, whether the container runs or not (a
    killed node's logs are read this way)."""
    chunks, _ = container.get_archive(path)
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
        member = tar.next()
        f = tar.extractfile(member) if member else None
        if f is None:
            raise CommandError(f"{path} in {container.name} is not a regular file")
        return f.read()


class Lines:
    """A command's output, line by line as it comes (decoded; a last line without its newline
    too), then its exit code. For the long-running agents and CTS: iterate, then read
    `exit_code`."""

    def __init__(self, container: Container, argv: list[str], workdir: str | None = None):
        self._api = container.client.api
        self._exec = self._api.exec_create(container.id, argv, workdir=workdir)["Id"]

    def __iter__(self) -> Iterator[str]:
        buf = b""
        for chunk in self._api.exec_start(self._exec, stream=True):
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                yield raw.decode(errors="replace")
        if buf:
            yield buf.decode(errors="replace")

    @property
    def exit_code(self) -> int | None:
        return self._api.exec_inspect(self._exec)["ExitCode"]
