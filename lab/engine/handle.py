"""A handle to one lab: its configuration, its containers, one way to run a command in
them. Everything that acts on a lab (provisioning, heartbeat control, observation, faults)
takes this handle."""

from __future__ import annotations

import os
from datetime import datetime, timezone

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # Ryuk needs a registry; we clean up by label

import docker  # noqa: E402
from docker.context import ContextAPI  # noqa: E402
import docker.errors  # noqa: E402
from docker.models.containers import Container  # noqa: E402

from ..errors import LabError  # noqa: E402
from ..model.config import ALL_HOSTS, LabConfig, check_node  # noqa: E402
from ..model.topology import Topology, topology  # noqa: E402
from ..waiting import wait_until  # noqa: E402
from . import commands, configstore  # noqa: E402
from .contexts import ensure_docker_config  # noqa: E402
from .rootless import ROOTLESS, USERNS, engine_kind, userns_root_ids  # noqa: E402
from .commands import Result  # noqa: E402
from .labels import LABEL_CONFIG, LABEL_LAB, lab_filter, listed  # noqa: E402
from .say import Say, say_stderr  # noqa: E402, F401 (callers take them from here too)

def docker_client(context: str | None = None) -> docker.DockerClient:
    """The engine of DOCKER_HOST (or the default socket); or of the named docker context
    (`docker context create NAME --docker host=ssh://user@host`), for a class spread over
    several engines."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if context is None:
            client = docker.from_env()
        else:
            ensure_docker_config()
            ctx = ContextAPI.get_context(context)
            if ctx is None:
                raise LabError(f"no docker context {context!r} (see `docker context ls`; create one with "
                               f"`docker context create {context} --docker host=ssh://user@host`)")
            where = ctx.Host
            client = docker.DockerClient(base_url=ctx.Host, use_ssh_client=ctx.Host.startswith("ssh://"))
        client.ping()
        client.lab_host = where  # type: ignore[attr-defined]  # the URL it was made from (engine_url)
        return client
    except LabError:
        raise
    except Exception as exc:  # DockerException, requests errors, FileNotFoundError ...
        raise LabError(
            f"Docker is unreachable: expected a running Docker engine at {where}"
            f"{f' (context {context})' if context else ''}, got: {exc}. "
            "Start the Docker daemon (or set DOCKER_HOST, or fix the context) and try again."
        ) from None


def socket_path(client: docker.DockerClient) -> str | None:
    """The unix socket a client of a local engine talks through (None for ssh or tcp)."""
    return getattr(getattr(client.api, "_custom_adapter", None), "socket_path", None)


def engine_url(client: docker.DockerClient) -> str:
    """The URL of the engine a client talks to, as DOCKER_HOST would give it: for another
    library's client of the same engine (testcontainers makes its own)."""
    host = getattr(client, "lab_host", None)
    if host:
        return host
    path = socket_path(client)
    if path:
        return f"unix://{path}"
    return client.api.base_url.replace("http://", "tcp://", 1)


def testcontainers_kw(client: docker.DockerClient) -> dict:
    """testcontainers' docker_client_kw for the same engine as `client` (not DOCKER_HOST's)."""
    url = engine_url(client)
    return {"environment": {**os.environ, "DOCKER_HOST": url}, **({"use_ssh_client": True} if url.startswith("ssh://")
                                                                  else {})}


def engine_socket(client: docker.DockerClient) -> str:
    """The path of a local engine's unix socket (what a board's bind mount names)."""
    path = socket_path(client)
    if not path:
        raise LabError(f"the engine at {client.api.base_url} is not reached through a local unix socket: a lab's "
                       "boards drive their nodes' power through the engine's socket, so a lab with boards runs on an "
                       "engine of this machine")
    return path


class LabHandle:
    """A lab by its (resolved) configuration; its containers may or may not exist yet."""

    def __init__(self, cfg: LabConfig, client: docker.DockerClient | None = None, say: Say = say_stderr):
        self.cfg = cfg.resolved()
        self.say = say
        self._client = client
        # the current fault episode's audit window is open (lab.observe.audit): saves asking the nodes
        self.audit_window_open = False
        self._engine_kind: str | None = None
        self._topo: tuple[LabConfig, Topology] | None = None
        # how long each part of making it took, when this process made it (lab.machines)
        self.phases: list[tuple[str, float]] = []

    @property
    def topo(self) -> Topology:
        """The lab's containers and networks, for its configuration and this engine (a
        user-namespaced one serves NFS from a container of its own)."""
        if self._topo is None or self._topo[0] is not self.cfg:
            userns = self.engine_kind == USERNS
            boards = userns and self.cfg.has_boards
            self._topo = (self.cfg, topology(self.cfg, userns_root_ids() if userns else None,
                                             **({"engine_socket": engine_socket(self.client)} if boards else {})))
        return self._topo[1]

    @property
    def engine_kind(self) -> str:
        """rootful, rootless or userns-remap (lab.engine.rootless), asked of the engine once."""
        if self._engine_kind is None:
            self._engine_kind = engine_kind(self.client)
        return self._engine_kind

    @property
    def vip_from_host(self) -> bool:
        """Whether this machine reaches the lab's networks (the VIP) directly. Not on a rootless
        engine: its networks live in rootlesskit's namespace; ha3 and its 127.0.0.1
        publication reach the VIP there."""
        return self.engine_kind != ROOTLESS

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = docker_client()
        return self._client

    @classmethod
    def attach(cls, name: str, client: docker.DockerClient | None = None, say: Say = say_stderr) -> "LabHandle":
        """The running lab called `name`, with its configuration now (as started, or as a
        reconfiguration left it)."""
        client = client or docker_client()
        nets = listed(client.networks, [f"{LABEL_LAB}={name}", LABEL_CONFIG])
        if not nets:
            running = sorted({n.attrs["Labels"].get(LABEL_LAB, "?") for n in listed(client.networks, lab_filter()["label"])})
            raise LabError(
                f"no lab named {name!r} is running (labs running: {', '.join(running) or 'none'}); "
                "start one with `make lab-up` or `lab up`"
            )
        started_with = LabConfig.from_json(nets[0].attrs["Labels"][LABEL_CONFIG])
        return cls(configstore.effective(client, started_with), client, say)

    def record_config(self, cfg: LabConfig) -> None:
        """Make `cfg` the lab's configuration, for this handle and every later command
        (`lab status`, scenarios' bounds, `lab ls`, `lab reset`): lab.engine.configstore."""
        self.cfg = cfg.resolved()
        configstore.save(self.client, self.cfg)

    def container(self, host: str) -> Container:
        check_node(host, ALL_HOSTS + tuple(c.host for c in self.topo.containers if c.host not in ALL_HOSTS))
        try:
            return self.client.containers.get(self.cfg.container_name(host))
        except docker.errors.NotFound:
            raise LabError(f"container {self.cfg.container_name(host)} ({host}) does not exist; "
                           f"is lab {self.cfg.name!r} up? (`lab status --name {self.cfg.name}`)") from None

    def run(self, host: str, argv: list[str], timeout: float | None = 30, check: bool = False) -> Result:
        return commands.run(self.container(host), argv, timeout=timeout, check=check)

    def sh(self, host: str, script: str, timeout: float | None = 30, check: bool = False) -> Result:
        return commands.sh(self.container(host), script, timeout=timeout, check=check)

    def lines(self, host: str, argv: list[str], workdir: str | None = None) -> commands.Lines:
        """A long-running command's output line by line as it comes, then its exit code."""
        return commands.Lines(self.container(host), argv, workdir)

    def put_file(self, host: str, path: str, data: bytes, mode: int = 0o644) -> None:
        commands.put_file(self.container(host), path, data, mode)

    def read_file(self, host: str, path: str) -> bytes:
        return commands.read_file(self.container(host), path)

    def container_status(self, host: str) -> str:
        c = self.container(host)
        c.reload()
        return c.status

    def started_at(self, host: str) -> float:
        """When the container last started, in seconds since the epoch (a board's reset or
        a heal's start changes it)."""
        c = self.container(host)
        c.reload()
        stamp = c.attrs["State"]["StartedAt"]  # RFC 3339 with nanoseconds
        head, _, frac = stamp.rstrip("Z").partition(".")
        return datetime.fromisoformat(head).replace(tzinfo=timezone.utc).timestamp() + float(f"0.{frac or 0}")

    def wait_container(self, host: str, status: str, timeout: float = 30) -> None:
        wait_until(f"container {self.cfg.container_name(host)} to be {status}",
                   lambda: ((s := self.container_status(host)) == status, s), timeout=timeout)
