"""One way to run a command in a lab container (and to put or read a file), used everywhere."""

from __future__ import annotations

import io
import tarfile
import time
from dataclasses import dataclass
from pathlib import PurePosixPath

import docker.errors
from docker.models.containers import Container

from ..errors import CommandError


@dataclass(frozen=True)
class Result:
    code: int
    output: str

    @property
    def ok(self) -> bool:
        return self.code == 0


def run(container: Container, argv: list[str], timeout: float | None = 30, check: bool = False,
        user: str = "") -> Result:
    """Run argv in the container; stdout and stderr together. `timeout` (seconds) kills the
    command inside the container, so a command stuck on a hard NFS mount cannot hang the lab."""
    cmd = ["timeout", "-k", "2", f"{timeout:g}", *argv] if timeout else argv
    try:
        code, out = container.exec_run(cmd, user=user, demux=False)
        res = Result(code if code is not None else -1, (out or b"").decode(errors="replace"))
    except docker.errors.APIError as exc:
        # stopped between the caller's look and the exec (a board's power off, a kill): the
        # command did not run, which an observation reads as "no", and check=True reports
        if exc.status_code != 409 or "is not running" not in str(exc):
            raise
        res = Result(-1, f"container {container.name} is not running")
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
