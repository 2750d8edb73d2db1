"""One way to run a command in a lab container, used everywhere."""

from __future__ import annotations

import io
import tarfile
import time
from dataclasses import dataclass
from pathlib import PurePosixPath

from docker.models.containers import Container


@dataclass(frozen=True)
class Result:
    code: int
    output: str

    @property
    def ok(self) -> bool:
        return self.code == 0


class CommandError(RuntimeError):
    pass


def run(container: Container, argv: list[str], timeout: float | None = 30, check: bool = False,
        user: str = "") -> Result:
    """Run argv in the container; stdout and stderr together. `timeout` (seconds) kills the
    command inside the container, so a command stuck on a hard NFS mount cannot hang the lab."""
    cmd = ["timeout", "-k", "2", f"{timeout:g}", *argv] if timeout else argv
    code, out = container.exec_run(cmd, user=user, demux=False)
    res = Result(code if code is not None else -1, (out or b"").decode(errors="replace"))
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
