"""A terminal in a lab's container: `docker exec` with a TTY through the engine's API (the
same client the lab uses, so any engine of the class works), as a byte stream with a size.
The browser's terminals and the ssh sessions both use it; which container is decided by
the caller from the session (lab.frontdoor.access)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import threading
from typing import Callable

import docker

SHELL = ["bash", "-l"]
TERM = "xterm-256color"


class ExecTerminal:
    """An exec session in `container` (a name) on `client`'s engine: with a TTY for an
    interactive shell (bytes both ways, a size), or without one for a command (stdout and
    stderr apart, an exit code)."""

    def __init__(self, client: docker.DockerClient, container: str, argv: list[str] | None = None,
                 tty: bool = True, size: tuple[int, int] | None = None) -> None:
        self.api = client.api
        self.tty = tty
        self.container = container
        env = {"TERM": TERM} if tty else {}
        # the process notes its pid (in the container) before becoming the shell: closing the
        # connection does not end a `docker exec` (moby #9098), so close() hangs it up
        self.pidfile = f"/tmp/.lab-term-{secrets.token_hex(6)}"
        wrapped = ["sh", "-c", f'echo $$ > {self.pidfile}; exec "$@"', "sh", *(argv or SHELL)]
        self.exec_id = self.api.exec_create(container, wrapped, tty=tty, stdin=True, environment=env)["Id"]
        self._sock = self.api.exec_start(self.exec_id, socket=True, tty=tty)
        self.raw: socket.socket = getattr(self._sock, "_sock", self._sock)
        if size:
            self.resize(*size)

    def write(self, data: bytes) -> None:
        self.raw.sendall(data)

    def close_input(self) -> None:
        with contextlib.suppress(OSError):
            self.raw.shutdown(socket.SHUT_WR)

    def resize(self, cols: int, rows: int) -> None:
        if self.tty and cols > 0 and rows > 0:
            with contextlib.suppress(docker.errors.APIError):  # the process may have just ended
                self.api.exec_resize(self.exec_id, height=rows, width=cols)

    def read(self) -> tuple[int, bytes]:
        """The next chunk: (1 stdout or 2 stderr, bytes); b"" when the process has ended. With
        a TTY everything is stdout; without one the engine frames each chunk (8-byte header)."""
        if self.tty:
            try:
                return 1, self.raw.recv(65536)
            except OSError:
                return 1, b""
        header = self._exactly(8)
        if len(header) < 8:
            return 1, b""
        size = int.from_bytes(header[4:8], "big")
        return header[0] or 1, self._exactly(size)

    def _exactly(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            try:
                chunk = self.raw.recv(n - len(out))
            except OSError:
                return out
            if not chunk:
                return out
            out += chunk
        return out

    def exit_code(self) -> int | None:
        return self.api.exec_inspect(self.exec_id).get("ExitCode")

    def close(self) -> None:
        """Close the connection and end what runs in it: SIGHUP to the shell, which passes it
        to its jobs (a `cat < /dev/ttyS0` left running would go on stealing the cable's
        bytes from heartbeat)."""
        with contextlib.suppress(OSError):
            self.raw.close()
        with contextlib.suppress(OSError, AttributeError):
            self._sock.close()
        with contextlib.suppress(docker.errors.APIError, docker.errors.NotFound):
            running = self.api.exec_inspect(self.exec_id).get("Running")
            hangup = f'kill -HUP "$(cat {self.pidfile})" 2>/dev/null; ' if running else ""
            end = self.api.exec_create(self.container, ["sh", "-c", f"{hangup}rm -f {self.pidfile}"])
            self.api.exec_start(end["Id"])


def pump(term: ExecTerminal, loop: asyncio.AbstractEventLoop,
         deliver: Callable[[int, bytes], None]) -> threading.Thread:
    """A thread that reads the exec's output and hands each chunk to `deliver` in `loop`
    (b"" once, at the end). A thread rather than the event loop: an engine reached over TLS
    gives a socket asyncio cannot read directly."""
    def run() -> None:
        while True:
            stream, data = term.read()
            loop.call_soon_threadsafe(deliver, stream, data)
            if not data:
                return

    thread = threading.Thread(target=run, daemon=True, name=f"exec-{term.exec_id[:8]}")
    thread.start()
    return thread
