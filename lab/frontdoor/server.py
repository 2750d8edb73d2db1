"""`lab class serve`: the web front door and the ssh door of a class, in one process (one
asyncio loop), with the class's view refreshed in the background."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from aiohttp import web

from .. import classroom
from ..errors import ConfigError, LabError
from . import sshd
from .keys import Limiter
from .record import ClassRecord
from .service import ClassService
from .web import make_app


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str, what: str = "--listen") -> "Listen":
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigError(f"{what} {text!r}: expected HOST:PORT (0.0.0.0:8443, 127.0.0.1:8000)")
        return cls(host.strip("[]") or "0.0.0.0", int(port))

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return self.host == "localhost"


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if not cert and not key:
        return None
    if not (cert and key):
        raise ConfigError("--tls-cert and --tls-key go together: the certificate and its private key")
    for p in (cert, key):
        if not Path(p).is_file():
            raise ConfigError(f"{p}: no such file (expected a PEM certificate and key)")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise ConfigError(f"--tls-cert {cert} --tls-key {key}: {exc.reason or exc}") from None
    return ctx


def public_host(listen: Listen, given: str | None) -> str:
    """The server's name in the roster's URLs and ssh commands: --public-host; the address
    listened on; for a wildcard address the machine's name if it names more than this
    machine's loopback (many hosts files map the host name to 127.0.1.1), else the address of
    the interface that carries the default route (trainees elsewhere reach that one)."""
    if given:
        return given
    if listen.host not in ("0.0.0.0", "::", ""):
        return listen.host
    name = socket.getfqdn()
    try:
        if not all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(name, None)):
            return name
    except (OSError, ValueError):
        pass
    return route_address() or name


def route_address() -> str | None:
    """This machine's address on the interface of its default route: a UDP socket's local
    address once "connected" (no packet is sent) to an address of the documentation range."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("203.0.113.1", 9))
            return s.getsockname()[0]
        except OSError:
            return None


class Running:
    """A served class, for `lab class serve` and the tests: start() then stop()."""

    def __init__(self, where: list[classroom.Engine], klass: str, listen: Listen, tls: ssl.SSLContext | None = None,
                 ssh: Listen | None = None, host: str | None = None, say: Callable[[str], None] = print) -> None:
        self.record = ClassRecord.load(klass)
        # the instructor's actions and their steps go to the server's log, beside the logins
        self.service = ClassService(where, klass, self.record, logging.getLogger("lab.frontdoor.class").info)
        if not self.service.members:
            raise ConfigError(f"class {klass!r} has no lab on the engine(s): `lab class up --class {klass}` first")
        self.listen, self.tls, self.ssh, self.say = listen, tls, ssh, say
        self.host = public_host(listen, host)
        self.limiter = Limiter()
        self._runner: web.AppRunner | None = None
        self._ssh = None
        self.url = ""
        self.ssh_port: int | None = None

    async def start(self) -> None:
        app = make_app(self.service, self.tls is not None)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen.host, self.listen.port, ssl_context=self.tls)
        try:
            await site.start()
            port = self._runner.addresses[0][1]
            self.url = f"{'https' if self.tls else 'http'}://{self.host}:{port}/"
            if self.ssh is not None:
                where = f"--ssh-port: {self.ssh.host}:{self.ssh.port}"
                self._ssh = await sshd.serve(self.service, self.ssh.host, self.ssh.port, self.limiter)
                self.ssh_port = self._ssh.sockets[0].getsockname()[1]
        except OSError as exc:  # the port taken (another server, an earlier `lab class serve`), no such address
            await self.stop()
            what = where if self.url else f"--listen {self.listen.host}:{self.listen.port}"
            raise LabError(f"cannot listen on {what}: {exc.strerror or exc}; expected a free port on an address of "
                           "this machine (another `lab class serve` may hold it: `ss -ltnp` names it)") from None
        self.record.served = {"url": self.url, "ssh_host": self.host, "ssh_port": self.ssh_port,
                              "ssh_fingerprint": sshd.fingerprint(self.record.klass) if self.ssh else None}
        self.record.save()
        self.service.start()

    async def stop(self) -> None:
        self.service.stop()
        if self._ssh is not None:
            self._ssh.close()
        if self._runner is not None:
            await self._runner.cleanup()


def serve_forever(running: Running) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # its INFO is a line per channel event

    async def main() -> None:
        await running.start()
        say = running.say
        if not running.tls and not running.listen.loopback:
            say(f"WARNING: serving class {running.record.klass!r} on {running.listen.host} without TLS: passwords and "
                "sessions cross the network in clear. Give --tls-cert and --tls-key (docs/teach/classroom.md).")
        say(f"class {running.record.klass!r}: {len(running.service.members)} lab(s) at {running.url}"
            + (f"; ssh -p {running.ssh_port} LAB@{running.host} (host key {running.record.served['ssh_fingerprint']})"
               if running.ssh_port else ""))
        say(f"the roster: lab class roster --class {running.record.klass} --format html > roster.html  "
            "(Ctrl-C stops the server)")
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    except KeyboardInterrupt:
        pass
    finally:
        loop.run_until_complete(running.stop())
        loop.close()
