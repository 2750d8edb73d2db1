"""The class's ssh door (asyncssh): `ssh -p PORT LAB@server` (then a choice of node) or
`ssh -p PORT LAB+ha1@server [command]`, with the roster's credential as the password or a
public key the instructor added for the trainee. No host account: a login is a lab of the
class, and a session is a `docker exec` in that lab's container (lab.frontdoor.terminal).
The host key is the class's own (kept beside its roster), so trainees' known_hosts stay
right across restarts of the server."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import asyncssh

from ..errors import ConfigError
from .access import REACHABLE, Who, container_for, parse_ssh_user
from .keys import Limiter, same_credential
from .record import TRAINEE, ClassRecord, class_dir
from .service import ClassService
from .terminal import ExecTerminal, pump

log = logging.getLogger("lab.frontdoor.ssh")


def host_key(klass: str) -> asyncssh.SSHKey:
    path = class_dir(klass) / "ssh_host_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(path))
        path.chmod(0o600)
    return asyncssh.read_private_key(str(path))


class ClassSSHServer(asyncssh.SSHServer):
    def __init__(self, service: ClassService, limiter: Limiter) -> None:
        self.service, self.limiter = service, limiter
        self.peer = "?"

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.peer = (conn.get_extra_info("peername") or ("?",))[0]

    def begin_auth(self, username: str) -> bool:
        return True  # every login needs the roster's credential or key

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        client = f"{self.peer}/{username.split('+')[0]}"  # per address and lab, as the web login
        if self.limiter.wait(client) > 0:
            log.warning("ssh login slowed: %s as %r", self.peer, username)
            return False
        try:
            lab, _ = parse_ssh_user(username)
        except ConfigError:
            lab = ""
        expected = self.service.record.credentials.get(lab)
        if expected and same_credential(password, expected):
            self.limiter.succeeded(client)
            return True
        self.limiter.failed(client)
        log.warning("ssh login refused: %s as %r", self.peer, username)
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        try:
            lab, _ = parse_ssh_user(username)
        except ConfigError:
            return False
        # read again: `lab class key` adds keys while the class is served
        keys = ClassRecord.load(self.service.klass).public_keys.get(lab, [])
        return any(asyncssh.import_public_key(k).public_data == key.public_data for k in keys)


async def choose_node(process: asyncssh.SSHServerProcess) -> str | None:
    """Ask which container to open; the session is raw bytes (no line editor, so that the
    shell behind gets every key), so the answer is echoed here."""
    prompt = f"Which node of your lab? ({', '.join(REACHABLE)}) ".encode()
    process.stdout.write(prompt)
    line = b""
    while True:
        try:
            data = await process.stdin.read(64)
        except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged):
            continue
        if not data:
            return None
        for byte in data:
            ch = bytes([byte])
            if ch in (b"\r", b"\n"):
                process.stdout.write(b"\r\n")
                answer = line.decode(errors="replace").strip()
                if answer in REACHABLE:
                    return answer
                line = b""
                process.stdout.write(f"expected one of {', '.join(REACHABLE)}: ".encode())
            elif ch in (b"\x03", b"\x04"):  # Ctrl-C, Ctrl-D
                return None
            elif ch in (b"\x7f", b"\x08"):
                if line:
                    line = line[:-1]
                    process.stdout.write(b"\b \b")
            elif byte >= 32:
                line += ch
                process.stdout.write(ch)


async def session(service: ClassService, process: asyncssh.SSHServerProcess) -> None:
    username = process.get_extra_info("username")
    lab, node = parse_ssh_user(username)
    who = Who(TRAINEE, lab)
    if node is None:
        if process.command:
            process.stderr.write(f"with a command, name the node: ssh {lab}+ha1@... '{process.command}'\n".encode())
            process.exit(2)
            return
        node = await choose_node(process)
        if node is None:
            process.exit(0)
            return
    try:
        lab, node = container_for(who, lab, node)
        handle = service.handle(lab)
    except (PermissionError, KeyError) as exc:
        process.stderr.write(f"refused: {exc}\n".encode())
        process.exit(1)
        return
    tty = process.get_terminal_type() is not None
    argv = ["bash", "-lc", process.command] if process.command else None
    loop = asyncio.get_running_loop()
    width, height, *_ = process.get_terminal_size() if tty else (0, 0)
    try:
        term = await loop.run_in_executor(None, lambda: ExecTerminal(
            handle.client, handle.cfg.container_name(node), argv, tty=tty, size=(width, height) if tty else None))
    except Exception as exc:
        process.stderr.write(f"cannot open a shell on {node}: {str(exc).splitlines()[0]}\n".encode())
        process.exit(1)
        return
    log.info("ssh: %s opened %s/%s%s", who, lab, node, f" ({process.command!r})" if process.command else "")
    done = asyncio.Event()

    def deliver(stream: int, data: bytes) -> None:
        if not data:
            done.set()
            return
        (process.stderr if stream == 2 else process.stdout).write(data)

    pump(term, loop, deliver)

    async def from_client() -> None:
        try:
            while not process.stdin.at_eof():
                try:
                    data = await process.stdin.read(4096)
                except asyncssh.TerminalSizeChanged as change:
                    await loop.run_in_executor(None, term.resize, change.width, change.height)
                    continue
                except asyncssh.BreakReceived:
                    continue
                if data:
                    await loop.run_in_executor(None, term.write, data)
            term.close_input()
        except (asyncssh.Error, OSError):
            pass

    reader = asyncio.create_task(from_client())
    await done.wait()
    reader.cancel()
    code = await loop.run_in_executor(None, term.exit_code)
    term.close()
    process.exit(code if code is not None else 0)


async def serve(service: ClassService, host: str, port: int, limiter: Limiter) -> asyncssh.SSHAcceptor:
    key = host_key(service.klass)

    async def handler(process: asyncssh.SSHServerProcess) -> None:
        try:
            await session(service, process)
        except ConfigError as exc:
            process.stderr.write(f"{exc}\n".encode())
            process.exit(2)

    return await asyncssh.create_server(lambda: ClassSSHServer(service, limiter), host, port,
                                        server_host_keys=[key], process_factory=handler, encoding=None,
                                        line_editor=False, allow_scp=False, agent_forwarding=False,
                                        x11_forwarding=False)


def fingerprint(klass: str) -> str:
    return host_key(klass).get_fingerprint()


def key_path(klass: str) -> Path:
    return class_dir(klass) / "ssh_host_key"
